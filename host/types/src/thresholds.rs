//! The thresholds that decide an exit code: a run's [`Gate`] and the
//! [`RegressionGate`] of a before/after comparison.

use serde::{Deserialize, Serialize};

/// Thresholds that fail a run (exit code 1). Rates are fractions in [0, 1]
/// of the applicable outcomes (everything but `skip`); errors of any kind
/// (error, timeout, memory, trap, invalid) count against the pass rate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Gate {
    /// Smallest acceptable pass rate.
    pub min_pass_rate: Option<f64>,
    /// Largest acceptable error rate.
    pub max_error_rate: Option<f64>,
    /// Smallest acceptable mean value.
    pub min_mean: Option<f64>,
    /// Largest acceptable mean value.
    pub max_mean: Option<f64>,
    /// Pass the gate when no sample was applicable (default: fail, since a
    /// metric that never ran proves nothing).
    pub allow_empty: bool,
}

/// The regression gate of `caliper compare`: fails when the pass rate on
/// the matched samples drops by more than `max_drop` **and** the drop is
/// significant (exact McNemar test, p < `alpha`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegressionGate {
    /// Tolerated drop of the pass rate, as a fraction (0.02 = 2 points).
    pub max_drop: f64,
    /// Significance level.
    pub alpha: f64,
    /// Pass when no sample is applicable on both sides.
    pub allow_empty: bool,
}

impl Default for RegressionGate {
    fn default() -> Self {
        RegressionGate {
            max_drop: 0.0,
            alpha: 0.05,
            allow_empty: false,
        }
    }
}
