//! The `[input]` section: how the records of a dataset map to samples (the
//! dataset readers apply it).

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The default cap on one JSONL line or CSV record, in bytes (16 MiB);
/// `[input] max_line_bytes` overrides it.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// Longest sample id, in bytes: an id is copied into every evaluation of
/// the sample (and, with `expand_turns`, into every turn's id).
pub const MAX_ID_BYTES: usize = 4096;

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
    /// Longest JSONL line (or CSV record) read, in bytes; a longer one is a
    /// bad record, skipped without being held in memory.
    pub max_line_bytes: usize,
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
            max_line_bytes: MAX_LINE_BYTES,
        }
    }
}
