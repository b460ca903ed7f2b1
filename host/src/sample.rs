//! Caliper's own sample type (what a dataset line becomes) and its
//! conversion into the form the contract passes to metrics.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::bindings::wit;

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user`, `assistant`, `tool`, ...
    pub role: String,
    /// The text of the turn.
    #[serde(default)]
    pub content: String,
}

/// One recorded LLM interaction: the unit every metric scores. This is also
/// the JSON shape of a dataset line in Caliper's native format.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Sample {
    /// Stable identifier (the dataset's, or `<file>:<line>` when absent).
    pub id: String,
    /// The user input.
    pub input: String,
    /// The model output being scored.
    pub output: String,
    /// The conversation before `output`, oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Message>,
    /// Retrieved context passages.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<String>,
    /// A reference answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// Metadata: model, latency_ms, tokens, cost, lang, customer, ...
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
}

impl Sample {
    /// Converts the sample into the contract's form once, so that every
    /// metric evaluated on it reuses the conversion.
    pub fn prepare(&self) -> PreparedSample {
        PreparedSample(wit::Sample {
            id: self.id.clone(),
            input: self.input.clone(),
            output: self.output.clone(),
            messages: self
                .messages
                .iter()
                .map(|m| wit::Message {
                    role: m.role.clone(),
                    content: m.content.clone(),
                })
                .collect(),
            context: self.context.clone(),
            expected: self.expected.clone(),
            metadata: self
                .metadata
                .iter()
                .map(|(k, v)| (k.clone(), meta_value(v)))
                .collect(),
        })
    }

    /// The metadata value under `key` as text, for grouping and filters:
    /// strings as they are, other scalars in their JSON form, missing as
    /// `None`.
    pub fn metadata_text(&self, key: &str) -> Option<String> {
        match self.metadata.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }
}

fn meta_value(v: &Value) -> wit::MetaValue {
    match v {
        Value::Null => wit::MetaValue::Null,
        Value::Bool(b) => wit::MetaValue::Boolean(*b),
        Value::Number(n) => match n.as_f64() {
            Some(f) => wit::MetaValue::Number(f),
            None => wit::MetaValue::Text(n.to_string()),
        },
        Value::String(s) => wit::MetaValue::Text(s.clone()),
        other => wit::MetaValue::Json(other.to_string()),
    }
}

/// A sample in the contract's form, ready to be passed to metrics.
pub struct PreparedSample(pub(crate) wit::Sample);

impl PreparedSample {
    /// The sample's id.
    pub fn id(&self) -> &str {
        &self.0.id
    }
}
