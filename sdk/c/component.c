/*
 * component.c: connects a `caliper_metric` to the bindings that
 * `wit-bindgen c` generates for world `metric-component` (build.sh compiles
 * them together; this file is Wasm-only).
 *
 * Ownership at the canonical-ABI boundary (wit-bindgen's C conventions):
 *  - Export arguments (the config string, each sample, the sample list) were
 *    allocated in guest memory by the host through `cabi_realloc` and belong
 *    to the callee: this file frees them once the metric's callback returns.
 *  - Export results (descriptor, outcome, errors, result list) must be
 *    malloc'd: the generated `cabi_post_*` functions free() every non-empty
 *    string and list after the host has copied them out. So every string is
 *    copied here (never a pointer to static data) and empty ones are passed
 *    as (NULL, 0), which post-return does not free.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caliper.h"
#include "metric_component.h"

/* Provided by CALIPER_EXPORT_METRIC in the metric's source. */
extern const caliper_metric *caliper__exported_metric(void);

typedef metric_component_string_t wit_string;

struct exports_caliper_metric_metric_evaluator_t {
    const caliper_metric *metric;
    void *state;
};

static void fatal_oom(void) {
    fputs("caliper: out of memory\n", stderr);
    abort();
}

static void *alloc(size_t size) {
    void *p = malloc(size ? size : 1);
    if (!p) fatal_oom();
    return p;
}

/* A malloc'd copy of `len` bytes as a result string ((NULL, 0) when empty). */
static wit_string result_string(const char *s, size_t len) {
    wit_string out = {NULL, 0};
    if (s && len) {
        out.ptr = alloc(len);
        memcpy(out.ptr, s, len);
        out.len = len;
    }
    return out;
}

static wit_string result_cstring(const char *s) { return result_string(s, s ? strlen(s) : 0); }

/* Moves a malloc'd NUL-terminated string into a result string. */
static wit_string take_string(char *s) {
    wit_string out = {NULL, 0};
    size_t len = s ? strlen(s) : 0;
    if (len) {
        out.ptr = (uint8_t *)s;
        out.len = len;
    } else {
        free(s);
    }
    return out;
}

static caliper_str view(wit_string s) {
    caliper_str v = {(const char *)s.ptr, s.len};
    if (!v.ptr) v.ptr = "";
    return v;
}

/* ---- describe ---------------------------------------------------------- */

void exports_caliper_metric_metric_describe(exports_caliper_metric_metric_descriptor_t *ret) {
    const caliper_metric *m = caliper__exported_metric();
    ret->name = result_cstring(m->name);
    ret->version = result_cstring(m->version ? m->version : "0.1.0");
    ret->description = result_cstring(m->description);
    ret->owner = result_cstring(m->owner);
    ret->goal = result_cstring(m->goal);
    size_t tags = 0;
    while (m->tags && m->tags[tags]) tags++;
    ret->tags.ptr = tags ? alloc(tags * sizeof(wit_string)) : NULL;
    ret->tags.len = tags;
    for (size_t i = 0; i < tags; i++) ret->tags.ptr[i] = result_cstring(m->tags[i]);
    ret->value.unit = result_cstring(m->unit);
    ret->value.higher_is_better = m->higher_is_better;
    ret->config_schema = result_cstring(m->config_schema ? m->config_schema : "{\"type\":\"object\"}");
}

/* ---- configure --------------------------------------------------------- */

bool exports_caliper_metric_metric_configure(wit_string *config, exports_caliper_metric_metric_own_evaluator_t *ret,
                                             exports_caliper_metric_metric_config_error_t *err) {
    const caliper_metric *m = caliper__exported_metric();
    void *state = NULL;
    caliper_error error = {NULL};
    caliper_status status = caliper_configure(m, (const char *)config->ptr, config->len, &state, &error);
    metric_component_string_free(config);
    if (status != CALIPER_OK) {
        err->message = take_string(error.message);
        if (!err->message.len) err->message = result_cstring("config refused");
        return false;
    }
    exports_caliper_metric_metric_evaluator_t *evaluator = alloc(sizeof *evaluator);
    evaluator->metric = m;
    evaluator->state = state;
    *ret = exports_caliper_metric_metric_evaluator_new(evaluator);
    return true;
}

void exports_caliper_metric_metric_evaluator_destructor(exports_caliper_metric_metric_evaluator_t *evaluator) {
    if (evaluator->metric->destroy && evaluator->state) evaluator->metric->destroy(evaluator->state);
    free(evaluator);
}

/* ---- evaluate ---------------------------------------------------------- */

/* The SDK's view of a binding sample: arrays converted, strings borrowed. */
typedef struct sample_view {
    caliper_sample sample;
    caliper_message *messages;
    caliper_str *context;
    caliper_meta_entry *metadata;
} sample_view;

static void view_sample(const exports_caliper_metric_metric_sample_t *s, sample_view *v) {
    memset(v, 0, sizeof *v);
    v->sample.id = view(s->id);
    v->sample.input = view(s->input);
    v->sample.output = view(s->output);
    v->sample.has_expected = s->expected.is_some;
    v->sample.expected = s->expected.is_some ? view(s->expected.val) : caliper_str_c("");
    if (s->messages.len) {
        v->messages = alloc(s->messages.len * sizeof *v->messages);
        for (size_t i = 0; i < s->messages.len; i++) {
            v->messages[i].role = view(s->messages.ptr[i].role);
            v->messages[i].content = view(s->messages.ptr[i].content);
        }
    }
    if (s->context.len) {
        v->context = alloc(s->context.len * sizeof *v->context);
        for (size_t i = 0; i < s->context.len; i++) v->context[i] = view(s->context.ptr[i]);
    }
    if (s->metadata.len) {
        v->metadata = alloc(s->metadata.len * sizeof *v->metadata);
        for (size_t i = 0; i < s->metadata.len; i++) {
            const caliper_metric_types_meta_value_t *mv = &s->metadata.ptr[i].f1;
            caliper_meta_entry *e = &v->metadata[i];
            memset(e, 0, sizeof *e);
            e->key = view(s->metadata.ptr[i].f0);
            e->value.text = caliper_str_c("");
            switch (mv->tag) {
            case CALIPER_METRIC_TYPES_META_VALUE_BOOLEAN:
                e->value.kind = CALIPER_META_BOOL;
                e->value.boolean = mv->val.boolean;
                break;
            case CALIPER_METRIC_TYPES_META_VALUE_NUMBER:
                e->value.kind = CALIPER_META_NUMBER;
                e->value.number = mv->val.number;
                break;
            case CALIPER_METRIC_TYPES_META_VALUE_TEXT:
                e->value.kind = CALIPER_META_TEXT;
                e->value.text = view(mv->val.text);
                break;
            case CALIPER_METRIC_TYPES_META_VALUE_JSON:
                e->value.kind = CALIPER_META_JSON;
                e->value.text = view(mv->val.json);
                break;
            default: e->value.kind = CALIPER_META_NULL; break;
            }
        }
    }
    v->sample.messages = v->messages;
    v->sample.messages_len = s->messages.len;
    v->sample.context = v->context;
    v->sample.context_len = s->context.len;
    v->sample.metadata = v->metadata;
    v->sample.metadata_len = s->metadata.len;
}

static void free_view(sample_view *v) {
    free(v->messages);
    free(v->context);
    free(v->metadata);
}

/* Scores one binding sample into a result; frees the sample. */
static void evaluate_one(exports_caliper_metric_metric_evaluator_t *evaluator, exports_caliper_metric_metric_sample_t *s,
                         exports_caliper_metric_metric_result_outcome_eval_error_t *result) {
    sample_view v;
    view_sample(s, &v);
    caliper_outcome out;
    memset(&out, 0, sizeof out);
    caliper_status status = caliper_evaluate(evaluator->metric, evaluator->state, &v.sample, &out);
    free_view(&v);
    exports_caliper_metric_metric_sample_free(s);

    memset(result, 0, sizeof *result);
    if (status != CALIPER_OK) {
        result->is_err = true;
        result->val.err.message = take_string(out.error);
        if (!result->val.err.message.len) result->val.err.message = result_cstring("metric error");
        out.error = NULL;
        caliper_outcome_reset(&out);
        return;
    }
    exports_caliper_metric_metric_outcome_t *o = &result->val.ok;
    o->verdict = out.verdict == CALIPER_PASS   ? CALIPER_METRIC_TYPES_VERDICT_PASS
                 : out.verdict == CALIPER_FAIL ? CALIPER_METRIC_TYPES_VERDICT_FAIL
                                               : CALIPER_METRIC_TYPES_VERDICT_SKIP;
    o->value.is_some = out.has_value;
    o->value.val = out.has_value ? out.value : 0;
    /* An empty reason is still Some(""): keep it, with a (NULL, 0) string. */
    o->reason.is_some = out.reason != NULL;
    o->reason.val = take_string(out.reason);
    out.reason = NULL;
    if (out.labels_len) {
        o->labels.ptr = alloc(out.labels_len * sizeof *o->labels.ptr);
        o->labels.len = out.labels_len;
        for (size_t i = 0; i < out.labels_len; i++) {
            o->labels.ptr[i].f0 = take_string(out.labels[i].key);
            o->labels.ptr[i].f1 = take_string(out.labels[i].value);
        }
        out.labels_len = 0; /* moved */
    }
    caliper_outcome_reset(&out);
}

bool exports_caliper_metric_metric_method_evaluator_evaluate(exports_caliper_metric_metric_borrow_evaluator_t self,
                                                             exports_caliper_metric_metric_sample_t *sample,
                                                             exports_caliper_metric_metric_outcome_t *ret,
                                                             exports_caliper_metric_metric_eval_error_t *err) {
    exports_caliper_metric_metric_result_outcome_eval_error_t result;
    evaluate_one(self, sample, &result);
    if (result.is_err) {
        *err = result.val.err;
        return false;
    }
    *ret = result.val.ok;
    return true;
}

void exports_caliper_metric_metric_method_evaluator_evaluate_batch(
    exports_caliper_metric_metric_borrow_evaluator_t self, exports_caliper_metric_metric_list_sample_t *samples,
    exports_caliper_metric_metric_list_result_outcome_eval_error_t *ret) {
    size_t n = samples->len;
    ret->len = n;
    ret->ptr = n ? alloc(n * sizeof *ret->ptr) : NULL;
    for (size_t i = 0; i < n; i++) evaluate_one(self, &samples->ptr[i], &ret->ptr[i]);
    /* Each sample was freed by evaluate_one; only the array is left. */
    if (n) free(samples->ptr);
    samples->ptr = NULL;
    samples->len = 0;
}

/* ---- logging ----------------------------------------------------------- */

void caliper_log(caliper_log_level level, const char *fmt, ...) {
    char stack[256];
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(stack, sizeof stack, fmt, args);
    va_end(args);
    if (n < 0) return;
    char *text = stack;
    if ((size_t)n >= sizeof stack) {
        text = alloc((size_t)n + 1);
        va_start(args, fmt);
        vsnprintf(text, (size_t)n + 1, fmt, args);
        va_end(args);
    }
    wit_string message = {(uint8_t *)text, (size_t)n};
    caliper_metric_host_log((caliper_metric_host_log_level_t)(level <= CALIPER_LOG_ERROR ? level : CALIPER_LOG_ERROR),
                            &message);
    if (text != stack) free(text);
}
