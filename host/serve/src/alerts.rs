//! `caliper alerts`: Prometheus alerting rules generated from the thresholds
//! in `caliper.toml`, over the series `caliper serve` exports.
//!
//! Per metric at stage `alert` or `gate`, up to two rules: the share of
//! applicable outcomes that are not `pass` (the fail rate) and the share that
//! are errors of any kind (error, timeout, memory, trap, invalid). Thresholds
//! come from the metric's `alert` table, else from its `gate`
//! (`1 - min_pass_rate`, `max_error_rate`). Three service rules are always
//! added: a refused reload, a metric that does not answer, and ingest
//! backpressure.
//!
//! The output is YAML; every string is written double-quoted with JSON
//! escapes, which YAML reads the same way.

use std::fmt::Write;

use crate::telemetry::{EVALUATIONS, RELOADS};
use caliper_config::{AlertConfig, MetricConfig};
use caliper_engine::resolve::LoadPlan;
use caliper_types::stage::Stage;

/// Outcomes that count as errors.
const ERROR_OUTCOMES: &str = "error|timeout|memory|trap|invalid";

/// One alerting rule.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    /// The alert name.
    pub alert: String,
    /// The PromQL expression.
    pub expr: String,
    /// How long it must hold.
    pub for_: String,
    /// Labels (severity, metric, ...).
    pub labels: Vec<(String, String)>,
    /// Summary and description.
    pub annotations: Vec<(String, String)>,
}

/// A metric that has a stage worth alerting on but no threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// The metric instance.
    pub metric: String,
    /// Why no rule was made.
    pub why: String,
}

/// The rules for a resolved config (the stage in effect decides), and the
/// metrics that got none (with why).
pub fn rules(plan: &LoadPlan) -> (Vec<AlertRule>, Vec<Skipped>) {
    let mut rules = Vec::new();
    let mut skipped = Vec::new();
    for planned in &plan.metrics {
        let (m, name) = (&planned.entry, planned.name.clone());
        if planned.stage == Stage::Shadow {
            skipped.push(Skipped {
                metric: name,
                why: "stage is shadow (never alerts)".into(),
            });
            continue;
        }
        let alert = m.alert.clone().unwrap_or_default();
        let (fail, error) = thresholds(m, &alert);
        if fail.is_none() && error.is_none() {
            skipped.push(Skipped {
                metric: name,
                why: "no threshold: set alert.max_fail_rate / max_error_rate or a gate".into(),
            });
            continue;
        }
        let selector = format!("metric=\"{}\"", promql_escape(&name));
        let w = &alert.window;
        let applicable = format!("sum(rate({EVALUATIONS}{{{selector},outcome!=\"skip\"}}[{w}]))");
        let labels = vec![
            ("severity".to_owned(), alert.severity.clone()),
            ("metric".to_owned(), name.clone()),
            ("stage".to_owned(), planned.stage.as_str().to_owned()),
        ];
        if let Some(t) = fail {
            rules.push(AlertRule {
                alert: "CaliperMetricFailRateHigh".into(),
                expr: format!(
                    "sum(rate({EVALUATIONS}{{{selector},outcome!~\"pass|skip\"}}[{w}])) / {applicable} > {t}"
                ),
                for_: alert.for_.clone(),
                labels: labels.clone(),
                annotations: vec![
                    (
                        "summary".into(),
                        format!("{name}: more than {} of samples do not pass", pct(t)),
                    ),
                    (
                        "description".into(),
                        format!(
                            "The share of {name} outcomes that are not `pass` has been above {} \
                             for {} (currently {{{{ $value | humanizePercentage }}}}).",
                            pct(t),
                            alert.for_
                        ),
                    ),
                ],
            });
        }
        if let Some(t) = error {
            rules.push(AlertRule {
                alert: "CaliperMetricErrorRateHigh".into(),
                expr: format!(
                    "sum(rate({EVALUATIONS}{{{selector},outcome=~\"{ERROR_OUTCOMES}\"}}[{w}])) / {applicable} > {t}"
                ),
                for_: alert.for_.clone(),
                labels,
                annotations: vec![
                    (
                        "summary".into(),
                        format!("{name}: more than {} of evaluations fail to answer", pct(t)),
                    ),
                    (
                        "description".into(),
                        format!(
                            "{name} returned errors, timeouts, memory faults, traps or invalid \
                             output for more than {} of samples for {} (currently \
                             {{{{ $value | humanizePercentage }}}}).",
                            pct(t),
                            alert.for_
                        ),
                    ),
                ],
            });
        }
    }
    rules.extend(service_rules());
    (rules, skipped)
}

fn thresholds(m: &MetricConfig, alert: &AlertConfig) -> (Option<f64>, Option<f64>) {
    let gate = m.gate.as_ref();
    let fail = alert
        .max_fail_rate
        .or_else(|| gate.and_then(|g| g.min_pass_rate).map(|p| 1.0 - p));
    let error = alert
        .max_error_rate
        .or_else(|| gate.and_then(|g| g.max_error_rate));
    (fail.map(round), error.map(round))
}

use caliper_types::fmt::{pct_rounded as pct, round};

fn service_rules() -> Vec<AlertRule> {
    let rule =
        |alert: &str, expr: String, for_: &str, summary: &str, description: &str| AlertRule {
            alert: alert.into(),
            expr,
            for_: for_.into(),
            labels: vec![("severity".into(), "warning".into())],
            annotations: vec![
                ("summary".into(), summary.into()),
                ("description".into(), description.into()),
            ],
        };
    vec![
        rule(
            "CaliperReloadFailed",
            format!("increase({RELOADS}{{result=\"failed\"}}[10m]) > 0"),
            "0m",
            "A metric reload was refused",
            "{{ $labels.metric }} failed to reload; the previous version keeps serving. \
             See GET /v1/metrics for the error.",
        ),
        rule(
            "CaliperMetricDown",
            "caliper_metric_up == 0".into(),
            "5m",
            "A configured metric does not answer",
            "{{ $labels.metric }} has no version serving (failed to load or file deleted).",
        ),
        rule(
            "CaliperIngestBackpressure",
            "rate(caliper_ingest_samples_total{result=\"rejected\"}[5m]) > 0".into(),
            "10m",
            "Ingest requests are refused (queue full)",
            "The ingest queue is full and clients get 429: add workers or lower the sampling rate.",
        ),
    ]
}

/// Escapes a PromQL string literal's content.
fn promql_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A YAML double-quoted scalar (JSON string syntax, a subset of YAML's).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

/// The rules as a Prometheus rule file.
pub fn to_yaml(rules: &[AlertRule], source: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Generated by `caliper alerts` from {source}.");
    let _ = writeln!(
        out,
        "# Regenerate instead of editing; thresholds live in caliper.toml."
    );
    out.push_str("groups:\n  - name: \"caliper\"\n    rules:\n");
    for r in rules {
        let _ = writeln!(out, "      - alert: {}", quoted(&r.alert));
        let _ = writeln!(out, "        expr: {}", quoted(&r.expr));
        let _ = writeln!(out, "        for: {}", quoted(&r.for_));
        out.push_str("        labels:\n");
        for (k, v) in &r.labels {
            let _ = writeln!(out, "          {k}: {}", quoted(v));
        }
        out.push_str("        annotations:\n");
        for (k, v) in &r.annotations {
            let _ = writeln!(out, "          {k}: {}", quoted(v));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use caliper_config::Config;
    use std::path::Path;

    #[test]
    fn thresholds_come_from_alert_then_gate_and_shadow_is_skipped() {
        let config = Config::parse(
            r#"
            [[metric]]
            name = "language-match"
            path = "l.wasm"
            gate = { min_pass_rate = 0.98, max_error_rate = 0.01 }
            [[metric]]
            name = "pii"
            path = "p.wasm"
            stage = "alert"
            alert = { max_fail_rate = 0.001, for = "1m", severity = "page" }
            [[metric]]
            name = "new-idea"
            path = "n.wasm"
            stage = "shadow"
            gate = { min_pass_rate = 0.5 }
            [[metric]]
            name = "no-threshold"
            path = "x.wasm"
            "#,
            Path::new("."),
        )
        .unwrap();
        let plan = caliper_engine::resolve::resolve_config(
            config,
            Path::new("caliper.toml"),
            None,
            caliper_engine::resolve::Network::Offline,
            &caliper_engine::resolve::NoRegistry,
        )
        .unwrap();
        let (rules, skipped) = rules(&plan);
        let per_metric: Vec<(&str, &str, &str)> = rules
            .iter()
            .filter_map(|r| {
                let metric = r.labels.iter().find(|(k, _)| k == "metric")?;
                Some((r.alert.as_str(), metric.1.as_str(), r.for_.as_str()))
            })
            .collect();
        assert_eq!(
            per_metric,
            [
                ("CaliperMetricFailRateHigh", "language-match", "10m"),
                ("CaliperMetricErrorRateHigh", "language-match", "10m"),
                ("CaliperMetricFailRateHigh", "pii", "1m"),
            ]
        );
        assert!(rules[0].expr.ends_with("> 0.02"), "{}", rules[0].expr);
        assert!(
            rules[1]
                .expr
                .contains("outcome=~\"error|timeout|memory|trap|invalid\"")
        );
        assert_eq!(
            skipped
                .iter()
                .map(|s| s.metric.as_str())
                .collect::<Vec<_>>(),
            ["new-idea", "no-threshold"]
        );
        assert!(rules.iter().any(|r| r.alert == "CaliperReloadFailed"));
    }

    #[test]
    fn names_with_quotes_are_escaped_in_promql_and_yaml() {
        let rule = AlertRule {
            alert: "A".into(),
            expr: format!("x{{metric=\"{}\"}}", promql_escape("we\"ird\\")),
            for_: "1m".into(),
            labels: vec![],
            annotations: vec![],
        };
        assert_eq!(rule.expr, r#"x{metric="we\"ird\\"}"#);
        let yaml = to_yaml(&[rule], "caliper.toml");
        assert!(
            yaml.contains(r#"expr: "x{metric=\"we\\\"ird\\\\\"}""#),
            "{yaml}"
        );
    }
}
