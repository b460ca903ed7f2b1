/*
 * max-repetition: fails answers that repeat the same word n-gram more than
 * `max_repeats` times, a known degeneration of LLM decoding ("I can help
 * with that. I can help with that. I can help with that...").
 *
 * Words are runs of non-whitespace, compared ASCII case-insensitively and
 * without surrounding ASCII punctuation, so "Sure," and "sure" are the same
 * word. Config (all optional):
 *   n            words per n-gram, 1-10 (default 3)
 *   max_repeats  how often one n-gram may occur, >= 1 (default 3)
 *   min_words    outputs with fewer words are skipped (default: n)
 * Value: how often the most repeated n-gram occurs (lower is better).
 * Labels: `ngram` (the most repeated one, at most 80 bytes) and `count`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "caliper.h"

typedef struct config {
    long long n, max_repeats, min_words;
} config;

static caliper_status configure(const caliper_json *cfg, void **state, caliper_error *err) {
    static const char *const keys[] = {"n", "max_repeats", "min_words", NULL};
    config *c = malloc(sizeof *c);
    if (!c) return caliper_config_error(err, "out of memory");
    *state = c;
    c->n = 3;
    c->max_repeats = 3;
    c->min_words = -1;
    if (caliper_config_check_keys(cfg, keys, err) || caliper_config_int(cfg, "n", 1, 10, &c->n, err) ||
        caliper_config_int(cfg, "max_repeats", 1, 1000000, &c->max_repeats, err) ||
        caliper_config_int(cfg, "min_words", 1, 1000000, &c->min_words, err))
        return CALIPER_ERR;
    if (c->min_words < 0) c->min_words = c->n;
    return CALIPER_OK;
}

static bool is_punct(unsigned char c) { return c < 0x80 && strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", c) && c; }

/* The words of `text`, trimmed of surrounding ASCII punctuation; empty ones dropped. */
static size_t split_words(caliper_str text, caliper_str *words) {
    size_t n = 0, i = 0;
    while (i < text.len) {
        while (i < text.len && caliper_is_ascii_space((unsigned char)text.ptr[i])) i++;
        size_t start = i;
        while (i < text.len && !caliper_is_ascii_space((unsigned char)text.ptr[i])) i++;
        size_t end = i;
        while (start < end && is_punct((unsigned char)text.ptr[start])) start++;
        while (end > start && is_punct((unsigned char)text.ptr[end - 1])) end--;
        if (end > start) words[n++] = (caliper_str){text.ptr + start, end - start};
    }
    return n;
}

static uint64_t word_hash(caliper_str w) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a over the lowercased bytes */
    for (size_t i = 0; i < w.len; i++) h = (h ^ (uint64_t)caliper_ascii_lower((unsigned char)w.ptr[i])) * 1099511628211ull;
    return h;
}

static bool same_word(caliper_str a, caliper_str b) {
    if (a.len != b.len) return false;
    for (size_t i = 0; i < a.len; i++)
        if (caliper_ascii_lower((unsigned char)a.ptr[i]) != caliper_ascii_lower((unsigned char)b.ptr[i])) return false;
    return true;
}

static bool same_ngram(const caliper_str *words, size_t a, size_t b, size_t n) {
    for (size_t k = 0; k < n; k++)
        if (!same_word(words[a + k], words[b + k])) return false;
    return true;
}

typedef struct slot {
    size_t first; /* index of the n-gram's first word, SIZE_MAX when empty */
    size_t count;
} slot;

static caliper_status evaluate(const caliper_sample *s, void *state, caliper_outcome *out) {
    const config *c = state;
    size_t n = (size_t)c->n;
    caliper_str *words = malloc((s->output.len / 2 + 1) * sizeof *words);
    if (!words) return caliper_metric_error(out, "out of memory");
    size_t count = split_words(s->output, words);
    if ((long long)count < c->min_words) {
        free(words);
        caliper_outcome_skip(out, "%zu words, fewer than %lld", count, c->min_words);
        return CALIPER_OK;
    }
    size_t grams = count >= n ? count - n + 1 : 0;
    size_t cap = 16;
    while (cap < grams * 2) cap *= 2;
    slot *table = malloc(cap * sizeof *table);
    uint64_t *hashes = malloc((count + 1) * sizeof *hashes);
    if (!table || !hashes) {
        free(words), free(table), free(hashes);
        return caliper_metric_error(out, "out of memory");
    }
    for (size_t i = 0; i < cap; i++) table[i] = (slot){SIZE_MAX, 0};
    for (size_t i = 0; i < count; i++) hashes[i] = word_hash(words[i]);
    size_t best = SIZE_MAX, best_count = 0;
    for (size_t g = 0; g < grams; g++) {
        uint64_t h = 0;
        for (size_t k = 0; k < n; k++) h = (h ^ hashes[g + k]) * 0x100000001b3ull + k;
        size_t i = (size_t)(h & (cap - 1));
        while (table[i].first != SIZE_MAX && !same_ngram(words, table[i].first, g, n)) i = (i + 1) & (cap - 1);
        if (table[i].first == SIZE_MAX) table[i].first = g;
        table[i].count++;
        if (table[i].count > best_count) best = table[i].first, best_count = table[i].count;
    }
    if (best_count > 0) {
        /* The n-gram as written at its first occurrence, cut to 80 bytes on a UTF-8 boundary. */
        const char *from = words[best].ptr;
        size_t len = (size_t)(words[best + n - 1].ptr + words[best + n - 1].len - from);
        if (len > 80) {
            len = 80;
            while (len > 0 && ((unsigned char)from[len] & 0xC0) == 0x80) len--;
        }
        caliper_outcome_check(out, (long long)best_count <= c->max_repeats, (double)best_count);
        caliper_outcome_label_str(out, "ngram", (caliper_str){from, len});
        caliper_outcome_labelf(out, "count", "%zu", best_count);
        if (out->verdict == CALIPER_FAIL)
            caliper_outcome_reason(out, "\"%.*s\" repeated %zu times (max %lld)", (int)len, from, best_count,
                                   c->max_repeats);
    } else {
        caliper_outcome_pass(out, 0);
    }
    free(words), free(table), free(hashes);
    return CALIPER_OK;
}

static const char *const tags[] = {"quality", "degeneration", NULL};

static const caliper_metric max_repetition = {
    .name = "max-repetition",
    .version = "0.1.0",
    .description = "Answers do not loop: no word n-gram repeats more than max_repeats times",
    .owner = "assistant-quality",
    .goal = "catch degenerate, looping generations before users see them",
    .tags = tags,
    .unit = "count",
    .higher_is_better = false,
    .config_schema = "{\"type\":\"object\",\"properties\":{"
                     "\"n\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10},"
                     "\"max_repeats\":{\"type\":\"integer\",\"minimum\":1},"
                     "\"min_words\":{\"type\":\"integer\",\"minimum\":1}},"
                     "\"additionalProperties\":false}",
    .configure = configure,
    .evaluate = evaluate,
    .destroy = free,
};

CALIPER_EXPORT_METRIC(max_repetition)
