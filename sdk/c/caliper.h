/*
 * caliper.h: write a Caliper micro metric in plain C.
 *
 * A metric is a `caliper_metric`: descriptor strings plus two callbacks,
 * `configure` (validate the JSON config once, build your state) and
 * `evaluate` (score one sample into an outcome). `CALIPER_EXPORT_METRIC`
 * makes it the component's implementation of `caliper:metric@0.1.0`
 * (wit/metric.wit); `sdk/c/build.sh metric.c -o metric.wasm` builds it.
 *
 *     #include "caliper.h"
 *
 *     static caliper_status configure(const caliper_json *cfg, void **state, caliper_error *err) {
 *         static const char *const keys[] = {"max_words", NULL};
 *         long long *max = malloc(sizeof *max);
 *         *max = 100;
 *         *state = max;
 *         if (caliper_config_check_keys(cfg, keys, err) || caliper_config_int(cfg, "max_words", 1, 1000000, max, err))
 *             return CALIPER_ERR;     // the SDK calls .destroy(*state) on error
 *         return CALIPER_OK;
 *     }
 *
 *     static caliper_status evaluate(const caliper_sample *s, void *state, caliper_outcome *out) {
 *         long long max = *(long long *)state;
 *         size_t words = caliper_ascii_words(s->output);
 *         if (words == 0) { caliper_outcome_skip(out, "empty output"); return CALIPER_OK; }
 *         caliper_outcome_check(out, words <= max, (double)words);
 *         caliper_outcome_reason(out, "%zu words (max %lld)", words, max);
 *         return CALIPER_OK;
 *     }
 *
 *     static const caliper_metric brevity = {
 *         .name = "brevity", .version = "0.1.0", .owner = "support-bots",
 *         .unit = "words", .higher_is_better = false,
 *         .configure = configure, .evaluate = evaluate, .destroy = free,
 *     };
 *     CALIPER_EXPORT_METRIC(brevity)
 *
 * The same file compiles natively (`cc metric.c sdk/c/caliper.c`), where
 * `caliper_configure` / `caliper_evaluate` run it like the host does, so a
 * metric can be unit-tested without Wasm. `CALIPER_EXPORT_METRIC` expands to
 * nothing off Wasm.
 *
 * MEMORY OWNERSHIP (the whole contract; nothing else is shared)
 *  1. Everything the SDK hands you is BORROWED for the duration of the call:
 *     the `caliper_json` config tree in `configure`, and the `caliper_sample`
 *     (every `caliper_str` in it, the messages, context and metadata arrays)
 *     in `evaluate`. The SDK frees them when your callback returns. Copy what
 *     you keep (`caliper_str_dup`, `caliper_config_string`, ...).
 *  2. `caliper_str` is a view: pointer + byte length, NOT NUL-terminated
 *     (text may even contain NUL bytes). Print it with "%.*s" and
 *     `CALIPER_STR_ARGS(s)`, or copy it with `caliper_str_dup`.
 *  3. Every string you pass to an outcome, label, error or log function is
 *     COPIED: pass stack buffers or temporaries freely, and free your own
 *     strings as usual. The SDK keeps the copies in the outcome, moves them
 *     into the canonical-ABI return area, and the generated post-return
 *     function frees them after the host has read them. So after every call
 *     the guest holds nothing but your state: memory does not grow with the
 *     number of samples.
 *  4. Your state is yours: allocate it in `configure`, and the SDK calls
 *     `.destroy(state)` (if set) when the host drops the evaluator, and also
 *     when `configure` returns CALIPER_ERR (with whatever it stored in
 *     `*state`, NULL if it stored nothing).
 *  5. Out of memory inside the SDK is fatal: it prints a message to stderr
 *     and aborts (the host reports `trap`, or `memory` at the memory cap).
 *
 * ERRORS
 *  - `configure` returning CALIPER_ERR (after `caliper_config_error(err, ...)`
 *    or a config helper that set the message) refuses the config: the host
 *    stops at load time (exit code 2) naming the metric and the message.
 *  - `evaluate` returning CALIPER_ERR (after `caliper_metric_error(out, ...)`)
 *    gives the `error` outcome with that message. Returning CALIPER_OK without
 *    having set a verdict is also an `error` (a bug in the metric).
 *  - `abort()`, a NULL dereference trap, `__builtin_trap()`: the host records
 *    `trap`, with what the guest wrote to stderr in the reason. A NaN or
 *    infinite value becomes `invalid`.
 */
#ifndef CALIPER_H
#define CALIPER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define CALIPER_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define CALIPER_PRINTF(fmt, args)
#endif

/* ---- Status ------------------------------------------------------------ */

/** What `configure` and `evaluate` return. */
typedef enum caliper_status {
    CALIPER_OK = 0,  /**< success */
    CALIPER_ERR = 1, /**< failure; the message was set on the error/outcome */
} caliper_status;

/* ---- Strings ----------------------------------------------------------- */

/** A borrowed UTF-8 string view: `len` bytes at `ptr`, not NUL-terminated. */
typedef struct caliper_str {
    const char *ptr;
    size_t len;
} caliper_str;

/** printf arguments for "%.*s": `printf("%.*s", CALIPER_STR_ARGS(s))`. */
#define CALIPER_STR_ARGS(s) (int)(s).len, (s).ptr

/** A view of a NUL-terminated C string (NULL gives the empty view). */
caliper_str caliper_str_c(const char *s);
/** Whether `s` equals the C string `c`, byte for byte. */
bool caliper_str_eq(caliper_str s, const char *c);
/** A malloc'd NUL-terminated copy of `s`; the caller frees it. */
char *caliper_str_dup(caliper_str s);
/** Number of Unicode scalar values (code points) in valid UTF-8 `s`. */
size_t caliper_utf8_count(caliper_str s);
/**
 * Decodes the code point at byte offset `*pos` and advances `*pos` past it.
 * Invalid or truncated UTF-8 yields U+FFFD and advances one byte.
 * Returns -1 (and leaves `*pos`) at the end of the string.
 */
long caliper_utf8_next(caliper_str s, size_t *pos);
/** Space, \t, \n, \v, \f, \r: ASCII whitespace and nothing else. */
bool caliper_is_ascii_space(int c);
/** Number of maximal runs of bytes that are not ASCII whitespace. */
size_t caliper_ascii_words(caliper_str s);
/** `c` with A-Z mapped to a-z; every other byte unchanged. */
int caliper_ascii_lower(int c);
/**
 * Byte offset of the first occurrence of `needle` in `haystack`, comparing
 * ASCII letters case-insensitively (other bytes exactly), or -1. An empty
 * needle is found at 0.
 */
long caliper_str_find_ci(caliper_str haystack, caliper_str needle);
/** Whether `caliper_str_find_ci(haystack, needle) >= 0`. */
bool caliper_str_contains_ci(caliper_str haystack, caliper_str needle);
/** Like `caliper_str_find_ci`, but exact (case-sensitive). */
long caliper_str_find(caliper_str haystack, caliper_str needle);

/* ---- JSON (the config) ------------------------------------------------- */

/** The kinds of JSON value. */
typedef enum caliper_json_kind {
    CALIPER_JSON_NULL,
    CALIPER_JSON_BOOL,
    CALIPER_JSON_NUMBER,
    CALIPER_JSON_STRING,
    CALIPER_JSON_ARRAY,
    CALIPER_JSON_OBJECT,
} caliper_json_kind;

/** A parsed JSON value. Read-only for metrics; owned by its tree's root. */
typedef struct caliper_json {
    caliper_json_kind kind;
    bool boolean;       /**< BOOL: the value */
    double number;      /**< NUMBER: the value */
    bool is_integer;    /**< NUMBER written without fraction or exponent, fits in long long */
    long long integer;  /**< NUMBER: the value when `is_integer` */
    caliper_str string; /**< STRING: decoded text (also NUL-terminated) */
    size_t len;         /**< ARRAY / OBJECT: number of items */
    struct caliper_json *items; /**< ARRAY elements / OBJECT values, in order */
    caliper_str *keys;  /**< OBJECT: the key of each item (decoded, unique) */
} caliper_json;

/**
 * Parses `len` bytes of strict JSON (RFC 8259: no comments, no trailing
 * commas, no lone surrogates, no duplicate object keys, nesting depth at
 * most 64). Returns a tree to free with `caliper_json_free`, or NULL with a
 * message (including the byte offset) in `err` (may be NULL).
 */
caliper_json *caliper_json_parse(const char *text, size_t len, char *err, size_t err_size);
/** Frees a tree returned by `caliper_json_parse` (NULL is fine). */
void caliper_json_free(caliper_json *root);
/** The value of `key` in object `obj`, or NULL (also when `obj` is no object). */
const caliper_json *caliper_json_get(const caliper_json *obj, const char *key);
/**
 * The first key of object `obj` not in `allowed` (a NULL-terminated list),
 * or NULL when every key is allowed.
 */
const caliper_str *caliper_json_unknown_key(const caliper_json *obj, const char *const *allowed);
/** The JSON type name of a value ("null", "boolean", "number", ...). */
const char *caliper_json_kind_name(caliper_json_kind kind);

/* ---- Config errors and config helpers ---------------------------------- */

/** Why a config was refused (filled by the helpers below). */
typedef struct caliper_error {
    char *message; /**< malloc'd by the SDK; NULL until set */
} caliper_error;

/** Sets the config error message (printf-style); returns CALIPER_ERR. */
caliper_status caliper_config_error(caliper_error *err, const char *fmt, ...) CALIPER_PRINTF(2, 3);

/*
 * Each helper reads one key of the config object `cfg`. When the key is
 * absent (or `null`) it leaves `*out` untouched (your default) and returns
 * CALIPER_OK; when it has the wrong type or range it sets `err` with a
 * message naming the key and returns CALIPER_ERR.
 */

/** Refuses keys not in `allowed` (NULL-terminated): "unknown config key `x`". */
caliper_status caliper_config_check_keys(const caliper_json *cfg, const char *const *allowed, caliper_error *err);
/** An integer (`3`, not `3.5` or `"3"`) in [min, max]. */
caliper_status caliper_config_int(const caliper_json *cfg, const char *key, long long min, long long max,
                                  long long *out, caliper_error *err);
/** A number in [min, max]. */
caliper_status caliper_config_number(const caliper_json *cfg, const char *key, double min, double max,
                                     double *out, caliper_error *err);
/** A boolean. */
caliper_status caliper_config_bool(const caliper_json *cfg, const char *key, bool *out, caliper_error *err);
/**
 * A string, copied: on success `*out` is a malloc'd NUL-terminated copy that
 * you own (the previous `*out` is not freed: keep defaults in static storage
 * or free them yourself).
 */
caliper_status caliper_config_string(const caliper_json *cfg, const char *key, char **out, caliper_error *err);

/** An owned list of owned NUL-terminated strings. */
typedef struct caliper_strings {
    char **items;
    size_t len;
} caliper_strings;

/**
 * An array of strings, copied into `*out` (which must be empty on entry).
 * With `non_empty`, "" items are refused. Free with `caliper_strings_free`.
 */
caliper_status caliper_config_strings(const caliper_json *cfg, const char *key, bool non_empty,
                                      caliper_strings *out, caliper_error *err);
/** Frees the items and the array, leaving an empty list. */
void caliper_strings_free(caliper_strings *list);

/* ---- Samples ----------------------------------------------------------- */

/** One turn of the conversation before the output. */
typedef struct caliper_message {
    caliper_str role;
    caliper_str content;
} caliper_message;

/** The kinds of metadata value. */
typedef enum caliper_meta_kind {
    CALIPER_META_NULL,
    CALIPER_META_BOOL,
    CALIPER_META_NUMBER,
    CALIPER_META_TEXT,
    CALIPER_META_JSON, /**< an object or array, as JSON text in `text` */
} caliper_meta_kind;

/** One metadata value. */
typedef struct caliper_meta_value {
    caliper_meta_kind kind;
    bool boolean;     /**< BOOL */
    double number;    /**< NUMBER */
    caliper_str text; /**< TEXT, or the JSON text for JSON */
} caliper_meta_value;

/** One metadata entry (keys are unique within a sample). */
typedef struct caliper_meta_entry {
    caliper_str key;
    caliper_meta_value value;
} caliper_meta_entry;

/** One recorded LLM interaction. Borrowed: valid during `evaluate` only. */
typedef struct caliper_sample {
    caliper_str id;
    caliper_str input;  /**< the user input that produced `output` */
    caliper_str output; /**< the model output being scored */
    const caliper_message *messages; /**< the conversation before `output`, oldest first */
    size_t messages_len;
    const caliper_str *context; /**< retrieved passages, in ranking order */
    size_t context_len;
    bool has_expected; /**< whether there is a reference answer (even "") */
    caliper_str expected;
    const caliper_meta_entry *metadata;
    size_t metadata_len;
} caliper_sample;

/** The metadata value of `key`, or NULL when absent. */
const caliper_meta_value *caliper_meta_get(const caliper_sample *s, const char *key);
/** Whether `key` is present with value null. */
bool caliper_meta_is_null(const caliper_sample *s, const char *key);
/** Whether `key` is a boolean; if so stores it in `*out`. */
bool caliper_meta_bool(const caliper_sample *s, const char *key, bool *out);
/** Whether `key` is a number; if so stores it in `*out`. */
bool caliper_meta_number(const caliper_sample *s, const char *key, double *out);
/** Whether `key` is text; if so stores the (borrowed) view in `*out`. */
bool caliper_meta_text(const caliper_sample *s, const char *key, caliper_str *out);
/** Whether `key` is an object or array; if so stores its JSON text in `*out`. */
bool caliper_meta_json(const caliper_sample *s, const char *key, caliper_str *out);

/* ---- Outcomes ---------------------------------------------------------- */

/** The verdict of one evaluation. */
typedef enum caliper_verdict {
    CALIPER_UNSET = 0, /**< not decided yet (returning it is an error) */
    CALIPER_PASS,
    CALIPER_FAIL,
    CALIPER_SKIP,
} caliper_verdict;

/** One label, owned by the outcome (NUL-terminated copies). */
typedef struct caliper_label {
    char *key;
    char *value;
} caliper_label;

/**
 * What `evaluate` fills in. The SDK owns every pointer in it; read the
 * fields freely, change them only through the functions below.
 */
typedef struct caliper_outcome {
    caliper_verdict verdict;
    bool has_value;
    double value;
    char *reason; /**< NULL when there is none */
    caliper_label *labels;
    size_t labels_len;
    size_t labels_cap;
    char *error; /**< set by `caliper_metric_error` */
} caliper_outcome;

/** Pass, with a value. */
void caliper_outcome_pass(caliper_outcome *out, double value);
/** Fail, with a value and a printf-style reason (NULL for none). */
void caliper_outcome_fail(caliper_outcome *out, double value, const char *reason_fmt, ...) CALIPER_PRINTF(3, 4);
/** Skip (not applicable; no value), with a printf-style reason (NULL for none). */
void caliper_outcome_skip(caliper_outcome *out, const char *reason_fmt, ...) CALIPER_PRINTF(2, 3);
/** Pass when `ok`, fail otherwise, with a value either way. */
void caliper_outcome_check(caliper_outcome *out, bool ok, double value);
/** Sets the value (it must be finite, or the host records `invalid`). */
void caliper_outcome_value(caliper_outcome *out, double value);
/** Removes the value. */
void caliper_outcome_no_value(caliper_outcome *out);
/** Sets (replaces) the reason, printf-style; NULL removes it. */
void caliper_outcome_reason(caliper_outcome *out, const char *fmt, ...) CALIPER_PRINTF(2, 3);
/** Sets (replaces) the reason from a view. */
void caliper_outcome_reason_str(caliper_outcome *out, caliper_str reason);
/** Adds a label (both strings copied). */
void caliper_outcome_label(caliper_outcome *out, const char *key, const char *value);
/** Adds a label whose value is a view (copied). */
void caliper_outcome_label_str(caliper_outcome *out, const char *key, caliper_str value);
/** Adds a label with a printf-style value, e.g. ("count", "%zu", n). */
void caliper_outcome_labelf(caliper_outcome *out, const char *key, const char *fmt, ...) CALIPER_PRINTF(3, 4);
/** The value of label `key`, or NULL. */
const char *caliper_outcome_get_label(const caliper_outcome *out, const char *key);
/**
 * Records that the metric cannot score this sample (the `error` outcome)
 * with a printf-style message; returns CALIPER_ERR, so write
 * `return caliper_metric_error(out, "no %s", what);`.
 */
caliper_status caliper_metric_error(caliper_outcome *out, const char *fmt, ...) CALIPER_PRINTF(2, 3);
/** Frees everything the outcome holds and resets it to unset. */
void caliper_outcome_reset(caliper_outcome *out);

/* ---- Logging ----------------------------------------------------------- */

/** Severity of a log line. */
typedef enum caliper_log_level {
    CALIPER_LOG_TRACE,
    CALIPER_LOG_DEBUG,
    CALIPER_LOG_INFO,
    CALIPER_LOG_WARN,
    CALIPER_LOG_ERROR,
} caliper_log_level;

/** Writes a line to the host's log (stderr natively). */
void caliper_log(caliper_log_level level, const char *fmt, ...) CALIPER_PRINTF(2, 3);

/* ---- The metric -------------------------------------------------------- */

/** A metric: its self-description and its callbacks. */
typedef struct caliper_metric {
    const char *name;        /**< kebab-case, e.g. "max-repetition" */
    const char *version;     /**< semantic version of the logic; NULL = "0.1.0" */
    const char *description; /**< one line: what the metric checks */
    const char *owner;       /**< owning team or person */
    const char *goal;        /**< the business goal the metric serves */
    const char *const *tags; /**< NULL-terminated list, or NULL */
    const char *unit;        /**< unit of the value, e.g. "ratio", "count" */
    bool higher_is_better;
    const char *config_schema; /**< JSON Schema as text; NULL = {"type":"object"} */
    /**
     * Validates the config (a JSON object; `{}` for defaults) and builds the
     * state `evaluate` receives. NULL: the metric takes no config (any key
     * is refused) and its state is NULL.
     */
    caliper_status (*configure)(const caliper_json *config, void **state, caliper_error *err);
    /** Scores one sample. Required. */
    caliper_status (*evaluate)(const caliper_sample *sample, void *state, caliper_outcome *out);
    /** Frees the state (NULL: nothing to free). */
    void (*destroy)(void *state);
} caliper_metric;

/**
 * Parses `config_json` (`len` bytes; empty or blank means `{}`), checks it
 * is an object and runs `metric->configure`, as the host's `configure` does.
 * On CALIPER_ERR, `err->message` says why (free it with `caliper_error_free`)
 * and the state was already destroyed.
 */
caliper_status caliper_configure(const caliper_metric *metric, const char *config_json, size_t len, void **state,
                                 caliper_error *err);
/**
 * Runs `metric->evaluate` into `out` (which must be zeroed or reset) and
 * checks the result as the component does: on CALIPER_ERR `out->error` holds
 * the message (also for a missing verdict).
 */
caliper_status caliper_evaluate(const caliper_metric *metric, void *state, const caliper_sample *sample,
                                caliper_outcome *out);
/** Frees the message of a config error. */
void caliper_error_free(caliper_error *err);

/**
 * Makes `metric` (a `caliper_metric` variable) this component's metric. Use
 * it exactly once, at file scope. Expands to nothing off Wasm.
 */
#if defined(__wasm__)
#define CALIPER_EXPORT_METRIC(metric)                                                                                  \
    const caliper_metric *caliper__exported_metric(void) { return &(metric); }
#else
#define CALIPER_EXPORT_METRIC(metric)
#endif

#ifdef __cplusplus
}
#endif

#endif /* CALIPER_H */
