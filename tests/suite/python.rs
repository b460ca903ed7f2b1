//! Metrics written in Python with `sdk/python`, built with componentize-py
//! by `python -m caliper_sdk.build`, run by the real binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use caliper_tests::{Scratch, build_examples, check_examples, repo};
use serde_json::json;

/// Builds `app` into `out` with the SDK's build command.
pub fn build(app: &Path, out: &Path) {
    let status = Command::new("python3")
        .args(["-m", "caliper_sdk.build"])
        .arg(app)
        .arg("-o")
        .arg(out)
        .env("PYTHONPATH", repo().join("sdk/python"))
        .status()
        .expect("python3");
    assert!(
        status.success(),
        "building {} failed (is componentize-py installed? scripts/install-deps.sh installs it)",
        app.display()
    );
}

/// Every example in `plugins/python` (a directory with `app.py` and
/// `cases.jsonl`), built once per test run: (name, component).
pub fn examples() -> &'static [(String, PathBuf)] {
    static BUILT: OnceLock<Vec<(String, PathBuf)>> = OnceLock::new();
    BUILT.get_or_init(|| build_examples("python", "app.py", build))
}

#[test]
fn the_python_examples_build_describe_themselves_and_pass_their_cases() {
    check_examples("python", examples());
}

#[test]
fn python_errors_and_bad_configs_become_the_documented_outcomes_also_in_batches() {
    let s = Scratch::new();
    s.write(
        "flaky.py",
        r#"
from caliper_sdk import ConfigError, Metric, MetricError, Outcome


class Flaky(Metric):
    name = "flaky"

    def __init__(self, config):
        if config.get("reject"):
            raise ConfigError("told to reject")

    def evaluate(self, sample):
        if "BAD" in sample.output:
            raise MetricError("cannot score this one")
        if "BOOM" in sample.output:
            raise ValueError("unexpected")
        if "NAN" in sample.output:
            return Outcome.passed(float("nan"))
        return Outcome.passed(len(sample.output)).with_label("lang", sample.metadata.get("lang", "?"))


from caliper_sdk.component import export

Metric = export(Flaky)
"#,
    );
    build(&s.path().join("flaky.py"), &s.path().join("flaky.wasm"));
    s.jsonl(
        "data.jsonl",
        &[
            json!({"id": "ok", "output": "fine", "metadata": {"lang": "de"}}),
            json!({"id": "bad", "output": "BAD"}),
            json!({"id": "boom", "output": "BOOM"}),
            json!({"id": "nan", "output": "NAN"}),
            json!({"id": "ok2", "output": "also fine"}),
        ],
    );
    for batch in [1, 4] {
        let results = caliper_tests::run_in_batches(&s, &s.path().join("flaky.wasm"), batch);
        let got = caliper_tests::outcomes(&results);
        assert_eq!(
            got,
            [
                ("ok", "pass"),
                ("bad", "error"),
                ("boom", "error"),
                ("nan", "invalid"),
                ("ok2", "pass")
            ],
            "batch_size {batch}"
        );
        assert_eq!(results[0]["value"], 4.0);
        assert_eq!(results[0]["labels"]["lang"], "de");
        assert_eq!(results[1]["reason"], "cannot score this one");
        assert_eq!(results[2]["reason"], "ValueError: unexpected");
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
