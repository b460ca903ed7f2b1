//! CSV reader: a header row, then one record per row. Each row becomes a
//! JSON object of strings keyed by column name, mapped like a JSONL record
//! (JSON pointers name columns: `output = "/response"`). Cells holding JSON
//! arrays (messages, context) are parsed.
//!
//! Records are cut by [`Splitter`] (a record longer than the cap, quoted
//! newlines included, is a bad record skipped without being held in memory)
//! and each is then parsed by the `csv` crate.

use std::io::BufRead;

use serde_json::{Map, Value};

use crate::lines::{CsvBoundary, Piece, Splitter, too_long_message};
use crate::mapping::Mapper;
use crate::record::Record;
use caliper_types::record::RecordError;

/// Streams records from a CSV source.
pub struct CsvRecords<R> {
    records: Splitter<R, CsvBoundary>,
    headers: Option<Vec<String>>,
    mapper: Mapper,
    max: usize,
    buf: Vec<u8>,
    done: bool,
}

/// One record of `bytes` parsed as CSV (empty if it holds no fields).
fn parse(bytes: &[u8]) -> Result<Option<csv::StringRecord>, csv::Error> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(bytes.len().clamp(64, 64 * 1024))
        .from_reader(bytes);
    let mut record = csv::StringRecord::new();
    Ok(reader.read_record(&mut record)?.then_some(record))
}

impl<R: BufRead> CsvRecords<R> {
    /// A reader over `reader`; records longer than `max` bytes are errors.
    pub fn new(reader: R, mapper: Mapper, max: usize) -> Self {
        CsvRecords {
            records: Splitter::new(reader, CsvBoundary::default(), max),
            headers: None,
            mapper,
            max,
            buf: Vec::new(),
            done: false,
        }
    }

    /// The next non-blank record: its line and fields.
    fn next_fields(&mut self) -> Option<(u64, Result<csv::StringRecord, RecordError>)> {
        loop {
            let line = match self.records.next(&mut self.buf) {
                Ok(Piece::Eof) => return None,
                Ok(Piece::Record { line }) => line,
                Ok(Piece::TooLong { line, .. }) => {
                    return Some((
                        line,
                        Err(self.mapper.error(line, too_long_message(self.max))),
                    ));
                }
                Err((line, e)) => {
                    // An I/O error ends the stream.
                    self.done = true;
                    return Some((line, Err(self.mapper.read_error(line, &e))));
                }
            };
            match parse(&self.buf) {
                // Blank lines are skipped, as the csv crate does.
                Ok(None) => continue,
                Ok(Some(r)) if r.len() == 1 && r[0].trim().is_empty() => continue,
                Ok(Some(r)) => return Some((line, Ok(r))),
                Err(e) => {
                    let message = format!("malformed CSV row: {e}");
                    return Some((line, Err(self.mapper.error(line, message))));
                }
            }
        }
    }
}

impl<R: BufRead> Iterator for CsvRecords<R> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        if self.done {
            return None;
        }
        if self.headers.is_none() {
            match self.next_fields() {
                None => {
                    self.done = true;
                    return None;
                }
                Some((_, Ok(h))) => self.headers = Some(h.iter().map(str::to_owned).collect()),
                Some((line, Err(e))) => {
                    self.done = true;
                    // Without a header no row can be read: the file is unreadable.
                    let message = format!("unreadable CSV header: {}", e.message);
                    return Some(Record {
                        line,
                        samples: Err(RecordError {
                            unreadable: true,
                            ..self.mapper.error(line, message)
                        }),
                    });
                }
            }
        }
        let (line, fields) = self.next_fields()?;
        let headers = self.headers.as_deref().unwrap_or_default();
        let record = match fields {
            Err(e) => {
                return Some(Record {
                    line,
                    samples: Err(e),
                });
            }
            Ok(record) if record.len() != headers.len() => {
                let message = format!(
                    "malformed CSV row: {} fields, but the header has {}",
                    record.len(),
                    headers.len()
                );
                return Some(Record {
                    line,
                    samples: Err(self.mapper.error(line, message)),
                });
            }
            Ok(record) => record,
        };
        let mut object = Map::new();
        for (name, cell) in headers.iter().zip(record.iter()) {
            let trimmed = cell.trim_start();
            let value = if trimmed.starts_with('[') || trimmed.starts_with('{') {
                serde_json::from_str(cell).unwrap_or_else(|_| Value::String(cell.into()))
            } else {
                Value::String(cell.to_owned())
            };
            object.insert(name.clone(), value);
        }
        Some(Record {
            line,
            samples: self.mapper.map(line, Value::Object(object)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(input: &[u8], max: usize) -> Vec<(u64, Result<String, String>)> {
        let reader = std::io::BufReader::with_capacity(16, input);
        let mapper = Mapper::new(std::path::Path::new("data.csv"), Default::default());
        CsvRecords::new(reader, mapper, max)
            .map(|r| {
                let result = match r.samples {
                    Ok(s) => Ok(format!("{}={}", s[0].id, s[0].output)),
                    Err(e) => Err(e.to_string()),
                };
                (r.line, result)
            })
            .collect()
    }

    #[test]
    fn rows_map_by_column_with_quoted_newlines_and_a_capped_record_is_skipped() {
        let long = "y".repeat(500);
        let input = format!(
            "id,output\r\na,\"two\nlines\"\r\n\r\nb,\"{long}\"\nc,\"say \"\"hi\"\"\"\nd\ne,ok"
        );
        let got = rows(input.as_bytes(), 100);
        assert_eq!(got[0], (2, Ok("a=two\nlines".into())));
        assert_eq!(
            got[1],
            (5, Err("data.csv:5: line longer than 100 bytes".into()))
        );
        assert_eq!(got[2], (6, Ok("c=say \"hi\"".into())));
        assert_eq!(got[3].0, 7);
        let err = got[3].1.as_ref().unwrap_err();
        assert!(err.contains("1 fields, but the header has 2"), "{err}");
        assert_eq!(got[4], (8, Ok("e=ok".into())));
        assert_eq!(got.len(), 5);
    }

    #[test]
    fn a_header_past_the_cap_makes_the_file_unreadable() {
        let input = format!("{},output\na,b\n", "h".repeat(200));
        let reader = std::io::BufReader::new(input.as_bytes());
        let mapper = Mapper::new(std::path::Path::new("data.csv"), Default::default());
        let records: Vec<Record> = CsvRecords::new(reader, mapper, 100).collect();
        assert_eq!(records.len(), 1);
        let err = records[0].samples.as_ref().unwrap_err();
        assert!(err.unreadable);
        assert!(err.message.contains("line longer than 100 bytes"), "{err}");
    }
}
