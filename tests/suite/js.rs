//! Metrics written in JavaScript with `sdk/js`, built with componentize-js
//! by `sdk/js/build.mjs`, run by the real binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use caliper_tests::{Scratch, build_examples, check_examples, repo};
use serde_json::json;

const INSTALL_HINT: &str = "is the JavaScript toolchain installed? scripts/install-js.sh (npm ci --prefix sdk/js) installs it";

/// Runs the SDK's build command on `app`; its output.
fn run_build(app: &Path, out: &Path) -> std::process::Output {
    Command::new("node")
        .arg(repo().join("sdk/js/build.mjs"))
        .arg(app)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap_or_else(|e| panic!("running node: {e} ({INSTALL_HINT})"))
}

/// Builds the metric module `app` into the component `out` with the SDK's
/// build command; panics with the build's stderr when it fails.
pub fn build(app: &Path, out: &Path) {
    let output = run_build(app, out);
    assert!(
        output.status.success(),
        "building {} failed ({INSTALL_HINT}):\n{}",
        app.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every example in `plugins/js` (a directory with `metric.js` and
/// `cases.jsonl`), built once per test run: (name, component).
pub fn examples() -> &'static [(String, PathBuf)] {
    static BUILT: OnceLock<Vec<(String, PathBuf)>> = OnceLock::new();
    BUILT.get_or_init(|| build_examples("js", "metric.js", build))
}

#[test]
fn the_js_sdk_unit_tests_pass_in_plain_node() {
    let output = Command::new("node")
        .args(["--test", "sdk/js/test/"])
        .current_dir(repo())
        .output()
        .expect("node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("# fail 0"), "{stdout}");
    assert!(!stdout.contains("# pass 0"), "{stdout}");
}

#[test]
fn the_js_examples_build_describe_themselves_and_pass_their_cases() {
    for v in check_examples("js", examples()) {
        assert_eq!(v["descriptor"]["config_schema"]["type"], "object", "{v}");
    }
}

#[test]
fn js_errors_and_bad_configs_become_the_documented_outcomes_also_in_batches() {
    let s = Scratch::new();
    s.write(
        "flaky.js",
        r#"
import { ConfigError, MetricError, Outcome, defineMetric } from '@caliper/sdk';

function evaluate(sample) {
  if (sample.output.includes('BAD')) throw new MetricError('cannot score this one');
  if (sample.output.includes('BOOM')) throw new Error('unexpected');
  if (sample.output.includes('STRING')) throw 'not an Error';
  if (sample.output.includes('NAN')) return Outcome.pass(NaN);
  return Outcome.pass(sample.output.length).withLabel('lang', sample.metadata.lang ?? '?');
}

export default defineMetric({
  name: 'flaky',
  owner: 'tests',
  configure(config) {
    if (config.reject) throw new ConfigError('told to reject');
    return config;
  },
  evaluate,
  // Throws for the whole batch when one sample throws: the SDK then scores
  // the samples one by one.
  evaluateBatch: (samples) => samples.map(evaluate),
});
"#,
    );
    build(&s.path().join("flaky.js"), &s.path().join("flaky.wasm"));
    s.jsonl(
        "data.jsonl",
        &[
            json!({"id": "ok", "output": "fine", "metadata": {"lang": "de"}}),
            json!({"id": "bad", "output": "BAD"}),
            json!({"id": "boom", "output": "BOOM"}),
            json!({"id": "string", "output": "STRING"}),
            json!({"id": "nan", "output": "NAN"}),
            json!({"id": "ok2", "output": "also fine"}),
        ],
    );
    for batch in [1, 8] {
        let results = caliper_tests::run_in_batches(&s, &s.path().join("flaky.wasm"), batch);
        let got = caliper_tests::outcomes(&results);
        assert_eq!(
            got,
            [
                ("ok", "pass"),
                ("bad", "error"),
                ("boom", "error"),
                ("string", "error"),
                ("nan", "invalid"),
                ("ok2", "pass")
            ],
            "batch_size {batch}"
        );
        assert_eq!(results[0]["value"], 4.0);
        assert_eq!(results[0]["labels"]["lang"], "de");
        assert_eq!(results[1]["reason"], "cannot score this one");
        assert_eq!(results[2]["reason"], "Error: unexpected");
        assert_eq!(results[3]["reason"], "thrown: not an Error");
        assert_eq!(results[5]["labels"]["lang"], "?");
    }
    // A refused config fails at load time, naming the metric.
    s.write(
        "caliper.toml",
        "[[metric]]\nname = \"flaky\"\npath = \"flaky.wasm\"\nconfig = { reject = true }\n",
    );
    let run = s.run(&["run", "data.jsonl"]).expect_code(2);
    assert!(run.stderr().contains("metric `flaky`"), "{}", run.stderr());
    assert!(run.stderr().contains("told to reject"), "{}", run.stderr());
}

#[test]
fn a_broken_js_metric_fails_to_build_with_a_clear_message() {
    let s = Scratch::new();
    s.write("syntax.js", "export default {\n  name: 'x',\n");
    s.write("no_default.js", "export const x = 1;\n");
    for (file, expected) in [
        ("syntax.js", "syntax.js cannot be bundled"),
        ("no_default.js", "must `export default defineMetric"),
        ("missing.js", "missing.js: no such file"),
    ] {
        let output = run_build(&s.path().join(file), &s.path().join("out.wasm"));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{file}: {stderr}");
        assert!(stderr.contains(expected), "{file}: {stderr}");
        assert!(!s.path().join("out.wasm").exists(), "{file}");
    }
}
