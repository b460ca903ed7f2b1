//! # caliper-dataset: streaming readers for JSONL and CSV, and the mapping
//! from a record (any JSON shape) to [`Sample`]s
//!
//! It reads datasets and nothing else: it never loads a metric and never
//! writes a file.
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
mod open;
#[cfg(test)]
mod properties;
mod record;
pub use caliper_types::input::{Format, InputMapping, MAX_ID_BYTES, MAX_LINE_BYTES};
pub use caliper_types::record::RecordError;
pub use caliper_types::sample::Sample;
pub use mapping::{MapError, Mapper};
pub use open::{ReadStats, open};
pub use record::{Record, Records};
