//! From a JSON record to samples: field mapping by JSON pointer, OpenAI-style
//! `messages` conversations, and per-turn expansion.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::RecordError;
use crate::sample::{Message, Sample};

/// Dataset file format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// By extension: `.csv` is CSV, anything else JSONL.
    #[default]
    Auto,
    /// JSON Lines.
    Jsonl,
    /// CSV with a header row.
    Csv,
}

impl Format {
    /// The concrete format for `path`.
    pub fn resolve(self, path: &Path) -> Format {
        match self {
            Format::Auto => match path.extension().and_then(|e| e.to_str()) {
                Some(ext) if ext.eq_ignore_ascii_case("csv") => Format::Csv,
                _ => Format::Jsonl,
            },
            other => other,
        }
    }
}

/// Where each sample field is found in a record (RFC 6901 JSON pointers;
/// for CSV, `/<column>`), and how conversations are treated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InputMapping {
    /// File format.
    pub format: Format,
    /// Sample id; when absent the id is `<file stem>:<line>`.
    pub id: String,
    /// User input; defaults to the last user message before the output.
    pub input: String,
    /// Model output; defaults to the last assistant message.
    pub output: String,
    /// OpenAI-style messages (`[{role, content}]`).
    pub messages: String,
    /// Retrieved context: a list of strings (or one string).
    pub context: String,
    /// Reference answer.
    pub expected: String,
    /// Metadata object.
    pub metadata: String,
    /// Top-level scalar fields that no other mapping uses become metadata
    /// (so `{"output": "..", "model": "gpt-4o"}` has `metadata.model`).
    pub extra_fields_as_metadata: bool,
    /// One sample per assistant turn of `messages` (id `<id>#<turn>`),
    /// each seeing the conversation before it.
    pub expand_turns: bool,
    /// Bad records tolerated before the run fails (exit code 1).
    pub max_invalid_records: u64,
}

impl Default for InputMapping {
    fn default() -> Self {
        InputMapping {
            format: Format::Auto,
            id: "/id".into(),
            input: "/input".into(),
            output: "/output".into(),
            messages: "/messages".into(),
            context: "/context".into(),
            expected: "/expected".into(),
            metadata: "/metadata".into(),
            extra_fields_as_metadata: true,
            expand_turns: false,
            max_invalid_records: 0,
        }
    }
}

/// Applies an [`InputMapping`] to the records of one file.
pub struct Mapper {
    path: PathBuf,
    stem: String,
    mapping: InputMapping,
    /// Top-level keys consumed by pointers (excluded from extra metadata).
    consumed: Vec<String>,
}

impl Mapper {
    /// A mapper for records of `path`.
    pub fn new(path: &Path, mapping: InputMapping) -> Self {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "stdin".into());
        let consumed = [
            &mapping.id,
            &mapping.input,
            &mapping.output,
            &mapping.messages,
            &mapping.context,
            &mapping.expected,
            &mapping.metadata,
        ]
        .iter()
        .filter_map(|p| p.strip_prefix('/'))
        .map(|p| p.split('/').next().unwrap_or(p).to_owned())
        .collect();
        Mapper {
            path: path.to_owned(),
            stem,
            mapping,
            consumed,
        }
    }

    /// An error on `line` of this file.
    pub fn error(&self, line: u64, message: String) -> RecordError {
        RecordError {
            path: self.path.clone(),
            line,
            message,
            unreadable: false,
        }
    }

    /// An I/O error reading this file at `line`: the source, not the
    /// record, failed (see [`RecordError::unreadable`]).
    pub fn read_error(&self, line: u64, error: &std::io::Error) -> RecordError {
        RecordError {
            unreadable: true,
            ..self.error(line, format!("read error: {error}"))
        }
    }

    /// Maps one record to its samples.
    pub fn map(&self, line: u64, record: Value) -> Result<Vec<Sample>, RecordError> {
        let err = |message: String| self.error(line, message);
        if !record.is_object() {
            return Err(err(format!(
                "expected a JSON object, found {}",
                kind_of(&record)
            )));
        }
        let m = &self.mapping;
        let text = |pointer: &str, field: &str| -> Result<Option<String>, RecordError> {
            match record.pointer(pointer) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) if field == "id" => Ok(Some(n.to_string())),
                Some(other) => Err(err(format!(
                    "field `{field}` ({pointer}) must be a string, found {}",
                    kind_of(other)
                ))),
            }
        };
        let id = text(&m.id, "id")?.unwrap_or_else(|| format!("{}:{line}", self.stem));
        let input = text(&m.input, "input")?;
        let output = text(&m.output, "output")?;
        let expected = text(&m.expected, "expected")?;
        let messages = match record.pointer(&m.messages) {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => parse_messages(v).map_err(|e| err(format!("field `messages`: {e}")))?,
        };
        let context = match record.pointer(&m.context) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    Value::Object(o) => match o.get("text").or_else(|| o.get("content")) {
                        Some(Value::String(s)) => Ok(s.clone()),
                        _ => Err(err(
                            "field `context`: passages must be strings or objects with `text`"
                                .into(),
                        )),
                    },
                    other => Err(err(format!(
                        "field `context`: passages must be strings, found {}",
                        kind_of(other)
                    ))),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(err(format!(
                    "field `context` must be a list of strings, found {}",
                    kind_of(other)
                )));
            }
        };
        let mut metadata = match record.pointer(&m.metadata) {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(o)) => o.clone(),
            Some(other) => {
                return Err(err(format!(
                    "field `metadata` must be an object, found {}",
                    kind_of(other)
                )));
            }
        };
        if m.extra_fields_as_metadata
            && let Value::Object(top) = &record
        {
            for (k, v) in top {
                if !self.consumed.iter().any(|c| c == k)
                    && !v.is_object()
                    && !v.is_array()
                    && !metadata.contains_key(k)
                {
                    metadata.insert(k.clone(), v.clone());
                }
            }
        }
        let base = Sample {
            id,
            input: input.clone().unwrap_or_default(),
            output: String::new(),
            messages: Vec::new(),
            context,
            expected,
            metadata,
        };

        if m.expand_turns {
            if messages.is_empty() {
                return Err(err(
                    "expand_turns is on but the record has no `messages`".into()
                ));
            }
            let samples: Vec<Sample> = messages
                .iter()
                .enumerate()
                .filter(|(_, msg)| msg.role == "assistant")
                .enumerate()
                .map(|(turn, (at, msg))| {
                    let before = &messages[..at];
                    Sample {
                        id: format!("{}#{}", base.id, turn + 1),
                        input: last_user(before).unwrap_or_default(),
                        output: msg.content.clone(),
                        messages: before.to_vec(),
                        ..base.clone()
                    }
                })
                .collect();
            if samples.is_empty() {
                return Err(err("conversation has no assistant turn to score".into()));
            }
            return Ok(samples);
        }

        let mut sample = base;
        match output {
            Some(output) => {
                sample.output = output;
                sample.messages = messages;
            }
            None => {
                // OpenAI-style: the last assistant turn is the output.
                let Some(at) = messages.iter().rposition(|msg| msg.role == "assistant") else {
                    return Err(err(format!(
                        "missing field `output` ({}) and no assistant message to score",
                        m.output
                    )));
                };
                sample.output = messages[at].content.clone();
                sample.messages = messages[..at].to_vec();
            }
        }
        if input.is_none() {
            sample.input = last_user(&sample.messages).unwrap_or_default();
        }
        Ok(vec![sample])
    }
}

fn last_user(messages: &[Message]) -> Option<String> {
    messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .map(|m| m.content.clone())
}

fn parse_messages(v: &Value) -> Result<Vec<Message>, String> {
    let Value::Array(items) = v else {
        return Err(format!("expected a list, found {}", kind_of(v)));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let role = item
                .get("role")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("message {i} has no string `role`"))?;
            let content = match item.get("content") {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                // OpenAI content parts: [{"type": "text", "text": ".."}, ..]
                Some(Value::Array(parts)) => parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join("\n"),
                Some(other) => {
                    return Err(format!(
                        "message {i} has content of type {}",
                        kind_of(other)
                    ));
                }
            };
            Ok(Message {
                role: role.to_owned(),
                content,
            })
        })
        .collect()
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mapper(mapping: InputMapping) -> Mapper {
        Mapper::new(Path::new("data/chat.jsonl"), mapping)
    }

    #[test]
    fn native_shape_with_extra_fields_as_metadata() {
        let s = mapper(InputMapping::default())
            .map(7, json!({"output": "Hallo", "input": "Hi", "model": "m1", "metadata": {"lang": "de"}}))
            .unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].id, "chat:7");
        assert_eq!(s[0].output, "Hallo");
        assert_eq!(s[0].metadata["lang"], "de");
        assert_eq!(s[0].metadata["model"], "m1");
    }

    #[test]
    fn openai_messages_score_the_last_assistant_turn() {
        let s = mapper(InputMapping::default())
            .map(
                1,
                json!({"id": 42, "messages": [
                    {"role": "system", "content": "be nice"},
                    {"role": "user", "content": "Wie geht's?"},
                    {"role": "assistant", "content": [{"type": "text", "text": "Gut"}]}
                ]}),
            )
            .unwrap();
        assert_eq!(s[0].id, "42");
        assert_eq!(s[0].output, "Gut");
        assert_eq!(s[0].input, "Wie geht's?");
        assert_eq!(s[0].messages.len(), 2);
    }

    #[test]
    fn expand_turns_gives_one_sample_per_assistant_turn() {
        let m = InputMapping {
            expand_turns: true,
            ..InputMapping::default()
        };
        let s = mapper(m)
            .map(
                3,
                json!({"id": "c", "messages": [
                    {"role": "user", "content": "u1"}, {"role": "assistant", "content": "a1"},
                    {"role": "user", "content": "u2"}, {"role": "assistant", "content": "a2"}
                ]}),
            )
            .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[1].id.as_str(), s[1].input.as_str(), s[1].output.as_str()),
            ("c#2", "u2", "a2")
        );
        assert_eq!(s[1].messages.len(), 3);
    }

    #[test]
    fn pointers_map_other_shapes() {
        let m = InputMapping {
            output: "/response/text".into(),
            input: "/prompt".into(),
            ..InputMapping::default()
        };
        let s = mapper(m)
            .map(1, json!({"prompt": "p", "response": {"text": "r"}}))
            .unwrap();
        assert_eq!((s[0].input.as_str(), s[0].output.as_str()), ("p", "r"));
        assert!(!s[0].metadata.contains_key("prompt"));
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let m = mapper(InputMapping::default());
        let e = m.map(9, json!({"input": "x"})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "data/chat.jsonl:9: missing field `output` (/output) and no assistant message to score"
        );
        let e = m.map(2, json!({"output": 5})).unwrap_err();
        assert!(
            e.to_string()
                .contains("field `output` (/output) must be a string, found a number")
        );
        let e = m.map(2, json!([1])).unwrap_err();
        assert!(
            e.to_string()
                .contains("expected a JSON object, found a list")
        );
    }
}
