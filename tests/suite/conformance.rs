//! The cross-language conformance suite: the metric of
//! `tests/conformance/SPEC.md`, written once per SDK language and built from
//! source, scores `dataset.jsonl` through the real binary exactly as
//! `expected.jsonl` says (outcome, value, reason and labels, sample by
//! sample), with single calls and with the batch call; every SDK refuses the
//! same bad configs at load time, and maps its crash to the documented
//! outcome.

use std::path::PathBuf;
use std::sync::OnceLock;

use caliper_tests::{Scratch, wasm, wasm_dir};
use serde_json::Value;

fn conformance_dir() -> PathBuf {
    caliper_tests::repo().join("tests/conformance")
}

/// One implementation of the spec: its language and its component.
struct Implementation {
    lang: &'static str,
    component: PathBuf,
    /// The outcome a crash (`!crash`) has in this language: a trap for
    /// languages that abort, `error` for those that throw.
    crash_outcome: &'static str,
}

/// Every implementation, each built once per test run.
fn implementations() -> &'static [Implementation] {
    static BUILT: OnceLock<Vec<Implementation>> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = conformance_dir();
        let out = wasm_dir().join("conformance");
        std::fs::create_dir_all(&out).unwrap();
        let python = out.join("python.wasm");
        crate::python::build(&dir.join("python/app.py"), &python);
        let js = out.join("js.wasm");
        crate::js::build(&dir.join("js/app.js"), &js);
        let c = out.join("c.wasm");
        crate::c_sdk::build(&[&dir.join("c/metric.c")], &c);
        vec![
            Implementation {
                lang: "rust",
                component: wasm("conformance-rust"),
                crash_outcome: "trap",
            },
            Implementation {
                lang: "python",
                component: python,
                crash_outcome: "error",
            },
            Implementation {
                lang: "js",
                component: js,
                crash_outcome: "error",
            },
            Implementation {
                lang: "c",
                component: c,
                crash_outcome: "trap",
            },
        ]
    })
}

const CONFIG: &str = r#"{ banned = ["Acme", "globex"], min_words = 3 }"#;

fn metric_toml(component: &std::path::Path, config: &str, batch_size: usize) -> String {
    format!(
        "[[metric]]\nname = \"conformance\"\npath = \"{}\"\nconfig = {config}\nlimits = {{ batch_size = {batch_size} }}\n",
        component.display()
    )
}

fn read_jsonl(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The fields the spec fixes, in the shape of `expected.jsonl`.
fn essentials(result: &Value) -> Value {
    let mut out = serde_json::json!({
        "id": result["sample_id"],
        "outcome": result["outcome"],
    });
    for key in ["value", "reason"] {
        if !result[key].is_null() {
            out[key] = result[key].clone();
        }
    }
    if result["labels"].as_object().is_some_and(|l| !l.is_empty()) {
        out["labels"] = result["labels"].clone();
    }
    out
}

#[test]
fn every_sdk_scores_the_dataset_exactly_as_the_spec_says_in_single_and_batch_calls() {
    let expected = read_jsonl(&conformance_dir().join("expected.jsonl"));
    // The expectations exercise every verdict the spec can give.
    for outcome in ["pass", "fail", "skip", "error"] {
        assert!(
            expected.iter().any(|e| e["outcome"] == outcome),
            "{outcome}"
        );
    }
    let dataset = conformance_dir().join("dataset.jsonl");
    let s = Scratch::new();
    let mut mismatches = Vec::new();
    for imp in implementations() {
        for batch_size in [1, 8] {
            s.write(
                "caliper.toml",
                &metric_toml(&imp.component, CONFIG, batch_size),
            );
            s.run(&[
                "run",
                dataset.to_str().unwrap(),
                "-o",
                "out.jsonl",
                "--no-history",
            ])
            .expect_code(0);
            let got: Vec<Value> = s.results("out.jsonl").iter().map(essentials).collect();
            assert_eq!(got.len(), expected.len(), "{} batch {batch_size}", imp.lang);
            for (g, e) in got.iter().zip(&expected) {
                if g != e {
                    mismatches.push(format!(
                        "{} (batch {batch_size}) on {}:\n  got      {g}\n  expected {e}",
                        imp.lang, e["id"]
                    ));
                }
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn every_sdk_describes_itself_alike() {
    let s = Scratch::new();
    for imp in implementations() {
        let run = s
            .run(&["inspect", imp.component.to_str().unwrap(), "--json"])
            .expect_code(0);
        let v: Value = serde_json::from_str(&run.stdout()).unwrap();
        let d = &v["descriptor"];
        assert_eq!(v["contract"], "0.1.0", "{}", imp.lang);
        assert_eq!(d["name"], "conformance", "{}", imp.lang);
        assert_eq!(d["version"], "1.0.0", "{}", imp.lang);
        assert_eq!(d["owner"], "caliper", "{}", imp.lang);
        assert_eq!(d["goal"], "every SDK scores alike", "{}", imp.lang);
        assert_eq!(d["unit"], "ratio", "{}: {d}", imp.lang);
        assert_eq!(d["higher_is_better"], true, "{}: {d}", imp.lang);
    }
}

#[test]
fn every_sdk_refuses_the_same_bad_configs_at_load_time() {
    let s = Scratch::new();
    s.write(
        "data.jsonl",
        "{\"id\": \"a\", \"output\": \"one two three\"}\n",
    );
    let bad = [
        r#"{ min_words = -1 }"#,
        r#"{ min_words = 2.5 }"#,
        r#"{ min_words = "3" }"#,
        r#"{ banned = "Acme" }"#,
        r#"{ banned = [""] }"#,
        r#"{ colour = 1 }"#,
    ];
    for imp in implementations() {
        for config in bad {
            s.write("caliper.toml", &metric_toml(&imp.component, config, 1));
            let run = s.run(&["run", "data.jsonl", "--no-history"]);
            assert_eq!(
                run.code(),
                2,
                "{} accepted {config}: {}",
                imp.lang,
                run.stderr()
            );
            assert!(
                run.stderr().contains("metric `conformance`"),
                "{}: {}",
                imp.lang,
                run.stderr()
            );
        }
        // An unknown key is named in the message.
        s.write(
            "caliper.toml",
            &metric_toml(&imp.component, r#"{ colour = 1 }"#, 1),
        );
        let run = s.run(&["run", "data.jsonl", "--no-history"]).expect_code(2);
        assert!(
            run.stderr().contains("colour"),
            "{}: {}",
            imp.lang,
            run.stderr()
        );
        // And the defaults load.
        s.write("caliper.toml", &metric_toml(&imp.component, "{}", 1));
        s.run(&["run", "data.jsonl", "--no-history"]).expect_code(0);
    }
}

#[test]
fn every_sdk_crash_maps_to_its_documented_outcome_and_the_next_sample_still_scores() {
    let s = Scratch::new();
    s.write(
        "data.jsonl",
        "{\"id\": \"before\", \"output\": \"one two three\"}\n\
         {\"id\": \"crash\", \"output\": \"please !crash now\"}\n\
         {\"id\": \"after\", \"output\": \"four five six\"}\n",
    );
    for imp in implementations() {
        for batch_size in [1, 8] {
            s.write(
                "caliper.toml",
                &metric_toml(&imp.component, "{}", batch_size),
            );
            s.run(&["run", "data.jsonl", "-o", "out.jsonl", "--no-history"])
                .expect_code(0);
            let results = s.results("out.jsonl");
            let outcomes: Vec<&str> = results
                .iter()
                .map(|r| r["outcome"].as_str().unwrap())
                .collect();
            assert_eq!(
                outcomes,
                ["pass", imp.crash_outcome, "pass"],
                "{} batch {batch_size}",
                imp.lang
            );
            let reason = results[1]["reason"].as_str().unwrap_or_default();
            assert!(
                reason.contains("asked to crash"),
                "{} batch {batch_size}: {reason}",
                imp.lang
            );
        }
    }
}
