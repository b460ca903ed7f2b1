//! A [`Sample`] in the contract's form: converted once, then passed to
//! every metric that scores it.

use serde_json::Value;

use crate::bindings::wit;
use caliper_types::sample::Sample;

/// A sample in the contract's form, ready to be passed to metrics.
pub struct PreparedSample(pub(crate) wit::Sample);

impl PreparedSample {
    /// The sample's id.
    pub fn id(&self) -> &str {
        &self.0.id
    }
}

/// Conversion of a [`Sample`] into the contract's form.
pub trait Prepare {
    /// Converts the sample once, so that every metric evaluated on it reuses
    /// the conversion (about [`Sample::prepared_bytes`] are copied).
    fn prepare(&self) -> PreparedSample;
}

impl Prepare for Sample {
    fn prepare(&self) -> PreparedSample {
        PreparedSample(wit::Sample {
            id: self.id.clone(),
            input: self.input.to_string(),
            output: self.output.clone(),
            messages: self
                .messages
                .iter()
                .map(|m| wit::Message {
                    role: m.role.clone(),
                    content: m.content.clone(),
                })
                .collect(),
            context: self.context.to_vec(),
            expected: self.expected.as_deref().map(str::to_owned),
            metadata: self
                .metadata
                .iter()
                .map(|(k, v)| (k.clone(), meta_value(v)))
                .collect(),
        })
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
