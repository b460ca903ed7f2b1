/*
 * Native unit tests of the C SDK's portable part (caliper.c): strings, the
 * JSON reader, config helpers, metadata, outcomes, configure/evaluate.
 *
 *     cc -std=c11 -Wall -Wextra -Werror -fsanitize=address,undefined -I sdk/c \
 *        sdk/c/tests/test_sdk.c sdk/c/caliper.c -o test_sdk && ./test_sdk
 *
 * Prints one line per failed check and a closing "N passed, N failed".
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caliper.h"

static int passed, failed;

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (cond) {                                                                                                    \
            passed++;                                                                                                  \
        } else {                                                                                                       \
            failed++;                                                                                                  \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                                                     \
        }                                                                                                              \
    } while (0)

#define S(lit) caliper_str_c(lit)

static caliper_json *parse(const char *text) { return caliper_json_parse(text, strlen(text), NULL, 0); }

static bool rejects(const char *text) {
    char err[128] = "";
    caliper_json *j = caliper_json_parse(text, strlen(text), err, sizeof err);
    bool ok = j == NULL && strncmp(err, "invalid JSON at byte ", 21) == 0;
    caliper_json_free(j);
    if (!ok) printf("  accepted: %s\n", text);
    return ok;
}

static void test_strings(void) {
    CHECK(caliper_utf8_count(S("")) == 0);
    CHECK(caliper_utf8_count(S("abc")) == 3);
    CHECK(caliper_utf8_count(S("h\xc3\xa9llo")) == 5);            /* héllo */
    CHECK(caliper_utf8_count(S("\xe2\x82\xac\xf0\x9f\x98\x80")) == 2); /* € 😀 */

    caliper_str s = S("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xff");
    size_t pos = 0;
    CHECK(caliper_utf8_next(s, &pos) == 'a');
    CHECK(caliper_utf8_next(s, &pos) == 0xE9);
    CHECK(caliper_utf8_next(s, &pos) == 0x20AC);
    CHECK(caliper_utf8_next(s, &pos) == 0x1F600);
    CHECK(caliper_utf8_next(s, &pos) == 0xFFFD && pos == s.len);
    CHECK(caliper_utf8_next(s, &pos) == -1);
    pos = 0;
    CHECK(caliper_utf8_next(S("\xc0\x80"), &pos) == 0xFFFD && pos == 1); /* overlong */
    pos = 0;
    CHECK(caliper_utf8_next(S("\xed\xa0\x80"), &pos) == 0xFFFD); /* a surrogate */
    pos = 0;
    CHECK(caliper_utf8_next(S("\xe2\x82"), &pos) == 0xFFFD && pos == 1); /* truncated */

    CHECK(caliper_ascii_words(S("")) == 0);
    CHECK(caliper_ascii_words(S(" \t\n\v\f\r ")) == 0);
    CHECK(caliper_ascii_words(S("one  two\tthree\n")) == 3);
    CHECK(caliper_ascii_words(S("a\xc2\xa0" "b")) == 1);     /* U+00A0 is not whitespace */
    CHECK(caliper_ascii_words(S("a\xe3\x80\x80" "b c")) == 2); /* nor U+3000 */

    CHECK(caliper_str_find_ci(S("Hello World"), S("WORLD")) == 6);
    CHECK(caliper_str_find_ci(S("Hello"), S("")) == 0);
    CHECK(caliper_str_find_ci(S("Hi"), S("Hello")) == -1);
    CHECK(caliper_str_contains_ci(S("Try ACME today"), S("acme")));
    CHECK(!caliper_str_contains_ci(S("\xc3\x89T\xc3\x89"), S("\xc3\xa9t\xc3\xa9"))); /* ÉTÉ vs été: ASCII only */
    CHECK(caliper_str_find(S("Hello"), S("hello")) == -1);
    CHECK(caliper_str_find(S("say !error now"), S("!error")) == 4);
    CHECK(caliper_ascii_lower('Q') == 'q' && caliper_ascii_lower('1') == '1' && caliper_ascii_lower(0xC9) == 0xC9);

    CHECK(caliper_str_eq(S("abc"), "abc") && !caliper_str_eq(S("abc"), "ab"));
    caliper_str with_nul = {"a\0b", 3};
    char *copy = caliper_str_dup(with_nul);
    CHECK(copy[0] == 'a' && copy[1] == '\0' && copy[2] == 'b' && copy[3] == '\0');
    free(copy);
    CHECK(caliper_str_c(NULL).len == 0);
}

static void test_json_values(void) {
    caliper_json *j = parse(" {\"a\": [1, -2.5e1, true, false, null, \"x\"], \"b\": {}, \"c\": []} ");
    CHECK(j && j->kind == CALIPER_JSON_OBJECT && j->len == 3);
    const caliper_json *a = caliper_json_get(j, "a");
    CHECK(a && a->kind == CALIPER_JSON_ARRAY && a->len == 6);
    CHECK(a->items[0].kind == CALIPER_JSON_NUMBER && a->items[0].is_integer && a->items[0].integer == 1);
    CHECK(a->items[1].number == -25.0 && !a->items[1].is_integer);
    CHECK(a->items[2].kind == CALIPER_JSON_BOOL && a->items[2].boolean);
    CHECK(a->items[3].kind == CALIPER_JSON_BOOL && !a->items[3].boolean);
    CHECK(a->items[4].kind == CALIPER_JSON_NULL);
    CHECK(a->items[5].kind == CALIPER_JSON_STRING && caliper_str_eq(a->items[5].string, "x"));
    CHECK(caliper_json_get(j, "b")->kind == CALIPER_JSON_OBJECT && caliper_json_get(j, "b")->len == 0);
    CHECK(caliper_json_get(j, "c")->kind == CALIPER_JSON_ARRAY && caliper_json_get(j, "c")->len == 0);
    CHECK(caliper_json_get(j, "missing") == NULL);
    CHECK(caliper_json_get(a, "a") == NULL); /* not an object */
    caliper_json_free(j);

    j = parse("\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u00e9 \\u20AC \\ud83d\\ude00 \\u0000!\"");
    const char want[] = "q\" b\\ s/ \b\f\n\r\t \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \0!";
    CHECK(j && j->kind == CALIPER_JSON_STRING && j->string.len == sizeof want - 1 &&
          memcmp(j->string.ptr, want, sizeof want - 1) == 0 && j->string.ptr[j->string.len] == '\0');
    caliper_json_free(j);

    j = parse("\"h\xc3\xa9\"");
    CHECK(j && caliper_str_eq(j->string, "h\xc3\xa9")); /* raw UTF-8 passes through */
    caliper_json_free(j);

    j = parse("[0, -0, 3.0, 1E2, 9223372036854775807, 9223372036854775808, 1e308]");
    CHECK(j && j->len == 7);
    CHECK(j->items[0].is_integer && j->items[0].integer == 0);
    CHECK(j->items[1].is_integer && j->items[1].integer == 0);
    CHECK(!j->items[2].is_integer && j->items[2].number == 3.0); /* 3.0 is written as a float */
    CHECK(!j->items[3].is_integer && j->items[3].number == 100.0);
    CHECK(j->items[4].is_integer && j->items[4].integer == 9223372036854775807LL);
    CHECK(!j->items[5].is_integer); /* beyond long long */
    CHECK(j->items[6].number == 1e308);
    caliper_json_free(j);

    static const char *const allowed[] = {"a", "b", NULL};
    j = parse("{\"a\": 1, \"b\": 2, \"zz\": 3}");
    const caliper_str *unknown = caliper_json_unknown_key(j, allowed);
    CHECK(unknown && caliper_str_eq(*unknown, "zz"));
    caliper_json_free(j);
    j = parse("{\"b\": 1}");
    CHECK(caliper_json_unknown_key(j, allowed) == NULL);
    caliper_json_free(j);

    /* Deep but allowed nesting. */
    char deep[200] = "";
    for (int i = 0; i < 63; i++) strcat(deep, "[");
    for (int i = 0; i < 63; i++) strcat(deep, "]");
    j = parse(deep);
    CHECK(j != NULL);
    caliper_json_free(j);
}

static void test_json_rejects(void) {
    const char *bad[] = {
        "", " ", "{", "}", "[1,]", "[,1]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "{'a':1}", "[1 2]",
        "01", "-", "1.", ".5", "1e", "+1", "0x10", "NaN", "Infinity", "1e999", "tru", "nul", "True",
        "\"abc", "\"a\nb\"", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"",
        "{\"a\":1,\"a\":2}", "1 2", "[1]]", "// c\n1", "/* c */ 1", "\"a\"x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) CHECK(rejects(bad[i]));

    char deep[200] = "";
    for (int i = 0; i < 65; i++) strcat(deep, "[");
    for (int i = 0; i < 65; i++) strcat(deep, "]");
    CHECK(rejects(deep));

    char err[128];
    CHECK(caliper_json_parse("[1, x]", 6, err, sizeof err) == NULL);
    CHECK(strstr(err, "byte 4") != NULL);
    /* The length bounds the input: no reading past it. */
    caliper_json *j = caliper_json_parse("[1]garbage", 3, NULL, 0);
    CHECK(j != NULL && j->len == 1);
    caliper_json_free(j);
}

static void test_config_helpers(void) {
    caliper_json *cfg = parse("{\"n\": 3, \"f\": 2.5, \"neg\": -1, \"s\": \"x\", \"b\": true, \"list\": [\"a\", \"\"],"
                              " \"nul\": null, \"str3\": \"3\"}");
    caliper_error err = {NULL};
    long long n = 7;
    CHECK(caliper_config_int(cfg, "n", 0, 10, &n, &err) == CALIPER_OK && n == 3);
    n = 7;
    CHECK(caliper_config_int(cfg, "absent", 0, 10, &n, &err) == CALIPER_OK && n == 7);
    CHECK(caliper_config_int(cfg, "nul", 0, 10, &n, &err) == CALIPER_OK && n == 7);
    CHECK(caliper_config_int(cfg, "f", 0, 10, &n, &err) == CALIPER_ERR && n == 7);
    CHECK(err.message && strcmp(err.message, "`f` must be an integer from 0 to 10") == 0);
    CHECK(caliper_config_int(cfg, "neg", 0, 10, &n, &err) == CALIPER_ERR);
    CHECK(caliper_config_int(cfg, "str3", 0, 10, &n, &err) == CALIPER_ERR);
    CHECK(caliper_config_int(cfg, "n", 4, 10, &n, &err) == CALIPER_ERR);
    CHECK(caliper_config_int(cfg, "neg", 0, LLONG_MAX, &n, &err) == CALIPER_ERR);
    CHECK(strcmp(err.message, "`neg` must be an integer of at least 0") == 0);
    CHECK(caliper_config_int(cfg, "f", LLONG_MIN, LLONG_MAX, &n, &err) == CALIPER_ERR);
    CHECK(strcmp(err.message, "`f` must be an integer") == 0);
    CHECK(caliper_config_int(cfg, "neg", LLONG_MIN, LLONG_MAX, &n, &err) == CALIPER_OK && n == -1);

    double f = 0;
    CHECK(caliper_config_number(cfg, "f", 0, 3, &f, &err) == CALIPER_OK && f == 2.5);
    CHECK(caliper_config_number(cfg, "n", 0, 3, &f, &err) == CALIPER_OK && f == 3.0);
    CHECK(caliper_config_number(cfg, "s", 0, 3, &f, &err) == CALIPER_ERR);
    CHECK(caliper_config_number(cfg, "f", 0, 1, &f, &err) == CALIPER_ERR);

    bool b = false;
    CHECK(caliper_config_bool(cfg, "b", &b, &err) == CALIPER_OK && b);
    CHECK(caliper_config_bool(cfg, "n", &b, &err) == CALIPER_ERR);

    char *s = NULL;
    CHECK(caliper_config_string(cfg, "s", &s, &err) == CALIPER_OK && s && strcmp(s, "x") == 0);
    free(s);
    s = NULL;
    CHECK(caliper_config_string(cfg, "n", &s, &err) == CALIPER_ERR && s == NULL);

    caliper_strings list = {NULL, 0};
    CHECK(caliper_config_strings(cfg, "list", false, &list, &err) == CALIPER_OK && list.len == 2 &&
          strcmp(list.items[0], "a") == 0 && strcmp(list.items[1], "") == 0);
    caliper_strings_free(&list);
    CHECK(list.items == NULL && list.len == 0);
    CHECK(caliper_config_strings(cfg, "list", true, &list, &err) == CALIPER_ERR && list.len == 0);
    CHECK(strstr(err.message, "item 1") != NULL);
    CHECK(caliper_config_strings(cfg, "s", false, &list, &err) == CALIPER_ERR);
    CHECK(caliper_config_strings(cfg, "absent", false, &list, &err) == CALIPER_OK && list.len == 0);

    static const char *const keys[] = {"n", "f", "neg", "s", "b", "list", "nul", NULL};
    CHECK(caliper_config_check_keys(cfg, keys, &err) == CALIPER_ERR);
    CHECK(strcmp(err.message, "unknown config key `str3`") == 0);
    caliper_error_free(&err);
    CHECK(err.message == NULL);
    caliper_json_free(cfg);
}

static caliper_sample sample_with_metadata(void) {
    static const caliper_meta_entry meta[] = {
        {{"lang", 4}, {CALIPER_META_TEXT, false, 0, {"de", 2}}},
        {{"tokens", 6}, {CALIPER_META_NUMBER, false, 120, {"", 0}}},
        {{"flagged", 7}, {CALIPER_META_BOOL, true, 0, {"", 0}}},
        {{"nothing", 7}, {CALIPER_META_NULL, false, 0, {"", 0}}},
        {{"tags", 4}, {CALIPER_META_JSON, false, 0, {"[1,2]", 5}}},
    };
    caliper_sample s;
    memset(&s, 0, sizeof s);
    s.output = S("Hello there");
    s.metadata = meta;
    s.metadata_len = sizeof meta / sizeof *meta;
    return s;
}

static void test_metadata(void) {
    caliper_sample s = sample_with_metadata();
    caliper_str text;
    double number;
    bool flag;
    CHECK(caliper_meta_text(&s, "lang", &text) && caliper_str_eq(text, "de"));
    CHECK(!caliper_meta_text(&s, "tokens", &text));
    CHECK(caliper_meta_number(&s, "tokens", &number) && number == 120);
    CHECK(!caliper_meta_number(&s, "lang", &number));
    CHECK(caliper_meta_bool(&s, "flagged", &flag) && flag);
    CHECK(caliper_meta_is_null(&s, "nothing") && !caliper_meta_is_null(&s, "lang") && !caliper_meta_is_null(&s, "x"));
    CHECK(caliper_meta_json(&s, "tags", &text) && caliper_str_eq(text, "[1,2]"));
    CHECK(caliper_meta_get(&s, "absent") == NULL);
}

static void test_outcomes(void) {
    caliper_outcome out;
    memset(&out, 0, sizeof out);
    CHECK(out.verdict == CALIPER_UNSET);
    caliper_outcome_fail(&out, 2, "%d of %s", 2, "them");
    CHECK(out.verdict == CALIPER_FAIL && out.has_value && out.value == 2 && strcmp(out.reason, "2 of them") == 0);
    caliper_outcome_reason(&out, NULL);
    CHECK(out.reason == NULL);
    char buf[8] = "temp";
    caliper_outcome_label(&out, "k", buf);
    strcpy(buf, "changed"); /* the label was copied */
    caliper_outcome_labelf(&out, "n", "%zu", (size_t)42);
    caliper_outcome_label_str(&out, "v", (caliper_str){"abcdef", 3});
    for (int i = 0; i < 20; i++) caliper_outcome_labelf(&out, "many", "%d", i); /* grows the array */
    CHECK(strcmp(caliper_outcome_get_label(&out, "k"), "temp") == 0);
    CHECK(strcmp(caliper_outcome_get_label(&out, "n"), "42") == 0);
    CHECK(strcmp(caliper_outcome_get_label(&out, "v"), "abc") == 0);
    CHECK(caliper_outcome_get_label(&out, "absent") == NULL && out.labels_len == 23);
    caliper_outcome_skip(&out, "empty output");
    CHECK(out.verdict == CALIPER_SKIP && !out.has_value && strcmp(out.reason, "empty output") == 0);
    caliper_outcome_check(&out, true, 0.5);
    CHECK(out.verdict == CALIPER_PASS && out.value == 0.5 && strcmp(out.reason, "empty output") == 0);
    caliper_outcome_no_value(&out);
    CHECK(!out.has_value);
    caliper_outcome_value(&out, 3);
    CHECK(out.has_value && out.value == 3);
    caliper_outcome_reason_str(&out, S("plain"));
    CHECK(strcmp(out.reason, "plain") == 0);
    CHECK(caliper_metric_error(&out, "no %s", "luck") == CALIPER_ERR && strcmp(out.error, "no luck") == 0);
    caliper_outcome_reset(&out);
    CHECK(out.verdict == CALIPER_UNSET && out.labels == NULL && out.reason == NULL && out.error == NULL);
    caliper_outcome_pass(&out, 1);
    CHECK(out.verdict == CALIPER_PASS && out.value == 1 && out.reason == NULL);
    caliper_outcome_reset(&out);
}

/* A metric to drive caliper_configure / caliper_evaluate. */
static int destroyed;

static void destroy(void *state) {
    destroyed++;
    free(state);
}

static caliper_status configure(const caliper_json *cfg, void **state, caliper_error *err) {
    static const char *const keys[] = {"limit", NULL};
    long long *limit = malloc(sizeof *limit);
    *limit = 2;
    *state = limit;
    if (caliper_config_check_keys(cfg, keys, err) || caliper_config_int(cfg, "limit", 1, 100, limit, err))
        return CALIPER_ERR;
    return CALIPER_OK;
}

static caliper_status evaluate(const caliper_sample *s, void *state, caliper_outcome *out) {
    long long limit = *(long long *)state;
    if (caliper_str_eq(s->output, "ERR")) return caliper_metric_error(out, "cannot score %s", "ERR");
    if (caliper_str_eq(s->output, "SILENT")) return CALIPER_ERR;
    if (caliper_str_eq(s->output, "NOTHING")) return CALIPER_OK;
    if (caliper_str_eq(s->output, "CUT")) { /* a reason cut inside a UTF-8 sequence */
        caliper_outcome_fail(out, 1, "%.*s", 3, "\xc3\xa9\xc3\xa9");
        return CALIPER_OK;
    }
    if (caliper_str_eq(s->output, "BADLABEL")) {
        caliper_outcome_pass(out, 1);
        caliper_outcome_label(out, "ok", "\xef\xbf\xbd is fine");
        caliper_outcome_label(out, "bad", "\xff");
        return CALIPER_OK;
    }
    size_t words = caliper_ascii_words(s->output);
    caliper_outcome_check(out, (long long)words <= limit, (double)words);
    return CALIPER_OK;
}

static const caliper_metric metric = {
    .name = "test", .configure = configure, .evaluate = evaluate, .destroy = destroy};

static void test_configure_and_evaluate(void) {
    void *state = NULL;
    caliper_error err;
    CHECK(caliper_configure(&metric, "", 0, &state, &err) == CALIPER_OK && *(long long *)state == 2);
    caliper_sample s;
    memset(&s, 0, sizeof s);
    caliper_outcome out;
    memset(&out, 0, sizeof out);

    s.output = S("one two three");
    CHECK(caliper_evaluate(&metric, state, &s, &out) == CALIPER_OK && out.verdict == CALIPER_FAIL && out.value == 3);
    caliper_outcome_reset(&out);
    s.output = S("ERR");
    CHECK(caliper_evaluate(&metric, state, &s, &out) == CALIPER_ERR && strcmp(out.error, "cannot score ERR") == 0);
    caliper_outcome_reset(&out);
    s.output = S("SILENT");
    CHECK(caliper_evaluate(&metric, state, &s, &out) == CALIPER_ERR && strstr(out.error, "without a message"));
    caliper_outcome_reset(&out);
    s.output = S("CUT");
    CHECK(caliper_evaluate(&metric, state, &s, &out) == CALIPER_ERR &&
          strcmp(out.error, "the reason is not valid UTF-8 (byte 2)") == 0);
    caliper_outcome_reset(&out);
    s.output = S("BADLABEL");
    CHECK(caliper_evaluate(&metric, state, &s, &out) == CALIPER_ERR && strcmp(out.error, "label 1 is not valid UTF-8") == 0);
    caliper_outcome_reset(&out);
    s.output = S("NOTHING");
    CHECK(caliper_evaluate(&metric, state, &s, &out) == CALIPER_ERR && strstr(out.error, "without a verdict"));
    caliper_outcome_reset(&out);
    destroy(state);

    const char *cfg = " {\"limit\": 5} ";
    CHECK(caliper_configure(&metric, cfg, strlen(cfg), &state, &err) == CALIPER_OK && *(long long *)state == 5);
    destroy(state);

    struct {
        const char *config, *message;
        bool reaches_configure; /* so the state it stored must be destroyed */
    } refused[] = {
        {"{\"limit\": 0}", "`limit` must be an integer from 1 to 100", true},
        {"{\"limit\": 2.5}", "`limit` must be an integer from 1 to 100", true},
        {"{\"colour\": 1}", "unknown config key `colour`", true},
        {"[]", "the config must be a JSON object, not array", false},
        {"\"x\"", "the config must be a JSON object, not string", false},
        {"{\"limit\": }", "the config is not valid JSON: invalid JSON at byte 10: bad number", false},
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        int before = destroyed;
        caliper_status st = caliper_configure(&metric, refused[i].config, strlen(refused[i].config), &state, &err);
        CHECK(st == CALIPER_ERR && state == NULL && err.message);
        if (err.message && strcmp(err.message, refused[i].message) != 0) {
            printf("FAIL %s: got `%s`\n", refused[i].config, err.message);
            failed++;
        }
        CHECK(destroyed == before + (refused[i].reaches_configure ? 1 : 0));
        caliper_error_free(&err);
    }

    /* No configure callback: only {} is accepted. */
    static const caliper_metric bare = {.name = "bare", .evaluate = evaluate};
    CHECK(caliper_configure(&bare, "{}", 2, &state, &err) == CALIPER_OK && state == NULL);
    CHECK(caliper_configure(&bare, "{\"x\":1}", 7, &state, &err) == CALIPER_ERR);
    caliper_error_free(&err);
}

int main(void) {
    test_strings();
    test_json_values();
    test_json_rejects();
    test_config_helpers();
    test_metadata();
    test_outcomes();
    test_configure_and_evaluate();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
