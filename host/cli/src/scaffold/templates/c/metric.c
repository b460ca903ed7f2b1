/*
 * {{name}}: a Caliper micro metric written in C with the Caliper SDK
 * ({{sdk}}/c/caliper.h documents the API and who frees what). It fails
 * answers longer than `max_words` words and skips empty ones; edit
 * `evaluate` to check what your team cares about.
 */
#include <stdlib.h>

#include "caliper.h"

typedef struct config {
    long long max_words;
} config;

static caliper_status configure(const caliper_json *cfg, void **state, caliper_error *err) {
    static const char *const keys[] = {"max_words", NULL};
    config *c = malloc(sizeof *c);
    if (!c) return caliper_config_error(err, "out of memory");
    c->max_words = 100;
    *state = c; /* freed by .destroy, also when the config is refused */
    if (caliper_config_check_keys(cfg, keys, err) ||
        caliper_config_int(cfg, "max_words", 1, 1000000, &c->max_words, err))
        return CALIPER_ERR;
    return CALIPER_OK;
}

static caliper_status evaluate(const caliper_sample *s, void *state, caliper_outcome *out) {
    const config *c = state;
    size_t words = caliper_ascii_words(s->output);
    if (words == 0) {
        caliper_outcome_skip(out, "empty output");
        return CALIPER_OK;
    }
    caliper_outcome_check(out, (long long)words <= c->max_words, (double)words);
    caliper_outcome_reason(out, "%zu words (max %lld)", words, c->max_words);
    return CALIPER_OK;
}

static const caliper_metric {{ident}} = {
    .name = "{{name}}",
    .version = "0.1.0",
    .description = "Answers stay within a word budget",
    .owner = "your-team",
    .goal = "Say which business goal this metric protects",
    .unit = "words",
    .higher_is_better = false,
    .config_schema = "{\"type\":\"object\",\"properties\":{\"max_words\":{\"type\":\"integer\",\"minimum\":1}},"
                     "\"additionalProperties\":false}",
    .configure = configure,
    .evaluate = evaluate,
    .destroy = free,
};

CALIPER_EXPORT_METRIC({{ident}})
