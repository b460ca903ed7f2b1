//! `response-length`: the output's length, in words or characters, lies
//! within configured bounds.
//!
//! Config: `{"unit": "words"|"chars", "min": 1, "max": 400}`. The value is the
//! length; the verdict fails when it is outside `[min, max]`.

use caliper_sdk::{Descriptor, Error, Metric, Outcome, Sample};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What to count.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Whitespace-separated words.
    Words,
    /// Unicode scalar values.
    Chars,
}

/// Configuration.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// What to count.
    pub unit: Unit,
    /// Smallest accepted length (inclusive).
    pub min: u64,
    /// Largest accepted length (inclusive); none means unbounded.
    pub max: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            unit: Unit::Words,
            min: 1,
            max: Some(400),
        }
    }
}

/// The metric.
pub struct ResponseLength {
    config: Config,
}

impl Metric for ResponseLength {
    type Config = Config;

    fn describe() -> Descriptor {
        Descriptor::new("response-length", env!("CARGO_PKG_VERSION"))
            .description("output length in words or characters lies within bounds")
            .owner("caliper-standard-metrics")
            .goal("answers are neither empty nor walls of text")
            .tags(["format", "length"])
            .unit("words or chars (see config.unit)", false)
            .config_schema_of::<Config>()
    }

    fn new(config: Config) -> Result<Self, Error> {
        if let Some(max) = config.max
            && max < config.min
        {
            return Err(Error::new(format!(
                "max ({max}) must not be smaller than min ({})",
                config.min
            )));
        }
        Ok(ResponseLength { config })
    }

    fn evaluate(&self, sample: &Sample) -> Result<Outcome, Error> {
        let (len, unit) = match self.config.unit {
            Unit::Words => (sample.output.split_whitespace().count() as u64, "words"),
            Unit::Chars => (sample.output.chars().count() as u64, "chars"),
        };
        let too_short = len < self.config.min;
        let too_long = self.config.max.is_some_and(|max| len > max);
        let outcome = Outcome::check(!too_short && !too_long, len as f64);
        Ok(if too_short {
            outcome.with_reason(format!("{len} {unit}, below min {}", self.config.min))
        } else if too_long {
            let max = self.config.max.unwrap_or_default();
            outcome.with_reason(format!("{len} {unit}, above max {max}"))
        } else {
            outcome
        }
        .with_label("unit", unit))
    }
}

caliper_sdk::export_metric!(ResponseLength);

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(config: &str) -> ResponseLength {
        caliper_sdk::configure(config).unwrap()
    }

    #[test]
    fn words_within_bounds_pass() {
        let o = metric(r#"{"min": 2, "max": 3}"#)
            .evaluate(&Sample::with_output("one  two\nthree"))
            .unwrap();
        assert!(o.is_pass());
        assert_eq!(o.value, Some(3.0));
    }

    #[test]
    fn too_long_and_too_short_fail_with_reason() {
        let m = metric(r#"{"min": 2, "max": 3}"#);
        let long = m.evaluate(&Sample::with_output("a b c d")).unwrap();
        assert!(long.is_fail());
        assert_eq!(long.reason.as_deref(), Some("4 words, above max 3"));
        let short = m.evaluate(&Sample::with_output("")).unwrap();
        assert!(short.is_fail());
        assert_eq!(short.value, Some(0.0));
    }

    #[test]
    fn chars_count_unicode_scalars() {
        let o = metric(r#"{"unit": "chars", "min": 0, "max": 5}"#)
            .evaluate(&Sample::with_output("Grüße"))
            .unwrap();
        assert!(o.is_pass());
        assert_eq!(o.value, Some(5.0));
    }

    #[test]
    fn inverted_bounds_are_a_config_error() {
        let err = caliper_sdk::configure::<ResponseLength>(r#"{"min": 5, "max": 1}"#)
            .err()
            .unwrap();
        assert!(err.message().contains("max (1)"));
        let err = caliper_sdk::configure::<ResponseLength>(r#"{"mx": 1}"#)
            .err()
            .unwrap();
        assert!(err.message().contains("unknown field `mx`"), "{err}");
    }
}
