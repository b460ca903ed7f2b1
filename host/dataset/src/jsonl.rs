//! JSON Lines reader: one JSON object per line; blank lines are ignored; a
//! line longer than the cap (`[input] max_line_bytes`) is a bad record,
//! skipped without being held in memory.

use std::io::BufRead;

use crate::lines::{LineBoundary, Piece, Splitter, too_long_message};
use crate::mapping::Mapper;
use crate::record::Record;
use caliper_types::record::RecordError;

/// Streams records from a JSONL source.
pub struct JsonlRecords<R> {
    lines: Splitter<R, LineBoundary>,
    mapper: Mapper,
    max: usize,
    buf: Vec<u8>,
    /// Set after an I/O error: the source cannot be read any further.
    broken: bool,
}

impl<R: BufRead> JsonlRecords<R> {
    /// A reader over `reader`; lines longer than `max` bytes are errors.
    pub fn new(reader: R, mapper: Mapper, max: usize) -> Self {
        JsonlRecords {
            lines: Splitter::new(reader, LineBoundary, max),
            mapper,
            max,
            buf: Vec::new(),
            broken: false,
        }
    }

    fn bad(&self, line: u64, error: RecordError) -> Record {
        Record {
            line,
            samples: Err(error),
        }
    }
}

impl<R: BufRead> Iterator for JsonlRecords<R> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        loop {
            if self.broken {
                return None;
            }
            // Bytes, not `read_line`: a line that is not UTF-8 is consumed
            // whole and reported, and the next line is read normally.
            let line = match self.lines.next(&mut self.buf) {
                Ok(Piece::Eof) => return None,
                Ok(Piece::Record { line }) => line,
                Ok(Piece::TooLong { line, .. }) => {
                    let message = too_long_message(self.max);
                    return Some(self.bad(line, self.mapper.error(line, message)));
                }
                Err((line, e)) => {
                    // The source itself failed: report it here and stop,
                    // rather than retrying a broken stream forever.
                    self.broken = true;
                    return Some(self.bad(line, self.mapper.read_error(line, &e)));
                }
            };
            let text = match std::str::from_utf8(&self.buf) {
                Ok(text) => text.trim(),
                Err(e) => {
                    let message = format!("unreadable line: not UTF-8 ({e})");
                    return Some(self.bad(line, self.mapper.error(line, message)));
                }
            };
            if text.is_empty() {
                continue;
            }
            let samples = match serde_json::from_str::<serde_json::Value>(text) {
                Ok(value) => self.mapper.map(line, value),
                Err(e) => Err(self.mapper.error(line, format!("malformed JSON: {e}"))),
            };
            return Some(Record { line, samples });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<(u64, Result<String, String>)> {
        JsonlRecords::new(
            input,
            Mapper::new(std::path::Path::new("data.jsonl"), Default::default()),
            caliper_types::input::MAX_LINE_BYTES,
        )
        .map(|r| {
            let result = match r.samples {
                Ok(samples) => Ok(samples[0].id.clone()),
                Err(e) => Err(e.to_string()),
            };
            (r.line, result)
        })
        .collect()
    }

    #[test]
    fn a_line_that_is_not_utf8_is_reported_and_the_next_line_still_read() {
        let got = lines(b"{\"id\":\"a\",\"output\":\"x\"}\n{\"id\":\"\xff\",\"output\":\"x\"}\n{\"id\":\"c\",\"output\":\"x\"}\n\n{\"id\":\"e\",\"output\":\"x\"}");
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[0], (1, Ok("a".into())));
        assert_eq!(got[1].0, 2);
        let err = got[1].1.as_ref().unwrap_err();
        assert!(
            err.contains("data.jsonl") && err.contains("not UTF-8"),
            "{err}"
        );
        assert_eq!(got[2], (3, Ok("c".into())));
        assert_eq!(got[3], (5, Ok("e".into())));
    }

    /// Gives its bytes, then fails like a disk or a broken pipe would.
    struct FailingSource(&'static [u8]);

    impl std::io::Read for FailingSource {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Err(std::io::Error::other("device gone"));
            }
            let n = self.0.len().min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_line_past_the_cap_is_an_error_with_file_and_line_and_the_next_line_is_read() {
        let long = format!("{{\"id\":\"long\",\"output\":\"{}\"}}", "x".repeat(5000));
        let input = format!(
            "{{\"id\":\"a\",\"output\":\"x\"}}\n{long}\n{{\"id\":\"c\",\"output\":\"x\"}}\n"
        );
        // A small BufReader: the long line arrives in many pieces.
        let source = std::io::BufReader::with_capacity(64, input.as_bytes());
        let mapper = Mapper::new(std::path::Path::new("data.jsonl"), Default::default());
        let records: Vec<Record> = JsonlRecords::new(source, mapper, 1000).collect();
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].samples.as_ref().unwrap()[0].id, "a");
        let err = records[1].samples.as_ref().unwrap_err();
        assert_eq!(err.to_string(), "data.jsonl:2: line longer than 1000 bytes");
        assert!(!err.unreadable, "a bad record, not a broken source");
        assert_eq!(records[2].line, 3);
        assert_eq!(records[2].samples.as_ref().unwrap()[0].id, "c");
    }

    #[test]
    fn an_io_error_is_reported_once_as_unreadable_and_ends_the_stream() {
        let source = std::io::BufReader::new(FailingSource(b"{\"output\":\"x\"}\n"));
        let mapper = Mapper::new(std::path::Path::new("data.jsonl"), Default::default());
        let records: Vec<Record> = JsonlRecords::new(source, mapper, 1024).collect();
        assert_eq!(records.len(), 2);
        assert!(records[0].samples.is_ok());
        let err = records[1].samples.as_ref().unwrap_err();
        assert!(err.unreadable);
        assert_eq!(err.to_string(), "data.jsonl:2: read error: device gone");
    }
}
