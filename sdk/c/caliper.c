/*
 * caliper.c: the portable part of the Caliper C SDK (strings, the JSON
 * reader, config helpers, metadata, outcomes, and the configure/evaluate
 * logic). It has no Wasm or bindings dependency, so it also compiles
 * natively for unit tests; component.c connects it to the bindings.
 */
#include "caliper.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Allocation -------------------------------------------------------- */

static void out_of_memory(void) {
    fputs("caliper: out of memory\n", stderr);
    abort();
}

static void *xrealloc(void *p, size_t size) {
    void *q = realloc(p, size ? size : 1);
    if (!q) out_of_memory();
    return q;
}

static char *dup_n(const char *s, size_t len) {
    char *copy = xrealloc(NULL, len + 1);
    if (len) memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

/* A malloc'd string from a printf format (NULL format gives NULL). */
static char *vformat(const char *fmt, va_list args) {
    if (!fmt) return NULL;
    va_list again;
    va_copy(again, args);
    int n = vsnprintf(NULL, 0, fmt, args);
    if (n < 0) {
        va_end(again);
        return dup_n("(bad format)", 12);
    }
    char *buf = xrealloc(NULL, (size_t)n + 1);
    vsnprintf(buf, (size_t)n + 1, fmt, again);
    va_end(again);
    return buf;
}

/* ---- Strings ----------------------------------------------------------- */

caliper_str caliper_str_c(const char *s) {
    caliper_str v = {s ? s : "", s ? strlen(s) : 0};
    return v;
}

bool caliper_str_eq(caliper_str s, const char *c) {
    size_t n = strlen(c);
    return s.len == n && (n == 0 || memcmp(s.ptr, c, n) == 0);
}

char *caliper_str_dup(caliper_str s) { return dup_n(s.ptr, s.len); }

size_t caliper_utf8_count(caliper_str s) {
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++) n += ((unsigned char)s.ptr[i] & 0xC0) != 0x80;
    return n;
}

long caliper_utf8_next(caliper_str s, size_t *pos) {
    size_t i = *pos;
    if (i >= s.len) return -1;
    const unsigned char *p = (const unsigned char *)s.ptr + i;
    size_t left = s.len - i;
    unsigned c = p[0];
    size_t n;
    unsigned long cp, min;
    if (c < 0x80) {
        *pos = i + 1;
        return (long)c;
    } else if ((c & 0xE0) == 0xC0) {
        n = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, cp = c & 0x07, min = 0x10000;
    } else {
        *pos = i + 1;
        return 0xFFFD;
    }
    if (left < n) {
        *pos = i + 1;
        return 0xFFFD;
    }
    for (size_t k = 1; k < n; k++) {
        if ((p[k] & 0xC0) != 0x80) {
            *pos = i + 1;
            return 0xFFFD;
        }
        cp = (cp << 6) | (p[k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        *pos = i + 1;
        return 0xFFFD;
    }
    *pos = i + n;
    return (long)cp;
}

bool caliper_is_ascii_space(int c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

size_t caliper_ascii_words(caliper_str s) {
    size_t words = 0;
    bool in_word = false;
    for (size_t i = 0; i < s.len; i++) {
        bool space = caliper_is_ascii_space((unsigned char)s.ptr[i]);
        if (!space && !in_word) words++;
        in_word = !space;
    }
    return words;
}

int caliper_ascii_lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

static long find(caliper_str hay, caliper_str needle, bool fold) {
    if (needle.len == 0) return 0;
    if (needle.len > hay.len) return -1;
    for (size_t i = 0; i + needle.len <= hay.len; i++) {
        size_t k = 0;
        if (fold) {
            while (k < needle.len && caliper_ascii_lower((unsigned char)hay.ptr[i + k]) ==
                                         caliper_ascii_lower((unsigned char)needle.ptr[k]))
                k++;
        } else {
            while (k < needle.len && hay.ptr[i + k] == needle.ptr[k]) k++;
        }
        if (k == needle.len) return (long)i;
    }
    return -1;
}

long caliper_str_find_ci(caliper_str hay, caliper_str needle) { return find(hay, needle, true); }
long caliper_str_find(caliper_str hay, caliper_str needle) { return find(hay, needle, false); }
bool caliper_str_contains_ci(caliper_str hay, caliper_str needle) { return find(hay, needle, true) >= 0; }

/* ---- JSON reader ------------------------------------------------------- */

#define JSON_MAX_DEPTH 64

typedef struct parser {
    const char *p, *start, *end;
    char *err;
    size_t err_size;
    bool failed;
} parser;

static bool fail_at(parser *ps, const char *what) {
    if (!ps->failed && ps->err && ps->err_size)
        snprintf(ps->err, ps->err_size, "invalid JSON at byte %zu: %s", (size_t)(ps->p - ps->start), what);
    ps->failed = true;
    return false;
}

static void skip_ws(parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')) ps->p++;
}

static bool literal(parser *ps, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) return fail_at(ps, "unexpected character");
    ps->p += n;
    return true;
}

static int hex4(parser *ps) {
    if (ps->end - ps->p < 4) return -1;
    int v = 0;
    for (int k = 0; k < 4; k++) {
        char c = ps->p[k];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else return -1;
    }
    ps->p += 4;
    return v;
}

static size_t put_utf8(char *out, unsigned long cp) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Parses a string at ps->p (on the opening quote) into a malloc'd view. */
static bool parse_string(parser *ps, caliper_str *out) {
    ps->p++; /* the quote */
    /* Decoded text is never longer than the source. */
    const char *q = ps->p;
    while (q < ps->end && *q != '"') q += (*q == '\\' && q + 1 < ps->end) ? 2 : 1;
    char *buf = xrealloc(NULL, (size_t)(q - ps->p) + 1);
    size_t n = 0;
    for (;;) {
        if (ps->p >= ps->end) {
            free(buf);
            return fail_at(ps, "unterminated string");
        }
        unsigned char c = (unsigned char)*ps->p;
        if (c == '"') break;
        if (c < 0x20) {
            free(buf);
            return fail_at(ps, "control character in string");
        }
        if (c != '\\') {
            buf[n++] = (char)c;
            ps->p++;
            continue;
        }
        ps->p++;
        if (ps->p >= ps->end) {
            free(buf);
            return fail_at(ps, "unterminated string");
        }
        char e = *ps->p++;
        switch (e) {
        case '"': buf[n++] = '"'; break;
        case '\\': buf[n++] = '\\'; break;
        case '/': buf[n++] = '/'; break;
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'n': buf[n++] = '\n'; break;
        case 'r': buf[n++] = '\r'; break;
        case 't': buf[n++] = '\t'; break;
        case 'u': {
            int hi = hex4(ps);
            unsigned long cp;
            if (hi < 0) {
                free(buf);
                return fail_at(ps, "bad \\u escape");
            }
            if (hi >= 0xDC00 && hi <= 0xDFFF) {
                free(buf);
                return fail_at(ps, "lone surrogate in \\u escape");
            }
            if (hi >= 0xD800 && hi <= 0xDBFF) {
                int lo = -1;
                if (ps->end - ps->p >= 2 && ps->p[0] == '\\' && ps->p[1] == 'u') {
                    ps->p += 2;
                    lo = hex4(ps);
                }
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    free(buf);
                    return fail_at(ps, "lone surrogate in \\u escape");
                }
                cp = 0x10000 + (((unsigned long)hi - 0xD800) << 10) + ((unsigned long)lo - 0xDC00);
            } else {
                cp = (unsigned long)hi;
            }
            /* A \u escape takes 6+ source bytes and at most 4 output bytes. */
            n += put_utf8(buf + n, cp);
            break;
        }
        default: free(buf); return fail_at(ps, "bad escape");
        }
    }
    ps->p++; /* the closing quote */
    buf[n] = '\0';
    out->ptr = buf;
    out->len = n;
    return true;
}

static bool parse_number(parser *ps, caliper_json *v) {
    const char *s = ps->p;
    bool integer = true;
    if (ps->p < ps->end && *ps->p == '-') ps->p++;
    if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') return fail_at(ps, "bad number");
    if (*ps->p == '0') {
        ps->p++;
    } else {
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
    }
    if (ps->p < ps->end && *ps->p == '.') {
        integer = false;
        ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') return fail_at(ps, "bad number");
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        integer = false;
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-')) ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') return fail_at(ps, "bad number");
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
    }
    char *text = dup_n(s, (size_t)(ps->p - s)); /* strtod needs a terminator */
    v->kind = CALIPER_JSON_NUMBER;
    v->number = strtod(text, NULL);
    if (integer) {
        errno = 0;
        long long i = strtoll(text, NULL, 10);
        v->is_integer = errno == 0;
        v->integer = v->is_integer ? i : 0;
    }
    free(text);
    if (!isfinite(v->number)) return fail_at(ps, "number out of range");
    return true;
}

static void json_clear(caliper_json *v);

static bool parse_value(parser *ps, caliper_json *v, int depth);

static bool parse_container(parser *ps, caliper_json *v, int depth, bool object) {
    if (depth >= JSON_MAX_DEPTH) return fail_at(ps, "nested too deeply");
    v->kind = object ? CALIPER_JSON_OBJECT : CALIPER_JSON_ARRAY;
    char close = object ? '}' : ']';
    size_t cap = 0;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return true;
    }
    for (;;) {
        if (v->len == cap) {
            cap = cap ? cap * 2 : 4;
            v->items = xrealloc(v->items, cap * sizeof *v->items);
            if (object) v->keys = xrealloc(v->keys, cap * sizeof *v->keys);
        }
        caliper_json *item = &v->items[v->len];
        memset(item, 0, sizeof *item);
        if (object) {
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != '"') return fail_at(ps, "expected a string key");
            caliper_str key;
            if (!parse_string(ps, &key)) return false;
            for (size_t k = 0; k < v->len; k++) {
                if (v->keys[k].len == key.len && memcmp(v->keys[k].ptr, key.ptr, key.len) == 0) {
                    free((char *)key.ptr);
                    return fail_at(ps, "duplicate key");
                }
            }
            v->keys[v->len] = key;
            v->len++; /* owned from here on, also on failure */
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') return fail_at(ps, "expected ':'");
            ps->p++;
        } else {
            v->len++;
        }
        if (!parse_value(ps, item, depth + 1)) return false;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            skip_ws(ps);
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return true;
        }
        return fail_at(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static bool parse_value(parser *ps, caliper_json *v, int depth) {
    skip_ws(ps);
    if (ps->p >= ps->end) return fail_at(ps, "unexpected end of input");
    switch (*ps->p) {
    case '{': return parse_container(ps, v, depth, true);
    case '[': return parse_container(ps, v, depth, false);
    case '"':
        v->kind = CALIPER_JSON_STRING;
        return parse_string(ps, &v->string);
    case 't':
        v->kind = CALIPER_JSON_BOOL;
        v->boolean = true;
        return literal(ps, "true");
    case 'f':
        v->kind = CALIPER_JSON_BOOL;
        return literal(ps, "false");
    case 'n': v->kind = CALIPER_JSON_NULL; return literal(ps, "null");
    default: return parse_number(ps, v);
    }
}

static void json_clear(caliper_json *v) {
    if (v->kind == CALIPER_JSON_STRING) free((char *)v->string.ptr);
    for (size_t i = 0; i < v->len; i++) {
        json_clear(&v->items[i]);
        if (v->keys) free((char *)v->keys[i].ptr);
    }
    free(v->items);
    free(v->keys);
}

caliper_json *caliper_json_parse(const char *text, size_t len, char *err, size_t err_size) {
    parser ps = {text, text, text + len, err, err_size, false};
    caliper_json *root = xrealloc(NULL, sizeof *root);
    memset(root, 0, sizeof *root);
    bool ok = parse_value(&ps, root, 0);
    if (ok) {
        skip_ws(&ps);
        if (ps.p != ps.end) ok = fail_at(&ps, "trailing characters");
    }
    if (!ok) {
        caliper_json_free(root);
        return NULL;
    }
    return root;
}

void caliper_json_free(caliper_json *root) {
    if (!root) return;
    json_clear(root);
    free(root);
}

const caliper_json *caliper_json_get(const caliper_json *obj, const char *key) {
    if (!obj || obj->kind != CALIPER_JSON_OBJECT) return NULL;
    for (size_t i = 0; i < obj->len; i++)
        if (caliper_str_eq(obj->keys[i], key)) return &obj->items[i];
    return NULL;
}

const caliper_str *caliper_json_unknown_key(const caliper_json *obj, const char *const *allowed) {
    if (!obj || obj->kind != CALIPER_JSON_OBJECT) return NULL;
    for (size_t i = 0; i < obj->len; i++) {
        bool known = false;
        for (const char *const *a = allowed; a && *a && !known; a++) known = caliper_str_eq(obj->keys[i], *a);
        if (!known) return &obj->keys[i];
    }
    return NULL;
}

const char *caliper_json_kind_name(caliper_json_kind kind) {
    switch (kind) {
    case CALIPER_JSON_NULL: return "null";
    case CALIPER_JSON_BOOL: return "boolean";
    case CALIPER_JSON_NUMBER: return "number";
    case CALIPER_JSON_STRING: return "string";
    case CALIPER_JSON_ARRAY: return "array";
    case CALIPER_JSON_OBJECT: return "object";
    }
    return "?";
}

/* ---- Config helpers ---------------------------------------------------- */

caliper_status caliper_config_error(caliper_error *err, const char *fmt, ...) {
    if (err) {
        va_list args;
        va_start(args, fmt);
        char *message = vformat(fmt, args);
        va_end(args);
        free(err->message);
        err->message = message;
    }
    return CALIPER_ERR;
}

void caliper_error_free(caliper_error *err) {
    free(err->message);
    err->message = NULL;
}

caliper_status caliper_config_check_keys(const caliper_json *cfg, const char *const *allowed, caliper_error *err) {
    const caliper_str *key = caliper_json_unknown_key(cfg, allowed);
    if (key) return caliper_config_error(err, "unknown config key `%.*s`", CALIPER_STR_ARGS(*key));
    return CALIPER_OK;
}

/* The value of `key`, NULL when absent or null. */
static const caliper_json *config_value(const caliper_json *cfg, const char *key) {
    const caliper_json *v = caliper_json_get(cfg, key);
    return v && v->kind != CALIPER_JSON_NULL ? v : NULL;
}

caliper_status caliper_config_int(const caliper_json *cfg, const char *key, long long min, long long max,
                                  long long *out, caliper_error *err) {
    const caliper_json *v = config_value(cfg, key);
    if (!v) return CALIPER_OK;
    if (v->kind != CALIPER_JSON_NUMBER || !v->is_integer || v->integer < min || v->integer > max) {
        if (min == LLONG_MIN && max == LLONG_MAX) return caliper_config_error(err, "`%s` must be an integer", key);
        if (max == LLONG_MAX) return caliper_config_error(err, "`%s` must be an integer of at least %lld", key, min);
        return caliper_config_error(err, "`%s` must be an integer from %lld to %lld", key, min, max);
    }
    *out = v->integer;
    return CALIPER_OK;
}

caliper_status caliper_config_number(const caliper_json *cfg, const char *key, double min, double max, double *out,
                                     caliper_error *err) {
    const caliper_json *v = config_value(cfg, key);
    if (!v) return CALIPER_OK;
    if (v->kind != CALIPER_JSON_NUMBER || v->number < min || v->number > max)
        return caliper_config_error(err, "`%s` must be a number from %g to %g", key, min, max);
    *out = v->number;
    return CALIPER_OK;
}

caliper_status caliper_config_bool(const caliper_json *cfg, const char *key, bool *out, caliper_error *err) {
    const caliper_json *v = config_value(cfg, key);
    if (!v) return CALIPER_OK;
    if (v->kind != CALIPER_JSON_BOOL) return caliper_config_error(err, "`%s` must be true or false", key);
    *out = v->boolean;
    return CALIPER_OK;
}

caliper_status caliper_config_string(const caliper_json *cfg, const char *key, char **out, caliper_error *err) {
    const caliper_json *v = config_value(cfg, key);
    if (!v) return CALIPER_OK;
    if (v->kind != CALIPER_JSON_STRING) return caliper_config_error(err, "`%s` must be a string", key);
    *out = caliper_str_dup(v->string);
    return CALIPER_OK;
}

caliper_status caliper_config_strings(const caliper_json *cfg, const char *key, bool non_empty, caliper_strings *out,
                                      caliper_error *err) {
    const caliper_json *v = config_value(cfg, key);
    if (!v) return CALIPER_OK;
    const char *what = non_empty ? "an array of non-empty strings" : "an array of strings";
    if (v->kind != CALIPER_JSON_ARRAY) return caliper_config_error(err, "`%s` must be %s", key, what);
    for (size_t i = 0; i < v->len; i++) {
        const caliper_json *item = &v->items[i];
        if (item->kind != CALIPER_JSON_STRING || (non_empty && item->string.len == 0))
            return caliper_config_error(err, "`%s` must be %s (item %zu is not)", key, what, i);
    }
    out->items = xrealloc(NULL, (v->len ? v->len : 1) * sizeof *out->items);
    for (size_t i = 0; i < v->len; i++) out->items[i] = caliper_str_dup(v->items[i].string);
    out->len = v->len;
    return CALIPER_OK;
}

void caliper_strings_free(caliper_strings *list) {
    for (size_t i = 0; i < list->len; i++) free(list->items[i]);
    free(list->items);
    list->items = NULL;
    list->len = 0;
}

/* ---- Metadata ---------------------------------------------------------- */

const caliper_meta_value *caliper_meta_get(const caliper_sample *s, const char *key) {
    for (size_t i = 0; i < s->metadata_len; i++)
        if (caliper_str_eq(s->metadata[i].key, key)) return &s->metadata[i].value;
    return NULL;
}

bool caliper_meta_is_null(const caliper_sample *s, const char *key) {
    const caliper_meta_value *v = caliper_meta_get(s, key);
    return v && v->kind == CALIPER_META_NULL;
}

bool caliper_meta_bool(const caliper_sample *s, const char *key, bool *out) {
    const caliper_meta_value *v = caliper_meta_get(s, key);
    if (!v || v->kind != CALIPER_META_BOOL) return false;
    *out = v->boolean;
    return true;
}

bool caliper_meta_number(const caliper_sample *s, const char *key, double *out) {
    const caliper_meta_value *v = caliper_meta_get(s, key);
    if (!v || v->kind != CALIPER_META_NUMBER) return false;
    *out = v->number;
    return true;
}

bool caliper_meta_text(const caliper_sample *s, const char *key, caliper_str *out) {
    const caliper_meta_value *v = caliper_meta_get(s, key);
    if (!v || v->kind != CALIPER_META_TEXT) return false;
    *out = v->text;
    return true;
}

bool caliper_meta_json(const caliper_sample *s, const char *key, caliper_str *out) {
    const caliper_meta_value *v = caliper_meta_get(s, key);
    if (!v || v->kind != CALIPER_META_JSON) return false;
    *out = v->text;
    return true;
}

/* ---- Outcomes ---------------------------------------------------------- */

static void set_verdict(caliper_outcome *out, caliper_verdict verdict, bool has_value, double value) {
    out->verdict = verdict;
    out->has_value = has_value;
    out->value = has_value ? value : 0;
}

static void set_reason(caliper_outcome *out, char *reason) {
    free(out->reason);
    out->reason = reason;
}

void caliper_outcome_pass(caliper_outcome *out, double value) { set_verdict(out, CALIPER_PASS, true, value); }

void caliper_outcome_fail(caliper_outcome *out, double value, const char *reason_fmt, ...) {
    set_verdict(out, CALIPER_FAIL, true, value);
    va_list args;
    va_start(args, reason_fmt);
    set_reason(out, vformat(reason_fmt, args));
    va_end(args);
}

void caliper_outcome_skip(caliper_outcome *out, const char *reason_fmt, ...) {
    set_verdict(out, CALIPER_SKIP, false, 0);
    va_list args;
    va_start(args, reason_fmt);
    set_reason(out, vformat(reason_fmt, args));
    va_end(args);
}

void caliper_outcome_check(caliper_outcome *out, bool ok, double value) {
    set_verdict(out, ok ? CALIPER_PASS : CALIPER_FAIL, true, value);
}

void caliper_outcome_value(caliper_outcome *out, double value) {
    out->has_value = true;
    out->value = value;
}

void caliper_outcome_no_value(caliper_outcome *out) {
    out->has_value = false;
    out->value = 0;
}

void caliper_outcome_reason(caliper_outcome *out, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    set_reason(out, vformat(fmt, args));
    va_end(args);
}

void caliper_outcome_reason_str(caliper_outcome *out, caliper_str reason) { set_reason(out, caliper_str_dup(reason)); }

static void add_label(caliper_outcome *out, char *key, char *value) {
    if (out->labels_len == out->labels_cap) {
        out->labels_cap = out->labels_cap ? out->labels_cap * 2 : 8;
        out->labels = xrealloc(out->labels, out->labels_cap * sizeof *out->labels);
    }
    out->labels[out->labels_len].key = key;
    out->labels[out->labels_len].value = value;
    out->labels_len++;
}

void caliper_outcome_label(caliper_outcome *out, const char *key, const char *value) {
    add_label(out, caliper_str_dup(caliper_str_c(key)), caliper_str_dup(caliper_str_c(value)));
}

void caliper_outcome_label_str(caliper_outcome *out, const char *key, caliper_str value) {
    add_label(out, caliper_str_dup(caliper_str_c(key)), caliper_str_dup(value));
}

void caliper_outcome_labelf(caliper_outcome *out, const char *key, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    char *value = vformat(fmt, args);
    va_end(args);
    add_label(out, caliper_str_dup(caliper_str_c(key)), value ? value : dup_n("", 0));
}

const char *caliper_outcome_get_label(const caliper_outcome *out, const char *key) {
    for (size_t i = 0; i < out->labels_len; i++)
        if (strcmp(out->labels[i].key, key) == 0) return out->labels[i].value;
    return NULL;
}

caliper_status caliper_metric_error(caliper_outcome *out, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    char *message = vformat(fmt, args);
    va_end(args);
    free(out->error);
    out->error = message ? message : dup_n("metric error", 12);
    return CALIPER_ERR;
}

void caliper_outcome_reset(caliper_outcome *out) {
    free(out->reason);
    free(out->error);
    for (size_t i = 0; i < out->labels_len; i++) {
        free(out->labels[i].key);
        free(out->labels[i].value);
    }
    free(out->labels);
    memset(out, 0, sizeof *out);
}

/* ---- Configure and evaluate -------------------------------------------- */

/* Offset of the first byte of `s` that is not valid UTF-8, or -1. */
static long invalid_utf8(const char *s) {
    caliper_str v = caliper_str_c(s);
    size_t pos = 0;
    for (;;) {
        size_t at = pos;
        long cp = caliper_utf8_next(v, &pos);
        if (cp < 0) return -1;
        /* U+FFFD is returned for bad bytes, and is encoded as EF BF BD. */
        if (cp == 0xFFFD && (pos - at != 3 || memcmp(v.ptr + at, "\xEF\xBF\xBD", 3) != 0)) return (long)at;
    }
}

/* Replaces `*message` with a note that it was not UTF-8 (strings must be). */
static void ensure_utf8(char **message, const char *what) {
    long bad = *message ? invalid_utf8(*message) : -1;
    if (bad < 0) return;
    char note[96];
    snprintf(note, sizeof note, "%s is not valid UTF-8 (byte %ld)", what, bad);
    free(*message);
    *message = dup_n(note, strlen(note));
}

caliper_status caliper_configure(const caliper_metric *metric, const char *config_json, size_t len, void **state,
                                 caliper_error *err) {
    *state = NULL;
    err->message = NULL;
    bool blank = true;
    for (size_t i = 0; i < len && blank; i++) blank = caliper_is_ascii_space((unsigned char)config_json[i]);
    char why[128];
    caliper_json *cfg = caliper_json_parse(blank ? "{}" : config_json, blank ? 2 : len, why, sizeof why);
    if (!cfg) return caliper_config_error(err, "the config is not valid JSON: %s", why);
    caliper_status status;
    if (cfg->kind != CALIPER_JSON_OBJECT) {
        status = caliper_config_error(err, "the config must be a JSON object, not %s", caliper_json_kind_name(cfg->kind));
    } else if (!metric->configure) {
        status = caliper_config_check_keys(cfg, NULL, err);
    } else {
        status = metric->configure(cfg, state, err);
        if (status != CALIPER_OK && !err->message) caliper_config_error(err, "config refused");
        if (status != CALIPER_OK) ensure_utf8(&err->message, "the config error message");
    }
    caliper_json_free(cfg);
    if (status != CALIPER_OK && *state) {
        if (metric->destroy) metric->destroy(*state);
        *state = NULL;
    }
    return status;
}

caliper_status caliper_evaluate(const caliper_metric *metric, void *state, const caliper_sample *sample,
                                caliper_outcome *out) {
    caliper_status status = metric->evaluate(sample, state, out);
    if (status != CALIPER_OK) {
        if (!out->error) caliper_metric_error(out, "evaluate returned CALIPER_ERR without a message");
        ensure_utf8(&out->error, "the error message");
        return CALIPER_ERR;
    }
    if (out->verdict == CALIPER_UNSET)
        return caliper_metric_error(out, "evaluate returned CALIPER_OK without a verdict "
                                         "(call caliper_outcome_pass, _fail, _skip or _check)");
    /* The canonical ABI only carries UTF-8: a bad string would trap the host's read. */
    if (invalid_utf8(out->reason) >= 0)
        return caliper_metric_error(out, "the reason is not valid UTF-8 (byte %ld)", invalid_utf8(out->reason));
    for (size_t i = 0; i < out->labels_len; i++) {
        if (invalid_utf8(out->labels[i].key) >= 0 || invalid_utf8(out->labels[i].value) >= 0)
            return caliper_metric_error(out, "label %zu is not valid UTF-8", i);
    }
    return CALIPER_OK;
}

#ifndef __wasm__
void caliper_log(caliper_log_level level, const char *fmt, ...) {
    static const char *const names[] = {"trace", "debug", "info", "warn", "error"};
    va_list args;
    va_start(args, fmt);
    fprintf(stderr, "[%s] ", names[level <= CALIPER_LOG_ERROR ? level : CALIPER_LOG_ERROR]);
    vfprintf(stderr, fmt, args);
    fputc('\n', stderr);
    va_end(args);
}
#endif
