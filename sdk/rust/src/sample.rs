//! The sample a metric scores.

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `system`, `user`, `assistant`, `tool`, ...
    pub role: String,
    /// The text of the turn.
    pub content: String,
}

/// A metadata value. Objects and arrays are kept as JSON text.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue {
    /// JSON `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(f64),
    /// A string.
    Text(String),
    /// An object or array, as JSON text.
    Json(String),
}

/// Key/value metadata of a sample (model, latency, tokens, cost, language,
/// customer, ...). Lookups are linear: samples carry a handful of keys.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    entries: Vec<(String, MetaValue)>,
}

impl Metadata {
    /// Metadata from key/value pairs.
    pub fn from_entries(entries: Vec<(String, MetaValue)>) -> Self {
        Metadata { entries }
    }

    /// Adds or replaces a value (builder style, for tests).
    pub fn with(mut self, key: impl Into<String>, value: MetaValue) -> Self {
        let key = key.into();
        self.entries.retain(|(k, _)| *k != key);
        self.entries.push((key, value));
        self
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&MetaValue> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The value under `key` as a number; numeric strings count too
    /// (CSV datasets carry every value as text).
    pub fn number(&self, key: &str) -> Option<f64> {
        match self.get(key)? {
            MetaValue::Number(n) => Some(*n),
            MetaValue::Text(t) => t.trim().parse().ok(),
            _ => None,
        }
    }

    /// The value under `key` as text (strings only).
    pub fn text(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            MetaValue::Text(t) => Some(t),
            _ => None,
        }
    }

    /// All entries, in dataset order.
    pub fn entries(&self) -> &[(String, MetaValue)] {
        &self.entries
    }
}

/// One recorded LLM interaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// Stable identifier.
    pub id: String,
    /// The user input (usually the last user message).
    pub input: String,
    /// The model output being scored.
    pub output: String,
    /// The conversation before `output`, oldest first.
    pub messages: Vec<Message>,
    /// Retrieved context passages.
    pub context: Vec<String>,
    /// A reference answer, if any.
    pub expected: Option<String>,
    /// Metadata.
    pub metadata: Metadata,
}

impl Sample {
    /// A sample with only an output (for tests).
    pub fn with_output(output: impl Into<String>) -> Self {
        Sample {
            output: output.into(),
            ..Sample::default()
        }
    }

    /// Sets the input (builder style, for tests).
    pub fn input(mut self, input: impl Into<String>) -> Self {
        self.input = input.into();
        self
    }

    /// Sets the expected answer (builder style, for tests).
    pub fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    /// Adds a message (builder style, for tests).
    pub fn message(mut self, role: impl Into<String>, content: impl Into<String>) -> Self {
        self.messages.push(Message {
            role: role.into(),
            content: content.into(),
        });
        self
    }

    /// Adds a metadata value (builder style, for tests).
    pub fn meta(mut self, key: impl Into<String>, value: MetaValue) -> Self {
        self.metadata = std::mem::take(&mut self.metadata).with(key, value);
        self
    }

    /// The text of the last user turn: the last `user` message, or `input`
    /// when the conversation has none.
    pub fn last_user_text(&self) -> &str {
        self.messages
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .map(|m| m.content.as_str())
            .filter(|t| !t.trim().is_empty())
            .unwrap_or(&self.input)
    }
}

/// Which text of a sample a metric checks: a common config option
/// (`"field": "output"` or `"input"`).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Deserialize,
    serde::Serialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum TextField {
    /// The model output.
    #[default]
    Output,
    /// The user input.
    Input,
}

impl TextField {
    /// The chosen text of `sample`.
    pub fn of(self, sample: &Sample) -> &str {
        match self {
            TextField::Output => &sample.output,
            TextField::Input => &sample.input,
        }
    }
}
