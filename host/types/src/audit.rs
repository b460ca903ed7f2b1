//! The `[audit]` section: the window and thresholds of `caliper audit`
//! (read from the config, applied to the run history).

use serde::{Deserialize, Serialize};

use crate::date::Date;

/// Runs in the window when neither `runs` nor `since_days` is set.
pub const DEFAULT_RUNS: usize = 10;

/// Window and thresholds of the audit: the `[audit]` section of
/// `caliper.toml`; `caliper audit` flags override each field.
///
/// ```toml
/// [audit]
/// runs = 10                  # the last 10 runs (default when since_days is unset)
/// since_days = 30            # runs of the last 30 days (with runs: both limits)
/// silent_min_runs = 5        # silent: no fail in at least this many runs
/// noisy_max_fail_rate = 0.5  # noisy: fails more than half of its verdicts
/// flapping_max_change = 0.3  # noisy: fail rate moves > 30 points run to run
/// max_error_rate = 0.02      # erroring: more than 2% errors
/// redundant_min_phi = 0.95   # redundant: |phi| with another metric >= 0.95
/// redundant_min_samples = 50 # ... on at least 50 shared samples
/// slow_p95_ms = 100          # slow: p95 evaluation time above 100 ms
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The window holds at most this many of the latest runs [default: 10
    /// when `since_days` is unset, else unlimited].
    pub runs: Option<usize>,
    /// The window holds only runs started in the last this many days.
    pub since_days: Option<u32>,
    /// Silent: no fail in at least this many runs of the window.
    pub silent_min_runs: usize,
    /// Noisy: fail rate (fails among pass/fail verdicts) above this.
    pub noisy_max_fail_rate: f64,
    /// Noisy (flapping): mean absolute change of the per-run fail rate
    /// between consecutive runs above this (0.3 = 30 points).
    pub flapping_max_change: f64,
    /// Erroring: share of errors among applicable evaluations above this.
    pub max_error_rate: f64,
    /// Redundant: |phi| of the fail indicators of two metrics at least this.
    pub redundant_min_phi: f64,
    /// Redundant: fewest shared (run, sample) verdicts for phi to count.
    pub redundant_min_samples: u64,
    /// Slow: p95 evaluation time above this, in milliseconds.
    pub slow_p95_ms: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            runs: None,
            since_days: None,
            silent_min_runs: 5,
            noisy_max_fail_rate: 0.5,
            flapping_max_change: 0.3,
            max_error_rate: 0.02,
            redundant_min_phi: 0.95,
            redundant_min_samples: 50,
            slow_p95_ms: 100.0,
        }
    }
}

impl Settings {
    /// Checks the ranges; the error names the key.
    pub fn validate(&self) -> Result<(), String> {
        for (key, v) in [
            ("noisy_max_fail_rate", self.noisy_max_fail_rate),
            ("flapping_max_change", self.flapping_max_change),
            ("max_error_rate", self.max_error_rate),
            ("redundant_min_phi", self.redundant_min_phi),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{key} = {v} is not a fraction between 0 and 1"));
            }
        }
        if !(self.slow_p95_ms.is_finite() && self.slow_p95_ms >= 0.0) {
            return Err(format!(
                "slow_p95_ms = {} is not a duration in milliseconds",
                self.slow_p95_ms
            ));
        }
        if self.runs == Some(0) || self.silent_min_runs == 0 || self.since_days == Some(0) {
            return Err("runs, since_days and silent_min_runs must be positive".into());
        }
        Ok(())
    }

    /// Most runs in the window, if limited.
    pub fn run_limit(&self) -> Option<usize> {
        match (self.runs, self.since_days) {
            (None, None) => Some(DEFAULT_RUNS),
            (runs, _) => runs,
        }
    }

    /// The first day of the window as of `now`, if limited by days.
    pub fn since(&self, now: Date) -> Option<Date> {
        self.since_days.map(|d| now.minus_days(i64::from(d)))
    }
}
