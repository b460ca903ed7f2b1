//! Which samples a metric applies to: a metadata filter.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::sample::Sample;

/// A metadata filter: the metric applies to a sample only when every key
/// matches. A value matches when the metadata value (as text) equals it; a
/// list matches any of its values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct When(pub BTreeMap<String, WhenValue>);

/// One condition of a [`When`] filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WhenValue {
    /// Equal to this scalar.
    One(Scalar),
    /// Equal to any of these.
    Any(Vec<Scalar>),
}

/// A scalar in a filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    /// A string.
    Text(String),
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
}

impl Scalar {
    fn matches(&self, text: &str) -> bool {
        match self {
            Scalar::Text(s) => s == text,
            Scalar::Bool(b) => text == if *b { "true" } else { "false" },
            Scalar::Int(i) => text.parse::<f64>().is_ok_and(|v| v == *i as f64),
            Scalar::Float(f) => text.parse::<f64>().is_ok_and(|v| v == *f),
        }
    }
}

impl When {
    /// Whether a sample passes the filter. An empty filter passes all.
    pub fn matches(&self, sample: &Sample) -> bool {
        self.0.iter().all(|(key, cond)| {
            let Some(text) = sample.metadata_text(key) else {
                return false;
            };
            match cond {
                WhenValue::One(s) => s.matches(&text),
                WhenValue::Any(list) => list.iter().any(|s| s.matches(&text)),
            }
        })
    }

    /// Whether the filter has no conditions.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(meta: serde_json::Value) -> Sample {
        Sample {
            metadata: meta.as_object().unwrap().clone().into(),
            ..Sample::default()
        }
    }

    #[test]
    fn when_matches_scalars_lists_and_missing_keys() {
        let when: When = serde_json::from_value(serde_json::json!({
            "lang": ["de", "fr"], "premium": true, "tier": 2
        }))
        .unwrap();
        assert!(when.matches(&sample(
            serde_json::json!({"lang": "de", "premium": true, "tier": 2})
        )));
        assert!(!when.matches(&sample(
            serde_json::json!({"lang": "en", "premium": true, "tier": 2})
        )));
        assert!(!when.matches(&sample(serde_json::json!({"lang": "de", "tier": 2}))));
        assert!(when.matches(&sample(
            serde_json::json!({"lang": "fr", "premium": true, "tier": "2"})
        )));
        assert!(When::default().matches(&Sample::default()));
    }
}
