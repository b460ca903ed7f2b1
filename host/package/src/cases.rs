//! Labelled examples: samples with the outcome a metric must give on them.
//!
//! A metric can name a file of examples in `caliper.toml`
//! (`examples = "cases.jsonl"`); it is then refused at load and at every hot
//! reload unless it still gives the expected outcome on every one, so a
//! regression in a new version never reaches traffic. One example per line:
//!
//! ```json
//! {"name": "email leak", "config": {"kinds": ["email"]},
//!  "sample": {"output": "write to bob@example.com"},
//!  "expect": {"outcome": "fail", "value": 1, "labels": {"kinds": "email"}, "reason_contains": "b***@"}}
//! ```
//!
//! `config` is optional (default: the metric's configured config); in
//! `expect`, only `outcome` is required.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use caliper_types::outcome::{Evaluation, Status};
use caliper_types::record::RecordError;
use caliper_types::sample::Sample;

/// One labelled example.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// What it shows.
    #[serde(default)]
    pub name: Option<String>,
    /// A config for this example (default: the metric's).
    #[serde(default)]
    pub config: Option<serde_json::Value>,
    /// The sample, in the native dataset shape.
    pub sample: Sample,
    /// What the metric must answer.
    pub expect: Expect,
}

/// The expected answer to a [`Case`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The outcome.
    pub outcome: Status,
    /// The value, within 1e-6 (`null`: no value).
    #[serde(default, deserialize_with = "some_value")]
    pub value: Option<Option<f64>>,
    /// Labels that must be present with these values (others may be too).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Text the reason must contain.
    #[serde(default)]
    pub reason_contains: Option<String>,
}

/// `"value": null` means "no value", an absent key means "any value".
fn some_value<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<f64>>, D::Error> {
    Option::<f64>::deserialize(d).map(Some)
}

impl Expect {
    /// How `e` differs from the expectation (empty: it matches).
    pub fn mismatches(&self, e: &Evaluation) -> Vec<String> {
        let mut problems = Vec::new();
        if e.outcome != self.outcome {
            let why = e
                .reason
                .as_deref()
                .map_or(String::new(), |r| format!(": {r}"));
            problems.push(format!(
                "outcome {} (expected {}){why}",
                e.outcome, self.outcome
            ));
        }
        if let Some(want) = self.value {
            let close = match (e.value, want) {
                (Some(g), Some(w)) => (g - w).abs() < 1e-6,
                (None, None) => true,
                _ => false,
            };
            if !close {
                problems.push(format!("value {:?} (expected {want:?})", e.value));
            }
        }
        for (k, v) in &self.labels {
            if e.labels.get(k) != Some(v) {
                problems.push(format!("label {k}={:?} (expected {v:?})", e.labels.get(k)));
            }
        }
        if let Some(needle) = &self.reason_contains {
            let reason = e.reason.as_deref().unwrap_or_default();
            if !reason.contains(needle.as_str()) {
                problems.push(format!("reason {reason:?} lacks {needle:?}"));
            }
        }
        problems
    }
}

/// Reads an examples file; a bad line is an error naming the file and line.
/// Samples without an id get `<file stem>:<line>`.
pub fn load(path: &Path) -> Result<Vec<Case>, RecordError> {
    let err = |line: u64, message: String| RecordError {
        path: path.to_owned(),
        line,
        message,
        unreadable: false,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(0, format!("cannot read: {e}")))?;
    let stem = path
        .file_stem()
        .map_or_else(|| "case".into(), |s| s.to_string_lossy().into_owned());
    let mut cases = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let mut case: Case = serde_json::from_str(line).map_err(|e| err(n, e.to_string()))?;
        if case.sample.id.is_empty() {
            case.sample.id = format!("{stem}:{n}");
        }
        cases.push(case);
    }
    if cases.is_empty() {
        return Err(err(0, "no examples in the file".into()));
    }
    Ok(cases)
}

/// A case the metric got wrong.
#[derive(Debug, Clone)]
pub struct Mismatch {
    /// The case's name, or its sample id.
    pub case: String,
    /// What differed.
    pub problems: Vec<String>,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.case, self.problems.join("; "))
    }
}

/// A one-paragraph report of failed examples.
pub fn report(mismatches: &[Mismatch], total: usize) -> String {
    let shown: Vec<String> = mismatches
        .iter()
        .take(5)
        .map(|m| format!("  {m}"))
        .collect();
    let more = match mismatches.len().saturating_sub(5) {
        0 => String::new(),
        n => format!("\n  ... and {n} more"),
    };
    format!(
        "fails {} of its {total} examples:\n{}{more}",
        mismatches.len(),
        shown.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(outcome: Status, value: Option<f64>) -> Evaluation {
        Evaluation {
            sample_id: "s".into(),
            metric: "m".into(),
            name: "m".into(),
            version: "1".into(),
            digest: "d".into(),
            outcome,
            value,
            reason: Some("found a***@b***".into()),
            labels: BTreeMap::from([("kinds".into(), "email".into())]),
            duration_us: 1,
        }
    }

    #[test]
    fn expectations_compare_outcome_value_labels_and_reason() {
        let expect: Expect = serde_json::from_str(
            r#"{"outcome": "fail", "value": 1, "labels": {"kinds": "email"}, "reason_contains": "a***@"}"#,
        )
        .unwrap();
        assert!(expect.mismatches(&eval(Status::Fail, Some(1.0))).is_empty());
        let problems = expect.mismatches(&eval(Status::Pass, Some(0.0)));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("outcome pass (expected fail)"));
        // `null` means no value; absent means any.
        let none: Expect = serde_json::from_str(r#"{"outcome": "fail", "value": null}"#).unwrap();
        assert_eq!(none.mismatches(&eval(Status::Fail, Some(1.0))).len(), 1);
        let any: Expect = serde_json::from_str(r#"{"outcome": "fail"}"#).unwrap();
        assert!(any.mismatches(&eval(Status::Fail, Some(1.0))).is_empty());
    }

    #[test]
    fn a_bad_line_names_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cases.jsonl");
        std::fs::write(
            &path,
            "{\"sample\": {\"output\": \"x\"}, \"expect\": {\"outcome\": \"pass\"}}\n\n{\"sample\": {}, \"expect\": {\"outcome\": \"maybe\"}}\n",
        )
        .unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("cases.jsonl:3:"), "{err}");
        assert!(err.contains("unknown variant `maybe`"), "{err}");
    }
}
