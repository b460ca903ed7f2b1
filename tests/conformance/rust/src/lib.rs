//! The conformance metric of `tests/conformance/SPEC.md`, written with the
//! Rust SDK. Every SDK language implements the same spec; the suite requires
//! identical results.

use caliper_sdk::{Descriptor, Error, MetaValue, Metric, Outcome, Sample};
use serde::Deserialize;

/// The configuration of SPEC.md.
#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    banned: Vec<String>,
    min_words: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            banned: Vec::new(),
            min_words: 1,
        }
    }
}

/// The conformance metric.
pub struct Conformance {
    banned: Vec<(String, String)>,
    min_words: u64,
}

/// SPEC.md's ASCII whitespace (not Rust's `char::is_whitespace`).
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

fn words(text: &str) -> usize {
    text.split(is_space).filter(|w| !w.is_empty()).count()
}

impl Metric for Conformance {
    type Config = Config;

    fn describe() -> Descriptor {
        Descriptor::new("conformance", "1.0.0")
            .description("The cross-language conformance metric (tests/conformance/SPEC.md)")
            .owner("caliper")
            .goal("every SDK scores alike")
            .tags(["conformance", "rust"])
            .unit("ratio", true)
    }

    fn new(config: Config) -> Result<Self, Error> {
        if config.banned.iter().any(String::is_empty) {
            return Err(Error::new("`banned` terms must not be empty"));
        }
        Ok(Conformance {
            banned: config
                .banned
                .into_iter()
                .map(|t| (t.to_ascii_lowercase(), t))
                .collect(),
            min_words: config.min_words,
        })
    }

    fn evaluate(&self, sample: &Sample) -> Result<Outcome, Error> {
        let output = &sample.output;
        if output.contains("!error") {
            return Err(Error::new("asked to fail"));
        }
        if output.contains("!crash") {
            panic!("asked to crash");
        }
        let labels = labels(sample);
        let n = words(output);
        let outcome = if n == 0 {
            Outcome::skip("empty output")
        } else {
            let value = n as f64 / words(&sample.input).max(1) as f64;
            let lower = output.to_ascii_lowercase();
            if let Some((_, term)) = self.banned.iter().find(|(l, _)| lower.contains(l.as_str())) {
                Outcome::fail(value, format!("mentions {term}"))
            } else if (n as u64) < self.min_words {
                Outcome::fail(value, format!("too short: {n} < {}", self.min_words))
            } else {
                Outcome::pass(value)
            }
        };
        Ok(labels
            .into_iter()
            .fold(outcome, |o, (k, v)| o.with_label(k, v)))
    }
}

fn labels(sample: &Sample) -> Vec<(&'static str, String)> {
    let mut labels = vec![
        ("chars", sample.output.chars().count().to_string()),
        ("turns", sample.messages.len().to_string()),
        ("context", sample.context.len().to_string()),
        (
            "expected",
            if sample.expected.is_some() {
                "yes"
            } else {
                "no"
            }
            .to_owned(),
        ),
    ];
    if let Some(last) = sample.messages.last() {
        labels.push(("last_role", last.role.clone()));
    }
    let meta = &sample.metadata;
    if let Some(MetaValue::Text(lang)) = meta.get("lang") {
        labels.push(("lang", lang.clone()));
    }
    if let Some(MetaValue::Number(tokens)) = meta.get("tokens") {
        let level = if *tokens > 100.0 { "high" } else { "low" };
        labels.push(("tokens", level.to_owned()));
    }
    if let Some(MetaValue::Bool(flagged)) = meta.get("flagged") {
        labels.push(("flagged", flagged.to_string()));
    }
    labels.push(("meta_keys", meta.entries().len().to_string()));
    labels
}

caliper_sdk::export_metric!(Conformance);
