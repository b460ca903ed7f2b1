//! CSV reader: a header row, then one record per row. Each row becomes a
//! JSON object of strings keyed by column name, mapped like a JSONL record
//! (JSON pointers name columns: `output = "/response"`). Cells holding JSON
//! arrays (messages, context) are parsed.

use std::io::Read;

use serde_json::{Map, Value};

use super::mapping::Mapper;
use super::{Record, RecordError};

/// Streams records from a CSV source.
pub struct CsvRecords<R: Read> {
    reader: csv::Reader<R>,
    headers: Option<Result<Vec<String>, String>>,
    mapper: Mapper,
    record: csv::StringRecord,
    done: bool,
}

impl<R: Read> CsvRecords<R> {
    /// A reader over `reader`.
    pub fn new(reader: R, mapper: Mapper) -> Self {
        let reader = csv::ReaderBuilder::new()
            .flexible(false)
            .from_reader(reader);
        CsvRecords {
            reader,
            headers: None,
            mapper,
            record: csv::StringRecord::new(),
            done: false,
        }
    }
}

impl<R: Read> Iterator for CsvRecords<R> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        if self.done {
            return None;
        }
        let headers = self.headers.get_or_insert_with(|| {
            self.reader
                .headers()
                .map(|h| h.iter().map(str::to_owned).collect())
                .map_err(|e| e.to_string())
        });
        let headers = match headers {
            Ok(h) => h.clone(),
            Err(e) => {
                self.done = true;
                // Without a header no row can be read: the file is unreadable.
                return Some(Record {
                    line: 1,
                    samples: Err(RecordError {
                        unreadable: true,
                        ..self.mapper.error(1, format!("unreadable CSV header: {e}"))
                    }),
                });
            }
        };
        match self.reader.read_record(&mut self.record) {
            Ok(false) => None,
            Ok(true) => {
                let line = self.record.position().map_or(0, |p| p.line());
                let mut object = Map::new();
                for (name, cell) in headers.iter().zip(self.record.iter()) {
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
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                // The csv reader resynchronises on the next row, except after
                // an I/O error, which ends the stream.
                let error = match e.kind() {
                    csv::ErrorKind::Io(io) => {
                        self.done = true;
                        self.mapper.read_error(line, io)
                    }
                    _ => self.mapper.error(line, format!("malformed CSV row: {e}")),
                };
                Some(Record {
                    line,
                    samples: Err(error),
                })
            }
        }
    }
}
