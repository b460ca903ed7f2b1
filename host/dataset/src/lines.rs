//! Bounded record splitting: the one place a dataset's bytes are cut into
//! records, so that no record can make the reader buffer more than the cap.
//!
//! A record longer than the cap is consumed in bounded pieces up to its end
//! (never held whole) and reported as [`Piece::TooLong`]; the next record is
//! read normally. JSONL records end at a newline; CSV records at a newline
//! outside a quoted field ([`CsvBoundary`] follows the quoting rules of the
//! `csv` crate, which parses each record afterwards).

use std::io::{BufRead, ErrorKind};

/// What [`Splitter::next`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Piece {
    /// The end of the input.
    Eof,
    /// A record (in the buffer, without its final newline) starting on this
    /// 1-based line.
    Record { line: u64 },
    /// A record longer than the cap starting on this line; its `bytes` were
    /// consumed and dropped.
    TooLong { line: u64, bytes: u64 },
}

/// Where a record ends.
pub(crate) trait Boundary {
    /// The index in `chunk` of the newline that ends the current record, if
    /// any. Called on consecutive chunks of one record; [`Boundary::reset`]
    /// starts the next record.
    fn find(&mut self, chunk: &[u8]) -> Option<usize>;
    /// Starts a new record.
    fn reset(&mut self) {}
}

/// JSON Lines: every newline ends a record.
pub(crate) struct LineBoundary;

impl Boundary for LineBoundary {
    fn find(&mut self, chunk: &[u8]) -> Option<usize> {
        chunk.iter().position(|&b| b == b'\n')
    }
}

/// CSV (RFC 4180 as the `csv` crate reads it): a newline ends a record
/// unless it is inside a quoted field; a quote opens a quoted field only at
/// the start of a field, `""` inside one is an escaped quote.
#[derive(Default)]
pub(crate) struct CsvBoundary {
    state: CsvState,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum CsvState {
    #[default]
    StartField,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

impl Boundary for CsvBoundary {
    fn find(&mut self, chunk: &[u8]) -> Option<usize> {
        use CsvState::*;
        for (i, &b) in chunk.iter().enumerate() {
            self.state = match (self.state, b) {
                (Quoted, b'"') => QuoteInQuoted,
                (Quoted, _) => Quoted,
                (QuoteInQuoted, b'"') | (StartField, b'"') => Quoted,
                (_, b'\n') => return Some(i),
                (_, b',') => StartField,
                _ => Unquoted,
            };
        }
        None
    }

    fn reset(&mut self) {
        self.state = CsvState::StartField;
    }
}

/// Cuts a source into records of at most `max` bytes.
pub(crate) struct Splitter<R, B> {
    reader: R,
    boundary: B,
    max: usize,
    /// Lines consumed so far.
    line: u64,
}

impl<R: BufRead, B: Boundary> Splitter<R, B> {
    pub(crate) fn new(reader: R, boundary: B, max: usize) -> Self {
        Splitter {
            reader,
            boundary,
            max,
            line: 0,
        }
    }

    /// Reads the next record into `buf` (cleared first). On an I/O error the
    /// line it happened on is returned with it.
    pub(crate) fn next(&mut self, buf: &mut Vec<u8>) -> Result<Piece, (u64, std::io::Error)> {
        buf.clear();
        self.boundary.reset();
        let line = self.line + 1;
        let mut bytes: u64 = 0;
        let mut too_long = false;
        let mut any = false;
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err((line, e)),
            };
            if chunk.is_empty() {
                if !any {
                    return Ok(Piece::Eof);
                }
                // The last record has no final newline.
                self.line += 1;
                break;
            }
            any = true;
            let (content, used, ended) = match self.boundary.find(chunk) {
                Some(at) => (&chunk[..at], at + 1, true),
                None => (chunk, chunk.len(), false),
            };
            bytes += content.len() as u64;
            // Lines inside the record (CSV quoted fields), and its own end.
            self.line += content.iter().filter(|&&b| b == b'\n').count() as u64;
            if !too_long {
                if buf.len() + content.len() <= self.max {
                    buf.extend_from_slice(content);
                } else {
                    too_long = true;
                    buf.clear();
                    buf.shrink_to(64 * 1024);
                }
            }
            self.reader.consume(used);
            if ended {
                self.line += 1;
                break;
            }
        }
        Ok(if too_long {
            Piece::TooLong { line, bytes }
        } else {
            Piece::Record { line }
        })
    }
}

/// The message of a [`Piece::TooLong`].
pub(crate) fn too_long_message(max: usize) -> String {
    format!("line longer than {max} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split<B: Boundary>(input: &[u8], boundary: B, max: usize, cap: usize) -> Vec<String> {
        // A tiny BufReader capacity makes records span many chunks.
        let reader = std::io::BufReader::with_capacity(cap, input);
        let mut s = Splitter::new(reader, boundary, max);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            match s.next(&mut buf).unwrap() {
                Piece::Eof => return out,
                Piece::Record { line } => {
                    out.push(format!("{line}:{}", String::from_utf8_lossy(&buf)))
                }
                Piece::TooLong { line, bytes } => out.push(format!("{line}:too long ({bytes})")),
            }
            assert!(buf.capacity() <= max.max(64 * 1024) + cap, "bounded buffer");
        }
    }

    #[test]
    fn a_long_line_is_skipped_in_bounded_pieces_and_the_next_read_normally() {
        let long = "x".repeat(1000);
        let input = format!("a\n{long}\nb\n\nc");
        for cap in [1, 3, 7, 4096] {
            assert_eq!(
                split(input.as_bytes(), LineBoundary, 10, cap),
                ["1:a", "2:too long (1000)", "3:b", "4:", "5:c"],
                "BufReader capacity {cap}"
            );
        }
        // Exactly at the cap is fine.
        assert_eq!(
            split(b"0123456789\n", LineBoundary, 10, 4),
            ["1:0123456789"]
        );
        assert_eq!(
            split(b"0123456789A\n", LineBoundary, 10, 4),
            ["1:too long (11)"]
        );
    }

    #[test]
    fn csv_records_end_at_newlines_outside_quotes() {
        let input =
            b"h1,h2\n\"multi\nline\",\"say \"\"hi\"\"\n\"\na\"b,c\n\"long\nlong long\",x\nlast,1";
        assert_eq!(
            split(input, CsvBoundary::default(), 100, 2),
            [
                "1:h1,h2",
                "2:\"multi\nline\",\"say \"\"hi\"\"\n\"",
                "5:a\"b,c",
                "6:\"long\nlong long\",x",
                "8:last,1"
            ]
        );
        // A record past the cap is skipped as a whole, quoted newlines and all;
        // line numbers still count them.
        assert_eq!(
            split(input, CsvBoundary::default(), 12, 3),
            [
                "1:h1,h2",
                "2:too long (26)",
                "5:a\"b,c",
                "6:too long (18)",
                "8:last,1"
            ]
        );
    }
}
