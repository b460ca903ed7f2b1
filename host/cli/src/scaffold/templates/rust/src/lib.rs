//! `{{name}}`: a Caliper micro metric. It fails answers longer than
//! `max_words` words and skips empty ones; edit `evaluate` to check what your
//! team cares about.

use caliper_sdk::{Descriptor, Error, Metric, Outcome, Sample};
use schemars::JsonSchema;
use serde::Deserialize;

/// The metric, configured.
pub struct {{Type}} {
    max_words: usize,
}

/// Configuration (`config = { max_words = 50 }` in caliper.toml).
#[derive(Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Most words an answer may have.
    #[schemars(range(min = 1))]
    max_words: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { max_words: 100 }
    }
}

impl Metric for {{Type}} {
    type Config = Config;

    fn describe() -> Descriptor {
        Descriptor::new("{{name}}", "0.1.0")
            .description("Answers stay within a word budget")
            .owner("your-team")
            .goal("Say which business goal this metric protects")
            .unit("words", false)
            .config_schema_of::<Config>()
    }

    fn new(config: Config) -> Result<Self, Error> {
        if config.max_words == 0 {
            return Err(Error::new("max_words must be at least 1"));
        }
        Ok({{Type}} {
            max_words: config.max_words,
        })
    }

    fn evaluate(&self, sample: &Sample) -> Result<Outcome, Error> {
        let words = sample.output.split_whitespace().count();
        if words == 0 {
            return Ok(Outcome::skip("empty output"));
        }
        Ok(Outcome::check(words <= self.max_words, words as f64)
            .with_reason(format!("{words} words (max {})", self.max_words)))
    }
}

caliper_sdk::export_metric!({{Type}});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_answers_fail() {
        let metric: {{Type}} = caliper_sdk::configure(r#"{"max_words": 3}"#).unwrap();
        let outcome = metric.evaluate(&Sample::with_output("one two three four")).unwrap();
        assert!(outcome.is_fail());
    }

    #[test]
    fn a_zero_budget_is_refused() {
        assert!(caliper_sdk::configure::<{{Type}}>(r#"{"max_words": 0}"#).is_err());
    }
}
