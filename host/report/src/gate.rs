//! CI gates: thresholds on a metric's figures that decide the exit code.

use serde::{Deserialize, Serialize};

use crate::figures::Figures;
use caliper_types::thresholds::Gate;

/// The verdict of one gate check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateResult {
    /// The metric instance (or `dataset` for the input check).
    pub metric: String,
    /// The check, e.g. `min_pass_rate`.
    pub check: String,
    /// Whether it held.
    pub passed: bool,
    /// One line for humans, e.g. `pass rate 91.2% < min 95.0%`.
    pub message: String,
}

/// A fraction as a percentage with one decimal, e.g. `91.2%`.
use caliper_types::fmt::pct;

fn num(v: f64) -> String {
    format!("{v:.4}")
}

/// One threshold of a gate, as data.
struct Bound {
    check: &'static str,
    name: &'static str,
    value: Option<f64>,
    bound: Option<f64>,
    is_min: bool,
    show: fn(f64) -> String,
}

impl Bound {
    fn new(
        check: &'static str,
        name: &'static str,
        value: Option<f64>,
        bound: Option<f64>,
        is_min: bool,
        show: fn(f64) -> String,
    ) -> Self {
        Bound {
            check,
            name,
            value,
            bound,
            is_min,
            show,
        }
    }
}

/// Checks `gate` against a metric's figures.
pub fn check(metric: &str, gate: &Gate, f: &Figures) -> Vec<GateResult> {
    let checks = [
        Bound::new(
            "min_pass_rate",
            "pass rate",
            f.pass_rate,
            gate.min_pass_rate,
            true,
            pct,
        ),
        Bound::new(
            "max_error_rate",
            "error rate",
            f.error_rate,
            gate.max_error_rate,
            false,
            pct,
        ),
        Bound::new("min_mean", "mean", f.mean, gate.min_mean, true, num),
        Bound::new("max_mean", "mean", f.mean, gate.max_mean, false, num),
    ];
    checks
        .into_iter()
        .filter_map(
            |Bound {
                 check,
                 name,
                 value,
                 bound,
                 is_min,
                 show,
             }| {
                let bound = bound?;
                let (passed, message) = match value {
                    None => (
                        gate.allow_empty,
                        format!("no applicable samples to check the {name} against"),
                    ),
                    Some(v) => {
                        let passed = if is_min { v >= bound } else { v <= bound };
                        let op = match (passed, is_min) {
                            (true, true) => ">=",
                            (true, false) => "<=",
                            (false, true) => "<",
                            (false, false) => ">",
                        };
                        let kind = if is_min { "min" } else { "max" };
                        (
                            passed,
                            format!("{name} {} {op} {kind} {}", show(v), show(bound)),
                        )
                    }
                };
                Some(GateResult {
                    metric: metric.to_owned(),
                    check: check.to_owned(),
                    passed,
                    message,
                })
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(pass: u64, fail: u64, errors: u64) -> Figures {
        let applicable = pass + fail + errors;
        Figures {
            evaluated: applicable,
            applicable,
            filtered: 0,
            pass,
            fail,
            skip: 0,
            errors,
            error_kinds: Default::default(),
            pass_rate: (applicable > 0).then(|| pass as f64 / applicable as f64),
            error_rate: (applicable > 0).then(|| errors as f64 / applicable as f64),
            mean: Some(0.5),
            p50: None,
            p95: None,
            duration_p50_us: None,
            duration_p95_us: None,
        }
    }

    #[test]
    fn pass_rate_and_error_rate_gates() {
        let gate = Gate {
            min_pass_rate: Some(0.9),
            max_error_rate: Some(0.0),
            ..Gate::default()
        };
        let r = check("m", &gate, &figures(9, 0, 1));
        assert!(r[0].passed);
        assert_eq!(r[0].message, "pass rate 90.0% >= min 90.0%");
        assert!(!r[1].passed, "{r:?}");
        assert_eq!(r[1].message, "error rate 10.0% > max 0.0%");
        let r = check("m", &gate, &figures(17, 3, 0));
        assert!(!r[0].passed);
        assert_eq!(r[0].message, "pass rate 85.0% < min 90.0%");
        assert!(r[1].passed, "{r:?}");
    }

    #[test]
    fn empty_metrics_fail_unless_allowed() {
        let mut gate = Gate {
            min_pass_rate: Some(0.5),
            ..Gate::default()
        };
        assert!(!check("m", &gate, &figures(0, 0, 0))[0].passed);
        gate.allow_empty = true;
        assert!(check("m", &gate, &figures(0, 0, 0))[0].passed);
    }
}
