//! What one evaluation of one metric on one sample produced.
//!
//! Architecture invariant: every evaluation the runner attempts yields
//! exactly one [`Evaluation`]; failures of the plugin are outcomes
//! ([`Status::Error`], [`Status::Timeout`], ...), never dropped.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The outcome of one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The sample meets the metric's expectation.
    Pass,
    /// The sample violates it.
    Fail,
    /// The metric does not apply to this sample.
    Skip,
    /// The metric returned an error for this sample.
    Error,
    /// The evaluation ran past its deadline or fuel budget.
    Timeout,
    /// The metric exceeded its memory cap.
    Memory,
    /// The metric trapped (e.g. a panic), or could not be instantiated.
    Trap,
    /// The metric returned something the contract forbids (NaN value,
    /// oversize reason or labels).
    Invalid,
}

impl Status {
    /// All statuses, in report order.
    pub const ALL: [Status; 8] = [
        Status::Pass,
        Status::Fail,
        Status::Skip,
        Status::Error,
        Status::Timeout,
        Status::Memory,
        Status::Trap,
        Status::Invalid,
    ];

    /// Whether this is a failure of the metric itself rather than a verdict
    /// on the sample.
    pub fn is_error(self) -> bool {
        !matches!(self, Status::Pass | Status::Fail | Status::Skip)
    }

    /// The lower-case name used in JSON and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skip => "skip",
            Status::Error => "error",
            Status::Timeout => "timeout",
            Status::Memory => "memory",
            Status::Trap => "trap",
            Status::Invalid => "invalid",
        }
    }

    /// The status [`Status::as_str`] names, if `name` is one.
    pub fn parse(name: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One metric's result on one sample: a line of the results JSONL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The sample's id.
    pub sample_id: String,
    /// The metric instance name (from `caliper.toml`).
    pub metric: String,
    /// The metric's own name (from its descriptor).
    pub name: String,
    /// The metric's version.
    pub version: String,
    /// `sha256:<hex>` of the component.
    pub digest: String,
    /// The outcome.
    pub outcome: Status,
    /// The value, if any (always finite).
    pub value: Option<f64>,
    /// The metric's reason, or the cause of a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Labels.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub labels: BTreeMap<String, String>,
    /// Wall time of the evaluation in microseconds (including instantiation
    /// when one was needed).
    pub duration_us: u64,
}
