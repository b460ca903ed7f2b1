//! The figures of one metric (in one segment), as every report shows them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The figures of one metric (in one segment), as reported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Evaluations attempted (every outcome, skips included).
    pub evaluated: u64,
    /// Evaluations minus skips: the denominator of the rates.
    pub applicable: u64,
    /// Samples the metric's `when` filter excluded.
    pub filtered: u64,
    /// Passes.
    pub pass: u64,
    /// Fails.
    pub fail: u64,
    /// Skips (not applicable).
    pub skip: u64,
    /// Failures of the metric itself (error + timeout + memory + trap +
    /// invalid).
    pub errors: u64,
    /// Non-zero error counts by kind.
    pub error_kinds: BTreeMap<String, u64>,
    /// pass / applicable.
    pub pass_rate: Option<f64>,
    /// errors / applicable.
    pub error_rate: Option<f64>,
    /// Mean value.
    pub mean: Option<f64>,
    /// Median value.
    pub p50: Option<f64>,
    /// 95th percentile value.
    pub p95: Option<f64>,
    /// Median evaluation time (µs).
    pub duration_p50_us: Option<f64>,
    /// 95th percentile evaluation time (µs).
    pub duration_p95_us: Option<f64>,
}
