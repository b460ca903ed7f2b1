//! Recording a run: the scoring thread hands every sample and evaluation to
//! a [`Recorder`], which only appends them to the chunk being filled (see
//! [`crate::chunks`]); full chunks go through a bounded channel to the
//! recorder's writer thread, which encodes, hashes and stores them on a
//! connection of its own. The run's summary is written by
//! [`Recorder::finish`], after the writer has stored every chunk; a recorder
//! dropped before that deletes the run.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use rusqlite::{Connection, TransactionBehavior, params};

use crate::chunks::{CHUNK_SAMPLES, ChunkBuilder};
use crate::error::HistoryError;
use caliper_report::run_report::RunReport;
use caliper_types::history::SampleDetail;
use caliper_types::outcome::Evaluation;
use caliper_types::sample::Sample;
use caliper_types::stewardship::Stewardship;

/// Full chunks waiting for the writer; the scoring thread waits when the
/// writer falls this far behind (memory stays bounded).
const QUEUED_CHUNKS: usize = 4;

/// A run being recorded (see [`crate::History::start`]).
pub struct Recorder<'a> {
    conn: &'a mut Connection,
    run_id: i64,
    path: PathBuf,
    keep_texts: bool,
    chunk: ChunkBuilder,
    next_seq: i64,
    /// `None` once closed.
    to_writer: Option<SyncSender<ChunkBuilder>>,
    writer: Option<JoinHandle<Result<(), HistoryError>>>,
    finished: bool,
    /// Per metric instance, written with the run's figures.
    stewardship: HashMap<String, Stewardship>,
}

impl<'a> Recorder<'a> {
    /// Starts the writer thread for run `run_id` (a row of `runs` already).
    pub(crate) fn start(
        conn: &'a mut Connection,
        path: PathBuf,
        run_id: i64,
        detail: SampleDetail,
    ) -> Result<Recorder<'a>, HistoryError> {
        let sql = |error| HistoryError::Sqlite {
            path: path.clone(),
            error,
        };
        let writer_conn = crate::db::connect(&path).map_err(sql)?;
        let (to_writer, chunks) = sync_channel(QUEUED_CHUNKS);
        let writer_path = path.clone();
        let writer = std::thread::Builder::new()
            .name("caliper-history".into())
            .spawn(move || write_chunks(writer_conn, writer_path, run_id, chunks))
            .map_err(|error| HistoryError::Io {
                path: path.clone(),
                error,
            })?;
        let keep_texts = detail == SampleDetail::Full;
        Ok(Recorder {
            conn,
            run_id,
            path,
            keep_texts,
            chunk: ChunkBuilder::new(0, keep_texts),
            next_seq: 1,
            to_writer: Some(to_writer),
            writer: Some(writer),
            finished: false,
            stewardship: HashMap::new(),
        })
    }

    /// The id the run will have.
    pub fn run_id(&self) -> i64 {
        self.run_id
    }

    /// Sets a metric instance's owner, stage and review-by date for this
    /// run (see [`Stewardship::resolve`]); written by [`Recorder::finish`].
    pub fn stewardship(&mut self, metric: &str, stewardship: Stewardship) {
        self.stewardship.insert(metric.to_owned(), stewardship);
    }

    /// Records one sample's id and (unless the run keeps only ids) its
    /// texts and metadata; its evaluations follow.
    pub fn sample(&mut self, s: &Sample) -> Result<(), HistoryError> {
        if self.chunk.len() >= CHUNK_SAMPLES {
            self.send_chunk()?;
        }
        self.chunk.sample(s);
        Ok(())
    }

    /// Records one evaluation (without its reason and labels when the run
    /// keeps only ids).
    pub fn evaluation(&mut self, e: &Evaluation) -> Result<(), HistoryError> {
        self.chunk.evaluation(e);
        Ok(())
    }

    /// Hands the chunk being filled to the writer and starts the next one.
    fn send_chunk(&mut self) -> Result<(), HistoryError> {
        let next = ChunkBuilder::new(self.next_seq, self.keep_texts);
        self.next_seq += 1;
        let full = std::mem::replace(&mut self.chunk, next);
        // (The chunk of a failed send is dropped: the run is abandoned.)
        let sent = self
            .to_writer
            .as_ref()
            .map(|tx| tx.send(full).map_err(drop));
        match sent {
            Some(Ok(())) => Ok(()),
            // The writer stopped: its error says why.
            _ => Err(self
                .close_writer()
                .err()
                .unwrap_or_else(|| HistoryError::Writer {
                    path: self.path.clone(),
                    why: "the history writer stopped",
                })),
        }
    }

    /// Closes the channel and waits for the writer to store what it has.
    fn close_writer(&mut self) -> Result<(), HistoryError> {
        self.to_writer = None;
        match self.writer.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(HistoryError::Writer {
                path: self.path.clone(),
                why: "the history writer panicked",
            }),
            None => Ok(()),
        }
    }

    /// Stores the last chunk and the run's summary, which makes the run
    /// visible; returns its id.
    pub fn finish(mut self, report: &RunReport) -> Result<i64, HistoryError> {
        if !self.chunk.is_empty() {
            self.send_chunk()?;
        }
        self.close_writer()?;
        let path = self.path.clone();
        let sql = |error| HistoryError::Sqlite {
            path: path.clone(),
            error,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        for m in &report.metrics {
            let st = self.stewardship.get(&m.metric).cloned().unwrap_or_default();
            tx.execute(
                "INSERT INTO run_metrics (run_id, metric, name, version, digest, figures,
                     owner, stage, review_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    self.run_id,
                    m.metric,
                    m.name,
                    m.version,
                    m.digest,
                    serde_json::to_string(&m.figures).unwrap_or_default(),
                    st.owner,
                    // Always set, so that a recorded run is told from an old one.
                    st.stage.unwrap_or_default().as_str(),
                    st.review_by.map(|d| d.to_string()),
                ],
            )
            .map_err(sql)?;
        }
        // Segments are metadata values: not kept when only ids are.
        let summary = if self.keep_texts {
            serde_json::to_string(report)
        } else {
            serde_json::to_string(&RunReport {
                segments: Default::default(),
                ..report.clone()
            })
        }
        .unwrap_or_default();
        tx.execute(
            "UPDATE runs SET dataset_digest = ?2, records = ?3, samples = ?4,
                 invalid_records = ?5, passed = ?6, elapsed_s = ?7, summary = ?8
             WHERE id = ?1",
            params![
                self.run_id,
                report.dataset_digest,
                report.records as i64,
                report.samples as i64,
                report.invalid_records as i64,
                report.passed,
                report.elapsed_s,
                summary
            ],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)?;
        self.finished = true;
        Ok(self.run_id)
    }
}

/// The writer thread: stores each chunk it receives, one transaction each,
/// until the channel closes; stops at the first error.
fn write_chunks(
    mut conn: Connection,
    path: PathBuf,
    run_id: i64,
    chunks: Receiver<ChunkBuilder>,
) -> Result<(), HistoryError> {
    let sql = |error| HistoryError::Sqlite {
        path: path.clone(),
        error,
    };
    for builder in chunks {
        let chunk = builder.finish();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let digest = match &chunk.texts {
            Some(texts) => {
                // Another run of the same data stored them: no need to
                // compress them again.
                let stored = tx
                    .prepare_cached("SELECT 1 FROM sample_texts WHERE digest = ?1")
                    .and_then(|mut stmt| stmt.exists([&texts.digest[..]]))
                    .map_err(sql)?;
                if !stored {
                    tx.prepare_cached("INSERT INTO sample_texts (digest, body) VALUES (?1, ?2)")
                        .and_then(|mut stmt| {
                            stmt.execute(params![&texts.digest[..], texts.compressed()])
                        })
                        .map_err(sql)?;
                }
                Some(&texts.digest[..])
            }
            None => None,
        };
        tx.prepare_cached(
            "INSERT INTO run_chunks (run_id, seq, body, texts) VALUES (?1, ?2, ?3, ?4)",
        )
        .and_then(|mut stmt| stmt.execute(params![run_id, chunk.seq, chunk.body, digest]))
        .map_err(sql)?;
        tx.commit().map_err(sql)?;
    }
    Ok(())
}

impl Drop for Recorder<'_> {
    /// An unfinished run (Ctrl-C, an error) leaves nothing behind: its
    /// chunks, and the texts no other run shares.
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let _ = self.close_writer();
        let _ = crate::db::delete_run(self.conn, self.run_id);
    }
}
