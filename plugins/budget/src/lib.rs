//! `budget`: latency, token usage and cost stay within limits, read from the
//! sample's metadata.
//!
//! Config: `{"max_latency_ms": 2000, "max_tokens": 1500, "max_cost_usd": 0.01}`
//! (at least one limit), plus the metadata keys to read. The value is the
//! largest fraction of a budget used (1.3 = 30% over); the verdict fails when
//! any limit is exceeded. A limit whose field is absent is not checked; a
//! sample with none of the configured fields is skipped.

use caliper_sdk::{Descriptor, Error, MetaValue, Metadata, Metric, Outcome, Sample};
use schemars::JsonSchema;
use serde::Deserialize;

/// Configuration: at least one of the three limits; an unset limit is not
/// checked.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(extend("anyOf" = [
    {"required": ["max_latency_ms"]},
    {"required": ["max_tokens"]},
    {"required": ["max_cost_usd"]}
]))]
pub struct Config {
    /// Largest accepted latency, in milliseconds.
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub max_latency_ms: Option<f64>,
    /// Largest accepted total token count.
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub max_tokens: Option<f64>,
    /// Largest accepted cost, in US dollars.
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub max_cost_usd: Option<f64>,
    /// Metadata key holding the latency in milliseconds.
    #[schemars(length(min = 1))]
    pub latency_key: String,
    /// Metadata key holding the total token count.
    #[schemars(length(min = 1))]
    pub tokens_key: String,
    /// Metadata key holding the prompt tokens; with `completion_tokens_key`
    /// the fallback when the total is absent.
    #[schemars(length(min = 1))]
    pub prompt_tokens_key: String,
    /// Metadata key holding the completion tokens.
    #[schemars(length(min = 1))]
    pub completion_tokens_key: String,
    /// Metadata key holding the cost in US dollars.
    #[schemars(length(min = 1))]
    pub cost_key: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_latency_ms: None,
            max_tokens: None,
            max_cost_usd: None,
            latency_key: "latency_ms".to_owned(),
            tokens_key: "total_tokens".to_owned(),
            prompt_tokens_key: "prompt_tokens".to_owned(),
            completion_tokens_key: "completion_tokens".to_owned(),
            cost_key: "cost_usd".to_owned(),
        }
    }
}

/// One configured limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Limit {
    Latency,
    Tokens,
    Cost,
}

impl Limit {
    /// The label key and the name used in reasons.
    fn name(self) -> &'static str {
        match self {
            Limit::Latency => "latency_ms",
            Limit::Tokens => "tokens",
            Limit::Cost => "cost_usd",
        }
    }
}

/// The metric.
pub struct Budget {
    limits: Vec<(Limit, f64)>,
    config: Config,
}

impl Metric for Budget {
    type Config = Config;

    fn describe() -> Descriptor {
        Descriptor::new("budget", env!("CARGO_PKG_VERSION"))
            .description("latency, token usage and cost stay within configured limits")
            .owner("caliper-standard-metrics")
            .goal("answers stay fast and affordable")
            .tags(["cost", "latency", "tokens", "operations"])
            .unit("fraction of budget", false)
            .config_schema_of::<Config>()
    }

    fn new(config: Config) -> Result<Self, Error> {
        let mut limits = Vec::new();
        for (kind, field, limit) in [
            (Limit::Latency, "max_latency_ms", config.max_latency_ms),
            (Limit::Tokens, "max_tokens", config.max_tokens),
            (Limit::Cost, "max_cost_usd", config.max_cost_usd),
        ] {
            if let Some(limit) = limit {
                if !(limit.is_finite() && limit > 0.0) {
                    return Err(Error::new(format!(
                        "{field} must be a positive number, got {limit}"
                    )));
                }
                limits.push((kind, limit));
            }
        }
        if limits.is_empty() {
            return Err(Error::new(
                "configure at least one limit: max_latency_ms, max_tokens or max_cost_usd",
            ));
        }
        for (field, key) in [
            ("latency_key", &config.latency_key),
            ("tokens_key", &config.tokens_key),
            ("prompt_tokens_key", &config.prompt_tokens_key),
            ("completion_tokens_key", &config.completion_tokens_key),
            ("cost_key", &config.cost_key),
        ] {
            if key.trim().is_empty() {
                return Err(Error::new(format!("{field} must not be empty")));
            }
        }
        Ok(Budget { limits, config })
    }

    fn evaluate(&self, sample: &Sample) -> Result<Outcome, Error> {
        let meta = &sample.metadata;
        let mut measured = Vec::new();
        for &(kind, limit) in &self.limits {
            if let Some(used) = self.used(meta, kind)? {
                measured.push((kind, used, limit));
            }
        }
        if measured.is_empty() {
            let keys: Vec<String> = self.limits.iter().map(|&(b, _)| self.keys_of(b)).collect();
            return Ok(Outcome::skip(format!(
                "no budget field in metadata (looked for {})",
                keys.join(", ")
            )));
        }
        let worst = measured
            .iter()
            .map(|&(_, used, limit)| used / limit)
            .fold(0.0_f64, f64::max);
        if !worst.is_finite() {
            let fields: Vec<String> = measured
                .iter()
                .map(|&(b, used, _)| format!("{} {}", b.name(), show(used)))
                .collect();
            return Err(Error::new(format!(
                "metadata out of range: {}",
                fields.join(", ")
            )));
        }
        let over: Vec<String> = measured
            .iter()
            .filter(|&&(_, used, limit)| used > limit)
            .map(|&(b, used, limit)| {
                format!(
                    "{} {}/{} ({:.0}%)",
                    b.name(),
                    show(used),
                    show(limit),
                    used / limit * 100.0
                )
            })
            .collect();
        let mut outcome = Outcome::check(over.is_empty(), worst);
        if !over.is_empty() {
            outcome = outcome.with_reason(format!("over budget: {}", over.join(", ")));
        }
        for (kind, used, _) in measured {
            outcome = outcome.with_label(kind.name(), show(used));
        }
        Ok(outcome)
    }
}

caliper_sdk::export_metric!(Budget);

impl Budget {
    /// The amount used of `limit`, `None` when its field is absent.
    fn used(&self, meta: &Metadata, limit: Limit) -> Result<Option<f64>, Error> {
        let c = &self.config;
        match limit {
            Limit::Latency => read(meta, &c.latency_key),
            Limit::Cost => read(meta, &c.cost_key),
            Limit::Tokens => match read(meta, &c.tokens_key)? {
                Some(total) => Ok(Some(total)),
                None => {
                    let prompt = read(meta, &c.prompt_tokens_key)?;
                    let completion = read(meta, &c.completion_tokens_key)?;
                    Ok(prompt.zip(completion).map(|(p, c)| p + c))
                }
            },
        }
    }

    /// The metadata key(s) a budget reads, for the skip reason.
    fn keys_of(&self, limit: Limit) -> String {
        let c = &self.config;
        match limit {
            Limit::Latency => c.latency_key.clone(),
            Limit::Cost => c.cost_key.clone(),
            Limit::Tokens => format!(
                "{} or {}+{}",
                c.tokens_key, c.prompt_tokens_key, c.completion_tokens_key
            ),
        }
    }
}

/// A number as people write it: plain for everyday magnitudes, scientific
/// beyond (so labels stay short whatever the metadata holds).
fn show(n: f64) -> String {
    if n != 0.0 && !(1e-6..1e15).contains(&n.abs()) {
        format!("{n:e}")
    } else {
        n.to_string()
    }
}

/// A non-negative number under `key`; `None` when the key is missing, null
/// or a blank string (an empty CSV cell). Anything else that is not a
/// finite number `>= 0` is an error: the sample cannot be scored.
fn read(meta: &Metadata, key: &str) -> Result<Option<f64>, Error> {
    match meta.get(key) {
        None | Some(MetaValue::Null) => return Ok(None),
        Some(MetaValue::Text(t)) if t.trim().is_empty() => return Ok(None),
        Some(_) => {}
    }
    match meta.number(key) {
        Some(n) if n.is_finite() && n >= 0.0 => Ok(Some(n)),
        _ => {
            let got = match meta.get(key) {
                Some(MetaValue::Number(n)) => n.to_string(),
                Some(MetaValue::Text(t)) => format!("{t:?}"),
                Some(MetaValue::Bool(b)) => b.to_string(),
                Some(MetaValue::Json(j)) => j.clone(),
                Some(MetaValue::Null) | None => "null".to_owned(),
            };
            Err(Error::new(format!(
                "metadata {key} must be a non-negative number, got {got}"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MetaValue::{Number, Text};

    fn metric(config: &str) -> Budget {
        caliper_sdk::configure(config).unwrap()
    }

    fn config_error(config: &str) -> String {
        caliper_sdk::configure::<Budget>(config)
            .err()
            .unwrap()
            .message()
            .to_owned()
    }

    const ALL: &str = r#"{"max_latency_ms": 2000, "max_tokens": 1000, "max_cost_usd": 0.01}"#;

    #[test]
    fn within_budget_passes_with_largest_fraction() {
        let o = metric(ALL)
            .evaluate(
                &Sample::with_output("x")
                    .meta("latency_ms", Number(1500.0))
                    .meta("total_tokens", Number(250.0))
                    .meta("cost_usd", Number(0.002)),
            )
            .unwrap();
        assert!(o.is_pass());
        assert_eq!(o.value, Some(0.75));
        assert_eq!(o.reason, None);
        assert_eq!(o.label("latency_ms"), Some("1500"));
        assert_eq!(o.label("tokens"), Some("250"));
        assert_eq!(o.label("cost_usd"), Some("0.002"));
    }

    #[test]
    fn exceeded_limits_fail_and_are_named() {
        let o = metric(ALL)
            .evaluate(
                &Sample::with_output("x")
                    .meta("latency_ms", Number(2600.0))
                    .meta("total_tokens", Number(900.0))
                    .meta("cost_usd", Number(0.012)),
            )
            .unwrap();
        assert!(o.is_fail());
        assert!((o.value.unwrap() - 1.3).abs() < 1e-12);
        assert_eq!(
            o.reason.as_deref(),
            Some("over budget: latency_ms 2600/2000 (130%), cost_usd 0.012/0.01 (120%)")
        );
    }

    #[test]
    fn exactly_at_the_limit_passes() {
        let o = metric(r#"{"max_tokens": 100}"#)
            .evaluate(&Sample::with_output("x").meta("total_tokens", Number(100.0)))
            .unwrap();
        assert!(o.is_pass());
        assert_eq!(o.value, Some(1.0));
    }

    #[test]
    fn tokens_fall_back_to_prompt_plus_completion() {
        let m = metric(r#"{"max_tokens": 100}"#);
        let o = m
            .evaluate(
                &Sample::with_output("x")
                    .meta("prompt_tokens", Number(80.0))
                    .meta("completion_tokens", Text(" 40 ".into())),
            )
            .unwrap();
        assert!(o.is_fail());
        assert_eq!(o.value, Some(1.2));
        assert_eq!(o.label("tokens"), Some("120"));
        // Only one half of the sum is not enough.
        let o = m
            .evaluate(&Sample::with_output("x").meta("prompt_tokens", Number(80.0)))
            .unwrap();
        assert!(o.is_skip());
    }

    #[test]
    fn absent_fields_are_not_checked_and_none_present_skips() {
        let m = metric(ALL);
        let o = m
            .evaluate(&Sample::with_output("x").meta("cost_usd", Text("0.005".into())))
            .unwrap();
        assert!(o.is_pass());
        assert_eq!(o.value, Some(0.5));
        assert_eq!(o.label("latency_ms"), None);
        let o = m
            .evaluate(
                &Sample::with_output("x")
                    .meta("latency_ms", MetaValue::Null)
                    .meta("cost_usd", Text("".into())),
            )
            .unwrap();
        assert!(o.is_skip());
        assert_eq!(
            o.reason.as_deref(),
            Some(
                "no budget field in metadata (looked for latency_ms, total_tokens or prompt_tokens+completion_tokens, cost_usd)"
            )
        );
    }

    #[test]
    fn unconfigured_limits_ignore_present_fields() {
        let o = metric(r#"{"max_cost_usd": 1}"#)
            .evaluate(&Sample::with_output("x").meta("latency_ms", Number(99999.0)))
            .unwrap();
        assert!(o.is_skip());
    }

    #[test]
    fn custom_keys_are_read() {
        let o = metric(r#"{"max_latency_ms": 100, "latency_key": "duration"}"#)
            .evaluate(
                &Sample::with_output("x")
                    .meta("duration", Number(150.0))
                    .meta("latency_ms", Number(1.0)),
            )
            .unwrap();
        assert!(o.is_fail());
        assert_eq!(o.value, Some(1.5));
    }

    #[test]
    fn malformed_metadata_is_an_error() {
        let m = metric(r#"{"max_latency_ms": 100}"#);
        for bad in [
            Text("fast".into()),
            Number(-1.0),
            Text("NaN".into()),
            MetaValue::Bool(true),
        ] {
            let err = m
                .evaluate(&Sample::with_output("x").meta("latency_ms", bad.clone()))
                .err()
                .unwrap();
            assert!(
                err.message()
                    .contains("latency_ms must be a non-negative number"),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn huge_values_stay_short_and_overflow_is_an_error() {
        let m = metric(r#"{"max_latency_ms": 1000}"#);
        let o = m
            .evaluate(&Sample::with_output("x").meta("latency_ms", Number(1e300)))
            .unwrap();
        assert_eq!(o.label("latency_ms"), Some("1e300"));
        assert!(o.reason.unwrap().contains("latency_ms 1e300/1000"));
        let m = metric(r#"{"max_latency_ms": 0.5}"#);
        let e = m
            .evaluate(&Sample::with_output("x").meta("latency_ms", Number(1e308)))
            .unwrap_err();
        assert_eq!(e.message(), "metadata out of range: latency_ms 1e308");
    }

    #[test]
    fn bad_configs_are_rejected() {
        assert!(config_error("{}").contains("at least one limit"));
        assert!(config_error(r#"{"max_tokens": 0}"#).contains("max_tokens must be a positive"));
        assert!(config_error(r#"{"max_cost_usd": -1}"#).contains("positive"));
        assert!(config_error(r#"{"max_tokens": 10, "cost_key": " "}"#).contains("cost_key"));
        assert!(config_error(r#"{"max_token": 10}"#).contains("unknown field `max_token`"));
    }
}
