//! Opening a dataset: the file (or standard input), its format, and what
//! has been read of it.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use crate::record::Records;
use crate::{csv, jsonl, mapping};
use caliper_types::input::{Format, InputMapping};

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
