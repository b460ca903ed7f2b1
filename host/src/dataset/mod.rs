//! Datasets: streaming readers for JSONL and CSV, and the mapping from a
//! record (any JSON shape) to [`Sample`]s.
//!
//! Readers yield one [`Record`] per input line (or CSV row) and never hold
//! more than that in memory. A record that cannot be turned into a sample is
//! a [`RecordError`] naming the file and line; the runner counts it and goes
//! on (or stops, with `--strict`).

mod csv;
mod jsonl;
mod mapping;

pub use mapping::{Format, InputMapping};

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::sample::Sample;

/// A bad record: where it is and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {message}", path.display())]
pub struct RecordError {
    /// The dataset file.
    pub path: PathBuf,
    /// 1-based line (JSONL) or record (CSV) number.
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

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

/// Opens a dataset (`-` is standard input) and maps its records with
/// `mapping`. `bytes_read`, if given, is kept up to date with the bytes
/// consumed (for progress bars). Fails only when the file cannot be opened.
pub fn open(
    path: &Path,
    mapping: &InputMapping,
    bytes_read: Option<Arc<AtomicU64>>,
) -> std::io::Result<Records> {
    let format = mapping.format.resolve(path);
    let inner: Box<dyn Read + Send> = if path == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path)?)
    };
    let counted: Box<dyn Read + Send> = match bytes_read {
        Some(count) => Box::new(CountingReader { inner, count }),
        None => inner,
    };
    let reader = std::io::BufReader::with_capacity(256 * 1024, counted);
    let mapper = mapping::Mapper::new(path, mapping.clone());
    Ok(match format {
        Format::Csv => Box::new(csv::CsvRecords::new(reader, mapper)),
        _ => Box::new(jsonl::JsonlRecords::new(reader, mapper)),
    })
}

/// Counts the bytes read through it.
struct CountingReader {
    inner: Box<dyn Read + Send>,
    count: Arc<AtomicU64>,
}

impl Read for CountingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
