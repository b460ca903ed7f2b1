//! Datasets: streaming readers for JSONL and CSV, and the mapping from a
//! record (any JSON shape) to [`Sample`]s.
//!
//! Readers yield one [`Record`] per input line (or CSV row) and never hold
//! more than that in memory: a line (or CSV record) longer than
//! [`MAX_LINE_BYTES`] (`[input] max_line_bytes`) is a [`RecordError`]
//! `file:line: line longer than N bytes`, consumed in bounded pieces without
//! being held whole. A record that cannot be turned into a sample is a
//! [`RecordError`] naming the file and line; the runner counts it and goes
//! on (or stops, with `--strict`).

mod csv;
mod jsonl;
mod lines;
mod mapping;
#[cfg(test)]
mod properties;

pub use mapping::{Format, InputMapping, MAX_ID_BYTES, MapError, Mapper};

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

pub use caliper_types::input::MAX_LINE_BYTES;
use caliper_types::sample::Sample;

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

/// What a reader has consumed so far: a byte count (for progress bars) and
/// the sha256 of the bytes (the dataset's digest, computed while streaming
/// so the file is read once).
#[derive(Default)]
pub struct ReadStats {
    bytes: AtomicU64,
    sha256: Mutex<Sha256>,
}

impl ReadStats {
    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// `sha256:<hex>` of the bytes read so far (of the whole input once the
    /// reader is exhausted).
    pub fn digest(&self) -> String {
        let hasher = self
            .sha256
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        format!("sha256:{}", hex::encode(hasher.finalize()))
    }
}

/// Opens a dataset (`-` is standard input) and maps its records with
/// `mapping`. `stats`, if given, tracks what has been read. Fails only when
/// the file cannot be opened.
pub fn open(
    path: &Path,
    mapping: &InputMapping,
    stats: Option<Arc<ReadStats>>,
) -> std::io::Result<Records> {
    let format = mapping.format.resolve(path);
    let inner: Box<dyn Read + Send> = if path == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        let file = std::fs::File::open(path)?;
        if file.metadata()?.is_dir() {
            return Err(std::io::ErrorKind::IsADirectory.into());
        }
        Box::new(file)
    };
    let counted: Box<dyn Read + Send> = match stats {
        Some(stats) => Box::new(TrackingReader { inner, stats }),
        None => inner,
    };
    let reader = std::io::BufReader::with_capacity(256 * 1024, counted);
    let mapper = mapping::Mapper::new(path, mapping.clone());
    let max = mapping.max_line_bytes;
    Ok(match format {
        Format::Csv => Box::new(csv::CsvRecords::new(reader, mapper, max)),
        _ => Box::new(jsonl::JsonlRecords::new(reader, mapper, max)),
    })
}

/// Updates [`ReadStats`] with every read.
struct TrackingReader {
    inner: Box<dyn Read + Send>,
    stats: Arc<ReadStats>,
}

impl Read for TrackingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.stats.bytes.fetch_add(n as u64, Ordering::Relaxed);
        self.stats
            .sha256
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .update(&buf[..n]);
        Ok(n)
    }
}
