//! From a JSON record to samples: field mapping by JSON pointer, OpenAI-style
//! `messages` conversations, and per-turn expansion.
//!
//! Per-turn expansion copies nothing per turn: the samples of one
//! conversation share its message list (each sees a prefix), its context,
//! metadata and expected answer, and each user message is shared by the
//! turns it precedes (see [`crate::sample`]). [`Mapper::map_bounded`] maps a
//! batch of records and stops as soon as the *expanded* samples exceed a
//! limit (what `caliper serve` uses for `max_samples_per_request`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use caliper_types::input::{InputMapping, MAX_ID_BYTES};

use caliper_types::record::RecordError;
use caliper_types::sample::{Message, Sample, Shared, Text};

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
        // An OTLP trace export (one per line, as the OpenTelemetry
        // Collector's file exporter writes them): its LLM spans, as
        // `serve`'s /v1/traces maps them.
        if caliper_otel::mapping::is_trace_export(&record) {
            let mapped = caliper_otel::mapping::samples_from_json(record).map_err(err)?;
            if !mapped.rejected.is_empty() {
                let total = mapped.samples.len() + mapped.rejected.len();
                return Err(err(format!(
                    "{} of {total} LLM spans of this OTLP export cannot be read: {}",
                    mapped.rejected.len(),
                    mapped.rejected.join("; ")
                )));
            }
            return Ok(mapped.samples);
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
        if id.len() > MAX_ID_BYTES {
            // Ids are copied into every result (and every turn's id).
            return Err(err(format!(
                "field `id` ({}) is longer than {MAX_ID_BYTES} bytes",
                m.id
            )));
        }
        let input = text(&m.input, "input")?.map(Text::from);
        let output = text(&m.output, "output")?;
        let expected = text(&m.expected, "expected")?.map(Text::from);
        let messages = match record.pointer(&m.messages) {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => parse_messages(v).map_err(|e| err(format!("field `messages`: {e}")))?,
        };
        let context: Vec<String> = match record.pointer(&m.context) {
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
            messages: Shared::default(),
            context: context.into(),
            expected,
            metadata: Arc::new(metadata),
        };
        let messages: Arc<[Message]> = messages.into();

        if m.expand_turns {
            if messages.is_empty() {
                return Err(err(
                    "expand_turns is on but the record has no `messages`".into()
                ));
            }
            let mut samples = Vec::new();
            // The latest user message, shared by every turn it precedes.
            let mut last_user: Option<(usize, Text)> = None;
            for (at, msg) in messages.iter().enumerate() {
                match msg.role.as_str() {
                    "user" => last_user = Some((at, Text::default())),
                    "assistant" => {
                        let input = match &mut last_user {
                            Some((user, text)) => {
                                if text.is_empty() && !messages[*user].content.is_empty() {
                                    *text = messages[*user].content.as_str().into();
                                }
                                text.clone()
                            }
                            None => Text::default(),
                        };
                        samples.push(Sample {
                            id: format!("{}#{}", base.id, samples.len() + 1),
                            input,
                            output: msg.content.clone(),
                            messages: Shared::prefix(&messages, at),
                            ..base.clone()
                        });
                    }
                    _ => {}
                }
            }
            if samples.is_empty() {
                return Err(err("conversation has no assistant turn to score".into()));
            }
            return Ok(samples);
        }

        let mut sample = base;
        match output {
            Some(output) => {
                sample.output = output;
                sample.messages = Shared::prefix(&messages, messages.len());
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
                sample.messages = Shared::prefix(&messages, at);
            }
        }
        if input.is_none() {
            sample.input = last_user(&sample.messages).unwrap_or_default();
        }
        Ok(vec![sample])
    }

    /// Maps a batch of records (numbered from 1) into their samples, in
    /// order, with at most `limit` samples *after* per-turn expansion:
    /// mapping stops at the first record that would pass the limit, so an
    /// oversized batch costs no more than `limit` samples. The first bad
    /// record is an error naming its index.
    pub fn map_bounded(
        &self,
        records: impl IntoIterator<Item = Value>,
        limit: usize,
    ) -> Result<Vec<Sample>, MapError> {
        let mut samples = Vec::new();
        for (i, record) in records.into_iter().enumerate() {
            let mapped = self
                .map(i as u64 + 1, record)
                .map_err(|error| MapError::Record { index: i, error })?;
            if samples.len() + mapped.len() > limit {
                return Err(MapError::TooMany {
                    limit,
                    at_least: samples.len() + mapped.len(),
                });
            }
            samples.extend(mapped);
        }
        Ok(samples)
    }
}

/// Why [`Mapper::map_bounded`] gave no samples.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// A record could not be mapped.
    #[error("samples[{index}]: {}", error.message)]
    Record {
        /// 0-based index of the record in the batch.
        index: usize,
        /// Why.
        error: RecordError,
    },
    /// The records expand to more samples than allowed.
    #[error("the records expand to at least {at_least} samples; the limit is {limit}")]
    TooMany {
        /// The limit.
        limit: usize,
        /// How many samples there were when mapping stopped.
        at_least: usize,
    },
}

fn last_user(messages: &[Message]) -> Option<Text> {
    messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .map(|m| m.content.as_str().into())
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
            (s[1].id.as_str(), &*s[1].input, s[1].output.as_str()),
            ("c#2", "u2", "a2")
        );
        assert_eq!(s[1].messages.len(), 3);
    }

    #[test]
    fn expanded_turns_share_the_history_instead_of_copying_it() {
        let m = InputMapping {
            expand_turns: true,
            ..InputMapping::default()
        };
        // 20,000 turns: copying the history per turn would be 2 × 10^8
        // messages; sharing it is linear.
        let turns = 20_000;
        let mut messages = Vec::new();
        for i in 0..turns {
            messages.push(json!({"role": "user", "content": format!("u{i}")}));
            messages.push(json!({"role": "assistant", "content": format!("a{i}")}));
        }
        let context = "c".repeat(10_000);
        let record = json!({"id": "c", "messages": messages, "context": [context],
                            "expected": "e", "metadata": {"lang": "de"}});
        let started = std::time::Instant::now();
        let s = mapper(m).map(1, record).unwrap();
        assert_eq!(s.len(), turns);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let last = &s[turns - 1];
        assert_eq!(last.messages.len(), 2 * turns - 1);
        assert_eq!((&*last.input, last.output.as_str()), ("u19999", "a19999"));
        // One list, one context, one metadata map for all turns.
        assert!(std::ptr::eq(s[0].messages.as_ptr(), last.messages.as_ptr()));
        assert!(std::ptr::eq(
            s[0].context[0].as_ptr(),
            last.context[0].as_ptr()
        ));
        assert!(std::sync::Arc::ptr_eq(&s[0].metadata, &last.metadata));
        assert_eq!(s[1].messages.len(), 3);
    }

    #[test]
    fn map_bounded_counts_samples_after_expansion_and_names_a_bad_record() {
        let m = mapper(InputMapping {
            expand_turns: true,
            ..InputMapping::default()
        });
        let conversation = |n: usize| {
            let messages: Vec<Value> = (0..n)
                .flat_map(|i| {
                    [
                        json!({"role": "user", "content": format!("u{i}")}),
                        json!({"role": "assistant", "content": format!("a{i}")}),
                    ]
                })
                .collect();
            json!({ "messages": messages })
        };
        let ok = m
            .map_bounded([conversation(2), conversation(3)], 5)
            .unwrap();
        assert_eq!(ok.len(), 5);
        // Two records, but 1,000 samples once expanded.
        let e = m
            .map_bounded([conversation(1), conversation(999)], 5)
            .unwrap_err();
        assert_eq!(
            e,
            MapError::TooMany {
                limit: 5,
                at_least: 1000
            }
        );
        let e = m
            .map_bounded([conversation(1), json!({"output": 1})], 5)
            .unwrap_err();
        assert!(
            matches!(e, MapError::Record { index: 1, .. })
                && e.to_string().starts_with("samples[1]: "),
            "{e}"
        );
    }

    #[test]
    fn an_overlong_id_is_refused() {
        let e = mapper(InputMapping::default())
            .map(
                4,
                json!({"id": "i".repeat(MAX_ID_BYTES + 1), "output": "x"}),
            )
            .unwrap_err();
        assert!(e.to_string().contains("longer than 4096 bytes"), "{e}");
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
        assert_eq!((&*s[0].input, s[0].output.as_str()), ("p", "r"));
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
