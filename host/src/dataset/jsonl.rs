//! JSON Lines reader: one JSON object per line; blank lines are ignored.

use std::io::BufRead;

use super::Record;
use super::mapping::Mapper;

/// Streams records from a JSONL source.
pub struct JsonlRecords<R> {
    reader: R,
    mapper: Mapper,
    line: u64,
    buf: String,
}

impl<R: BufRead> JsonlRecords<R> {
    /// A reader over `reader`.
    pub fn new(reader: R, mapper: Mapper) -> Self {
        JsonlRecords {
            reader,
            mapper,
            line: 0,
            buf: String::new(),
        }
    }
}

impl<R: BufRead> Iterator for JsonlRecords<R> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        loop {
            self.buf.clear();
            self.line += 1;
            let line = self.line;
            match self.reader.read_line(&mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => {
                    // Invalid UTF-8 or an I/O error: report it on this line
                    // and skip the rest of the line.
                    let mut skip = Vec::new();
                    let _ = self.reader.read_until(b'\n', &mut skip);
                    return Some(Record {
                        line,
                        samples: Err(self.mapper.error(line, format!("unreadable line: {e}"))),
                    });
                }
            }
            let text = self.buf.trim();
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
