//! Caliper's own sample type: what a dataset line becomes, and what every
//! metric scores (the engine converts it to the contract's form).
//!
//! The parts of a sample that the samples of one expanded conversation
//! (`expand_turns`) have in common are shared, not copied: the history is a
//! prefix of one [`Shared`] message list, context, metadata, input and
//! expected answer are reference-counted. Expanding a conversation of n
//! turns therefore costs O(n) memory, not O(n²).

use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// The segment name for samples that lack the `--group-by` key.
pub const NO_SEGMENT: &str = "(none)";

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user`, `assistant`, `tool`, ...
    pub role: String,
    /// The text of the turn.
    #[serde(default)]
    pub content: String,
}

/// A prefix of a reference-counted list: cloning it, or taking a shorter
/// prefix of it, copies no element. Reads as a slice.
pub struct Shared<T> {
    all: Arc<[T]>,
    len: usize,
}

impl<T> Shared<T> {
    /// The first `len` elements of `all` (all of them if `len` is larger).
    pub fn prefix(all: &Arc<[T]>, len: usize) -> Self {
        Shared {
            all: all.clone(),
            len: len.min(all.len()),
        }
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared {
            all: self.all.clone(),
            len: self.len,
        }
    }
}

impl<T> Default for Shared<T> {
    fn default() -> Self {
        Shared {
            all: Arc::from(Vec::new()),
            len: 0,
        }
    }
}

impl<T> Deref for Shared<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.all[..self.len]
    }
}

impl<T> From<Vec<T>> for Shared<T> {
    fn from(items: Vec<T>) -> Self {
        let len = items.len();
        Shared {
            all: items.into(),
            len,
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: PartialEq> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: PartialEq> PartialEq<Vec<T>> for Shared<T> {
    fn eq(&self, other: &Vec<T>) -> bool {
        **self == other[..]
    }
}

impl<T: Serialize> Serialize for Shared<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Shared<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<T>::deserialize(d).map(Shared::from)
    }
}

/// Reference-counted text: cloning it copies no byte. Reads as a `str`.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text(Arc<str>);

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text(s.into())
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text(s.into())
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Text::from)
    }
}

/// A sample's metadata (shared between the turns of one conversation).
pub type Metadata = Arc<Map<String, Value>>;

fn no_metadata(m: &Metadata) -> bool {
    m.is_empty()
}

/// One recorded LLM interaction: the unit every metric scores. This is also
/// the JSON shape of a dataset line in Caliper's native format.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Sample {
    /// Stable identifier (the dataset's, or `<file>:<line>` when absent).
    pub id: String,
    /// The user input.
    pub input: Text,
    /// The model output being scored.
    pub output: String,
    /// The conversation before `output`, oldest first.
    #[serde(skip_serializing_if = "Shared::is_empty")]
    pub messages: Shared<Message>,
    /// Retrieved context passages.
    #[serde(skip_serializing_if = "Shared::is_empty")]
    pub context: Shared<String>,
    /// A reference answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Text>,
    /// Metadata: model, latency_ms, tokens, cost, lang, customer, ...
    #[serde(skip_serializing_if = "no_metadata")]
    pub metadata: Metadata,
}

impl Sample {
    /// Roughly how many bytes converting the sample to the contract's form
    /// copies: the texts of the
    /// sample, its history, context and metadata keys and strings.
    pub fn prepared_bytes(&self) -> usize {
        let messages: usize = self
            .messages
            .iter()
            .map(|m| m.role.len() + m.content.len())
            .sum();
        let context: usize = self.context.iter().map(String::len).sum();
        let metadata: usize = self
            .metadata
            .iter()
            .map(|(k, v)| k.len() + v.as_str().map_or(16, str::len))
            .sum();
        self.id.len()
            + self.input.len()
            + self.output.len()
            + messages
            + context
            + self.expected.as_ref().map_or(0, |e| e.len())
            + metadata
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

/// Most bytes of samples prepared at once ([`prepare_windows`]): bounds what
/// the contract's copies of an expanded conversation (each turn carries its
/// whole history) hold at the same time.
pub const PREPARE_WINDOW_BYTES: usize = 8 << 20;

/// Splits `samples` into consecutive ranges whose [`Sample::prepared_bytes`]
/// stay within `budget` (a range holds at least one sample): prepare one
/// range, score it, drop it, and the peak stays linear in the input even
/// when every turn of a long conversation repeats its history.
pub fn prepare_windows<'a>(
    samples: impl IntoIterator<Item = &'a Sample>,
    budget: usize,
) -> Vec<std::ops::Range<usize>> {
    let mut windows = Vec::new();
    let (mut start, mut bytes, mut end) = (0, 0, 0);
    for sample in samples {
        let size = sample.prepared_bytes();
        if end > start && bytes + size > budget {
            windows.push(start..end);
            (start, bytes) = (end, 0);
        }
        bytes += size;
        end += 1;
    }
    if end > start {
        windows.push(start..end);
    }
    windows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sized(n: usize) -> Sample {
        Sample {
            output: "x".repeat(n),
            ..Sample::default()
        }
    }

    #[test]
    fn windows_cover_every_sample_once_within_the_budget() {
        let samples: Vec<Sample> = [3, 3, 3, 10, 1, 1, 0, 4].map(sized).to_vec();
        let windows = prepare_windows(&samples, 6);
        assert_eq!(windows, [0..2, 2..3, 3..4, 4..8]);
        // A sample larger than the budget is a window of its own.
        assert_eq!(prepare_windows(&[sized(100)], 6), vec![(0..1)]);
        assert!(prepare_windows(&[], 6).is_empty());
    }
}
