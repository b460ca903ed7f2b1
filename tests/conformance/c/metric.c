/*
 * The conformance metric of tests/conformance/SPEC.md, written with the C
 * SDK (sdk/c). Every SDK language implements the same spec; the suite
 * requires identical results.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "caliper.h"

typedef struct conformance {
    caliper_strings banned; /* as configured, in order */
    long long min_words;
} conformance;

static void destroy(void *state) {
    conformance *c = state;
    caliper_strings_free(&c->banned);
    free(c);
}

static caliper_status configure(const caliper_json *cfg, void **state, caliper_error *err) {
    static const char *const keys[] = {"banned", "min_words", NULL};
    conformance *c = calloc(1, sizeof *c);
    if (!c) return caliper_config_error(err, "out of memory");
    c->min_words = 1;
    *state = c;
    const caliper_str *unknown = caliper_json_unknown_key(cfg, keys);
    if (unknown) return caliper_config_error(err, "unknown key: %.*s", CALIPER_STR_ARGS(*unknown));
    if (caliper_config_strings(cfg, "banned", true, &c->banned, err) ||
        caliper_config_int(cfg, "min_words", 0, LLONG_MAX, &c->min_words, err))
        return CALIPER_ERR;
    return CALIPER_OK;
}

/* SPEC step 3: the labels every pass, fail and skip carries. */
static void label(const caliper_sample *s, caliper_outcome *out) {
    caliper_outcome_labelf(out, "chars", "%zu", caliper_utf8_count(s->output));
    caliper_outcome_labelf(out, "turns", "%zu", s->messages_len);
    caliper_outcome_labelf(out, "context", "%zu", s->context_len);
    caliper_outcome_label(out, "expected", s->has_expected ? "yes" : "no");
    if (s->messages_len) caliper_outcome_label_str(out, "last_role", s->messages[s->messages_len - 1].role);
    caliper_str lang;
    if (caliper_meta_text(s, "lang", &lang)) caliper_outcome_label_str(out, "lang", lang);
    double tokens;
    if (caliper_meta_number(s, "tokens", &tokens)) caliper_outcome_label(out, "tokens", tokens > 100 ? "high" : "low");
    bool flagged;
    if (caliper_meta_bool(s, "flagged", &flagged)) caliper_outcome_label(out, "flagged", flagged ? "true" : "false");
    caliper_outcome_labelf(out, "meta_keys", "%zu", s->metadata_len);
}

static caliper_status evaluate(const caliper_sample *s, void *state, caliper_outcome *out) {
    const conformance *c = state;
    if (caliper_str_find(s->output, caliper_str_c("!error")) >= 0) return caliper_metric_error(out, "asked to fail");
    if (caliper_str_find(s->output, caliper_str_c("!crash")) >= 0) {
        fputs("asked to crash\n", stderr);
        abort();
    }
    size_t n = caliper_ascii_words(s->output);
    size_t in = caliper_ascii_words(s->input);
    double value = (double)n / (double)(in > 1 ? in : 1);
    const char *hit = NULL;
    for (size_t i = 0; i < c->banned.len && !hit; i++)
        if (caliper_str_contains_ci(s->output, caliper_str_c(c->banned.items[i]))) hit = c->banned.items[i];
    if (n == 0)
        caliper_outcome_skip(out, "empty output");
    else if (hit)
        caliper_outcome_fail(out, value, "mentions %s", hit);
    else if ((long long)n < c->min_words)
        caliper_outcome_fail(out, value, "too short: %zu < %lld", n, c->min_words);
    else
        caliper_outcome_pass(out, value);
    label(s, out);
    return CALIPER_OK;
}

static const char *const tags[] = {"conformance", "c", NULL};

static const caliper_metric conformance_metric = {
    .name = "conformance",
    .version = "1.0.0",
    .description = "The cross-language conformance metric (tests/conformance/SPEC.md)",
    .owner = "caliper",
    .goal = "every SDK scores alike",
    .tags = tags,
    .unit = "ratio",
    .higher_is_better = true,
    .config_schema = "{\"type\":\"object\",\"properties\":{"
                     "\"banned\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"minLength\":1}},"
                     "\"min_words\":{\"type\":\"integer\",\"minimum\":0}},"
                     "\"additionalProperties\":false}",
    .configure = configure,
    .evaluate = evaluate,
    .destroy = destroy,
};

CALIPER_EXPORT_METRIC(conformance_metric)
