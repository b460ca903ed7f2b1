//! Every standard metric on its labelled cases, through the binary.
//!
//! Each plugin ships `plugins/<name>/cases.jsonl`: one case per line,
//! `{"name", "config"?, "sample", "expect": {"outcome", "value"?, "labels"?,
//! "reason_contains"?}}`. This test runs all cases of all plugins in one
//! `caliper run` (one metric instance per distinct config) and compares
//! every outcome. Every plugin must have pass and fail cases, and a skip case
//! when it can skip.

use std::collections::BTreeMap;
use std::path::PathBuf;

use caliper_tests::{Scratch, wasm};
use serde_json::{Value, json};

/// Plugins whose contract includes "not applicable".
const SKIPPING: &[&str] = &["language-match", "similarity", "budget"];

struct Case {
    plugin: String,
    name: String,
    instance: String,
    expect: Value,
}

fn plugins_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugins")
}

#[test]
fn every_standard_metric_passes_its_labelled_cases() {
    let s = Scratch::new();
    let mut instances: BTreeMap<String, (String, Value)> = BTreeMap::new();
    let mut cases = Vec::new();
    let mut lines = Vec::new();
    let mut plugins: Vec<String> = std::fs::read_dir(plugins_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    plugins.sort();
    assert!(
        plugins.len() >= 9,
        "expected the nine standard metrics, found {plugins:?}"
    );
    for plugin in &plugins {
        let path = plugins_dir().join(plugin).join("cases.jsonl");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut seen = BTreeMap::new();
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let case: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), n + 1));
            let config = case.get("config").cloned().unwrap_or(json!({}));
            // One instance per distinct (plugin, config).
            let key = format!("{plugin} {config}");
            let count = instances.len();
            let instance = instances
                .entry(key)
                .or_insert_with(|| (format!("{plugin}-{count}"), config.clone()))
                .0
                .clone();
            let expect = case["expect"].clone();
            *seen
                .entry(expect["outcome"].as_str().unwrap().to_owned())
                .or_insert(0) += 1;
            let mut sample = case["sample"].clone();
            let id = format!("{plugin}/{}", n + 1);
            sample["id"] = json!(id);
            sample["metadata"]["case_instance"] = json!(instance);
            lines.push(sample);
            cases.push(Case {
                plugin: plugin.clone(),
                name: case["name"].as_str().unwrap_or(&id).to_owned(),
                instance,
                expect,
            });
        }
        for outcome in ["pass", "fail"] {
            assert!(seen.contains_key(outcome), "{plugin} has no {outcome} case");
        }
        if SKIPPING.contains(&plugin.as_str()) {
            assert!(seen.contains_key("skip"), "{plugin} has no skip case");
        }
    }
    let metrics: Vec<Value> = instances
        .iter()
        .map(|(plugin_and_config, (instance, cfg))| {
            let plugin = plugin_and_config.split(' ').next().unwrap();
            json!({
                "name": instance,
                "path": wasm(plugin),
                "config": cfg,
                "when": {"case_instance": instance},
            })
        })
        .collect();
    let document: toml::Value = serde_json::from_value(json!({ "metric": metrics })).unwrap();
    let config = toml::to_string(&document).unwrap();
    s.write("caliper.toml", &config);
    s.jsonl("cases.jsonl", &lines);
    let run = s.run(&["run", "cases.jsonl", "-o", "out.jsonl"]);
    assert_eq!(run.code(), 0, "{}\n{}", run.stdout(), run.stderr());
    let results = s.results("out.jsonl");
    assert_eq!(results.len(), cases.len());

    let mut failures = Vec::new();
    for (case, result) in cases.iter().zip(&results) {
        assert_eq!(result["metric"], case.instance.as_str());
        let mut problems = Vec::new();
        if result["outcome"] != case.expect["outcome"] {
            problems.push(format!(
                "outcome {} (expected {})",
                result["outcome"], case.expect["outcome"]
            ));
        }
        if let Some(v) = case.expect.get("value") {
            let got = result["value"].as_f64();
            let want = v.as_f64();
            let close = match (got, want) {
                (Some(g), Some(w)) => (g - w).abs() < 1e-6,
                (None, None) => true,
                _ => false,
            };
            if !close {
                problems.push(format!("value {} (expected {v})", result["value"]));
            }
        }
        if let Some(Value::Object(labels)) = case.expect.get("labels") {
            for (k, v) in labels {
                if result["labels"][k] != *v {
                    problems.push(format!("label {k}={} (expected {v})", result["labels"][k]));
                }
            }
        }
        if let Some(needle) = case.expect.get("reason_contains").and_then(Value::as_str) {
            let reason = result["reason"].as_str().unwrap_or_default();
            if !reason.contains(needle) {
                problems.push(format!("reason {reason:?} lacks {needle:?}"));
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{} / {}: {}",
                case.plugin,
                case.name,
                problems.join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
