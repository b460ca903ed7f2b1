//! A bad record of a dataset (or of a results or examples file): where it
//! is and what is wrong with it.

use std::path::PathBuf;

/// A bad record: where it is and what is wrong with it.
/// Displayed as `file:line: message`, or `file: message` when the file
/// itself is at fault (line 0).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", path.display(), line_suffix(*line))]
pub struct RecordError {
    /// The dataset file.
    pub path: PathBuf,
    /// 1-based line (JSONL) or record (CSV) number; 0 for the file as a
    /// whole (it cannot be opened).
    pub line: u64,
    /// What is wrong.
    pub message: String,
    /// The source itself failed (an I/O error), not this record: reading
    /// stops there, and a run fails as on an input error.
    pub unreadable: bool,
}

fn line_suffix(line: u64) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}")
    }
}
