//! Metrics written in C with `sdk/c`, built by `sdk/c/build.sh` (clang,
//! wasi-libc, `wit-bindgen c`, `wasm-tools component new`), run by the real
//! binary; and the SDK's own unit tests, compiled natively with `cc`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use caliper_tests::{Scratch, build_examples, check_examples, repo, wasm_dir};
use serde_json::{Value, json};

const INSTALL_HINT: &str = "is the C toolchain installed? scripts/install-c.sh installs clang, lld, \
                            wasi-libc, wit-bindgen, wasm-tools and the WASI reactor adapter";

/// Builds the C `sources` into the component `out` with `sdk/c/build.sh`;
/// panics with the build's stderr when it fails.
pub fn build(sources: &[&Path], out: &Path) {
    let output = Command::new("bash")
        .arg(repo().join("sdk/c/build.sh"))
        .args(sources)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap_or_else(|e| panic!("running sdk/c/build.sh: {e} ({INSTALL_HINT})"));
    assert!(
        output.status.success(),
        "building {sources:?} failed ({INSTALL_HINT}):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every example in `plugins/c` (a directory with `metric.c` and
/// `cases.jsonl`), built once per test run: (name, component).
pub fn examples() -> &'static [(String, PathBuf)] {
    static BUILT: OnceLock<Vec<(String, PathBuf)>> = OnceLock::new();
    BUILT.get_or_init(|| {
        build_examples("c", "metric.c", |source: &Path, out: &Path| {
            build(&[source], out)
        })
    })
}

#[test]
fn the_c_sdk_unit_tests_pass_natively_under_the_sanitizers() {
    let s = Scratch::new();
    let exe = s.path().join("test_sdk");
    let sdk = repo().join("sdk/c");
    let compile = Command::new("cc")
        .args([
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-g",
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all",
        ])
        .arg("-I")
        .arg(&sdk)
        .arg(sdk.join("tests/test_sdk.c"))
        .arg(sdk.join("caliper.c"))
        .arg("-lm")
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("cc (Debian package gcc or clang)");
    assert!(
        compile.status.success(),
        "{}",
        String::from_utf8_lossy(&compile.stderr)
    );
    let run = Command::new(&exe).output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(summary.ends_with(" passed, 0 failed"), "{stdout}");
    let passed: usize = summary.split(' ').next().unwrap().parse().unwrap();
    assert!(passed > 100, "{stdout}");
}

#[test]
fn the_c_examples_build_describe_themselves_and_pass_their_cases() {
    check_examples("c", examples());
}

/// A metric that exercises every error path and allocates on every call.
const FLAKY: &str = r#"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "caliper.h"

static caliper_status configure(const caliper_json *cfg, void **state, caliper_error *err) {
    static const char *const keys[] = {"reject", NULL};
    bool reject = false;
    (void)state;
    if (caliper_config_check_keys(cfg, keys, err) || caliper_config_bool(cfg, "reject", &reject, err))
        return CALIPER_ERR;
    if (reject) return caliper_config_error(err, "told to reject");
    return CALIPER_OK;
}

static caliper_status evaluate(const caliper_sample *s, void *state, caliper_outcome *out) {
    (void)state;
    if (caliper_str_eq(s->output, "BAD")) return caliper_metric_error(out, "cannot score %s", "this one");
    if (caliper_str_eq(s->output, "BOOM")) {
        fprintf(stderr, "flaky: giving up on %.*s\n", CALIPER_STR_ARGS(s->id));
        abort();
    }
    if (caliper_str_eq(s->output, "NAN")) {
        caliper_outcome_pass(out, NAN);
        return CALIPER_OK;
    }
    /* Allocate per call, as a real metric does: a copy of the output, a
       reason and labels. The SDK must free all of it, and the sample. */
    char *copy = caliper_str_dup(s->output);
    size_t upper = 0;
    for (size_t i = 0; i < s->output.len; i++) upper += copy[i] >= 'A' && copy[i] <= 'Z';
    caliper_outcome_pass(out, (double)caliper_utf8_count(s->output));
    size_t cut = s->output.len < 1000 ? s->output.len : 1000;
    while (cut > 0 && (copy[cut] & 0xC0) == 0x80) cut--; /* on a UTF-8 boundary */
    caliper_outcome_reason(out, "%.*s", (int)cut, copy);
    caliper_outcome_labelf(out, "upper", "%zu", upper);
    caliper_str lang;
    caliper_outcome_label_str(out, "lang", caliper_meta_text(s, "lang", &lang) ? lang : caliper_str_c("?"));
    free(copy);
    return CALIPER_OK;
}

static const caliper_metric flaky = {
    .name = "flaky", .owner = "tests", .unit = "chars",
    .configure = configure, .evaluate = evaluate,
};
CALIPER_EXPORT_METRIC(flaky)
"#;

/// The scratch metric, built once per test run.
fn flaky() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = wasm_dir().join("c");
        std::fs::create_dir_all(&dir).unwrap();
        let source = dir.join("flaky.c");
        std::fs::write(&source, FLAKY).unwrap();
        let out = dir.join("flaky.wasm");
        build(&[&source], &out);
        out
    })
}

fn flaky_toml(s: &Scratch, extra: &str) {
    s.write(
        "caliper.toml",
        &format!(
            "[[metric]]\nname = \"flaky\"\npath = \"{}\"\n{extra}",
            flaky().display()
        ),
    );
}

/// Results without the timing, which differs from run to run.
fn without_timing(mut results: Vec<Value>) -> Vec<Value> {
    for r in &mut results {
        r.as_object_mut().unwrap().remove("duration_us");
    }
    results
}

#[test]
fn c_errors_crashes_and_bad_configs_become_the_documented_outcomes_also_in_batches() {
    let s = Scratch::new();
    s.jsonl(
        "data.jsonl",
        &[
            json!({"id": "ok", "output": "Grüße", "metadata": {"lang": "de"}}),
            json!({"id": "bad", "output": "BAD"}),
            json!({"id": "boom", "output": "BOOM"}),
            json!({"id": "nan", "output": "NAN"}),
            json!({"id": "ok2", "output": "also FINE"}),
        ],
    );
    let mut runs = Vec::new();
    for batch in [1, 8] {
        let results = caliper_tests::run_in_batches(&s, flaky(), batch);
        let got = caliper_tests::outcomes(&results);
        assert_eq!(
            got,
            [
                ("ok", "pass"),
                ("bad", "error"),
                ("boom", "trap"),
                ("nan", "invalid"),
                ("ok2", "pass")
            ],
            "batch_size {batch}"
        );
        // Code points, not bytes; labels and reason copied out of the guest.
        assert_eq!(results[0]["value"], 5.0);
        assert_eq!(results[0]["reason"], "Grüße");
        assert_eq!(results[0]["labels"], json!({"lang": "de", "upper": "1"}));
        assert_eq!(results[4]["labels"], json!({"lang": "?", "upper": "4"}));
        assert_eq!(results[1]["reason"], "cannot score this one");
        let trap = results[2]["reason"].as_str().unwrap();
        assert!(trap.contains("flaky: giving up on boom"), "{trap}");
        runs.push(without_timing(results));
    }
    assert_eq!(runs[0], runs[1], "batch_size 1 and 8 disagree");

    // A refused config fails at load time, naming the metric and the reason.
    flaky_toml(&s, "config = { reject = true }\n");
    let run = s.run(&["run", "data.jsonl"]).expect_code(2);
    assert!(run.stderr().contains("metric `flaky`"), "{}", run.stderr());
    assert!(run.stderr().contains("told to reject"), "{}", run.stderr());
    // So is a config of the wrong type, with the SDK's message.
    flaky_toml(&s, "config = { reject = \"yes\" }\n");
    let run = s.run(&["run", "data.jsonl"]).expect_code(2);
    assert!(
        run.stderr().contains("`reject` must be true or false"),
        "{}",
        run.stderr()
    );
    flaky_toml(&s, "config = { colour = 1 }\n");
    let run = s.run(&["run", "data.jsonl"]).expect_code(2);
    assert!(
        run.stderr().contains("unknown config key `colour`"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_c_metric_frees_every_call_so_a_1_5_mb_output_and_20k_samples_fit_in_8_mib() {
    // 20,000 samples of 2 KB each move 40 MB through the guest (plus a
    // reason and labels per call) and one sample is 1.5 MB: under an 8 MiB
    // cap, any per-call leak of the sample or the outcome ends in a `memory`
    // outcome long before the end. One sample per call: a batch that traps
    // is retried sample by sample on a fresh instance, which would hide it.
    let s = Scratch::new();
    let mut text = String::with_capacity(45_000_000);
    let line = "Ab ".repeat(683);
    for i in 0..20_000 {
        text.push_str(&json!({"id": format!("s{i}"), "output": line}).to_string());
        text.push('\n');
    }
    let big = "Ünïcödé ".repeat(131_072); // 1.5 MiB: 12 bytes, 8 code points each
    text.push_str(&json!({"id": "big", "output": big}).to_string());
    text.push('\n');
    s.write("data.jsonl", &text);
    flaky_toml(&s, "limits = { memory_mib = 8, batch_size = 1 }\n");
    s.run(&["run", "data.jsonl", "-o", "out.jsonl", "--no-history"])
        .expect_code(0);
    let results = s.results("out.jsonl");
    assert_eq!(results.len(), 20_001);
    let not_pass: Vec<&Value> = results.iter().filter(|r| r["outcome"] != "pass").collect();
    assert!(
        not_pass.is_empty(),
        "{} not passed, first: {}",
        not_pass.len(),
        not_pass[0]
    );
    assert_eq!(results[0]["value"], 2049.0);
    assert_eq!(results[20_000]["value"], 8.0 * 131_072.0);
    assert_eq!(results[20_000]["labels"]["upper"], "0");
}
