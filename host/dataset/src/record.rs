//! What a reader yields: one [`Record`] per line or CSV row.

use caliper_types::record::RecordError;
use caliper_types::sample::Sample;

/// One input record: the samples it produced, or why it produced none.
#[derive(Debug)]
pub struct Record {
    /// 1-based line (JSONL) or record (CSV) number.
    pub line: u64,
    /// One sample, several (a conversation expanded per assistant turn), or
    /// an error.
    pub samples: Result<Vec<Sample>, RecordError>,
}

/// A streaming dataset reader.
pub type Records = Box<dyn Iterator<Item = Record> + Send>;
