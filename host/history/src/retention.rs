//! What the history keeps: at most `keep_runs` finished runs, at most
//! `max_size` bytes of data; the oldest runs go first, and never the newest.
//! Pruning frees pages that later runs reuse; [`History::vacuum`] gives the
//! space back to the file system (`caliper history prune` does both).

use serde::Serialize;

use crate::error::HistoryError;
use crate::runs::History;

/// Limits of the history (`[history] keep_runs`, `max_size`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Most finished runs kept.
    pub keep_runs: Option<usize>,
    /// Most data kept, in bytes (pages in use, not the file's size).
    pub max_size: Option<u64>,
}

impl Retention {
    /// Whether any limit is set.
    pub fn is_set(&self) -> bool {
        self.keep_runs.is_some() || self.max_size.is_some()
    }
}

/// An unfinished run older than this was abandoned (its process died).
pub const ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// What [`History::prune`] deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Pruned {
    /// Finished runs, oldest first.
    pub runs: Vec<i64>,
    /// Unfinished runs older than [`ABANDONED_AFTER`].
    pub abandoned: Vec<i64>,
}

/// How big the history is.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Size {
    /// Finished runs.
    pub runs: u64,
    /// Bytes in use (pages that hold data).
    pub used_bytes: u64,
    /// Bytes of the database file (with free pages; the WAL is not counted).
    pub file_bytes: u64,
}

impl History {
    /// The number of runs and bytes of the database.
    pub fn size(&self) -> Result<Size, HistoryError> {
        let pragma = |name: &str| -> Result<u64, HistoryError> {
            self.conn()
                .pragma_query_value(None, name, |r| r.get::<_, i64>(0))
                .map(|v| v.max(0) as u64)
                .map_err(|e| self.err(e))
        };
        let (pages, free, page_size) = (
            pragma("page_count")?,
            pragma("freelist_count")?,
            pragma("page_size")?,
        );
        let runs: i64 = self
            .conn()
            .query_row(
                "SELECT count(*) FROM runs WHERE passed IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        Ok(Size {
            runs: runs.max(0) as u64,
            used_bytes: (pages - free.min(pages)) * page_size,
            file_bytes: pages * page_size,
        })
    }

    /// Deletes the oldest finished runs (with their evaluations and the
    /// sample texts no remaining run shares) until `retention` holds; the
    /// newest run is always kept. Also deletes the chunks of runs that
    /// started more than [`ABANDONED_AFTER`] ago and never finished (a
    /// process killed mid-run); younger unfinished runs may still be
    /// recording and are never touched.
    pub fn prune(&mut self, retention: &Retention) -> Result<Pruned, HistoryError> {
        let ids = |sql: &str, params: &[&str]| -> Result<Vec<i64>, HistoryError> {
            let mut stmt = self.conn().prepare(sql).map_err(|e| self.err(e))?;
            stmt.query_map(rusqlite::params_from_iter(params), |r| r.get(0))
                .and_then(|rows| rows.collect::<Result<_, _>>())
                .map_err(|e| self.err(e))
        };
        let cutoff = std::time::SystemTime::now()
            .checked_sub(ABANDONED_AFTER)
            .unwrap_or(std::time::UNIX_EPOCH);
        let cutoff = humantime::format_rfc3339_seconds(cutoff).to_string();
        let abandoned = ids(
            "SELECT id FROM runs WHERE passed IS NULL AND started_at < ?1 ORDER BY id",
            &[&cutoff],
        )?;
        for &id in &abandoned {
            crate::db::delete_run(self.conn(), id).map_err(|e| self.err(e))?;
        }
        let finished = ids(
            "SELECT id FROM runs WHERE passed IS NOT NULL ORDER BY id",
            &[],
        )?;
        let mut runs = Vec::new();
        let keep = retention.keep_runs.unwrap_or(usize::MAX).max(1);
        let over = finished.len().saturating_sub(keep);
        for &id in &finished[..over] {
            crate::db::delete_run(self.conn(), id).map_err(|e| self.err(e))?;
            runs.push(id);
        }
        if let Some(max) = retention.max_size {
            for &id in &finished[over..finished.len().saturating_sub(1)] {
                if self.size()?.used_bytes <= max {
                    break;
                }
                crate::db::delete_run(self.conn(), id).map_err(|e| self.err(e))?;
                runs.push(id);
            }
        }
        if !runs.is_empty() || !abandoned.is_empty() {
            tracing::info!(
                runs = runs.len(),
                abandoned = abandoned.len(),
                "pruned the run history"
            );
        }
        Ok(Pruned { runs, abandoned })
    }

    /// Rewrites the database without its free pages (SQLite's `VACUUM`),
    /// so that the file shrinks to the data it holds.
    pub fn vacuum(&mut self) -> Result<(), HistoryError> {
        self.conn().execute_batch("VACUUM").map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use caliper_report::run_report::RunReport;
    use caliper_types::outcome::{Evaluation, Status};
    use caliper_types::sample::Sample;
    use std::path::Path;

    fn report() -> RunReport {
        RunReport {
            dataset: "d.jsonl".into(),
            dataset_digest: None,
            records: 0,
            samples: 0,
            invalid_records: 0,
            invalid_examples: vec![],
            metrics: vec![],
            group_by: None,
            segments: Default::default(),
            gates: vec![],
            passed: true,
            stopped_early: None,
            elapsed_s: 0.1,
        }
    }

    /// 256 characters that do not compress much, different for each `i`.
    fn noise(i: usize) -> String {
        use sha2::{Digest, Sha256};
        (0..4)
            .map(|k| format!("{:x}", Sha256::digest(format!("{i}.{k}"))))
            .collect()
    }

    /// Records a run of `n` samples whose outputs start at `first`.
    fn record(h: &mut History, first: usize, n: usize) -> i64 {
        let mut r = h.start("d.jsonl", Path::new("caliper.toml"), "").unwrap();
        for i in first..first + n {
            let id = format!("s{i}");
            r.sample(&Sample {
                id: id.clone(),
                input: "question".into(),
                output: format!("answer number {i} {}", noise(i)),
                ..Sample::default()
            })
            .unwrap();
            r.evaluation(&Evaluation {
                sample_id: id,
                metric: "m".into(),
                name: "m".into(),
                version: "0.1.0".into(),
                digest: "sha256:00".into(),
                outcome: Status::Pass,
                value: None,
                reason: None,
                labels: Default::default(),
                duration_us: 3,
            })
            .unwrap();
        }
        r.finish(&report()).unwrap()
    }

    fn count(h: &History, table: &str) -> i64 {
        h.conn()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn runs_of_the_same_data_share_their_texts_and_pruning_keeps_what_is_shared() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = History::open(&dir.path().join("h.db")).unwrap();
        let n = crate::chunks::CHUNK_SAMPLES * 2 + 10;
        let first = record(&mut h, 0, n);
        let texts = count(&h, "sample_texts");
        assert_eq!(texts, 3, "three chunks of texts");
        let one_run = h.size().unwrap().used_bytes;
        record(&mut h, 0, n);
        assert_eq!(
            count(&h, "sample_texts"),
            texts,
            "the same data is stored once"
        );
        let two_runs = h.size().unwrap().used_bytes;
        assert!(
            two_runs - one_run < one_run / 4,
            "a second run of the same data adds {} bytes to {one_run}",
            two_runs - one_run
        );
        // Shifted data shares nothing.
        record(&mut h, 1, n);
        assert_eq!(count(&h, "sample_texts"), 2 * texts);
        let pruned = h
            .prune(&Retention {
                keep_runs: Some(2),
                max_size: None,
            })
            .unwrap();
        assert_eq!(pruned.runs, [first]);
        assert_eq!(
            count(&h, "sample_texts"),
            2 * texts,
            "run 2 still uses run 1's texts"
        );
        let texts_of_2 = h.sample_texts(first + 1, None).unwrap().unwrap();
        assert_eq!(texts_of_2.len(), n);
        assert!(texts_of_2["s5"].output.starts_with("answer number 5 "));
        assert_eq!(h.size().unwrap().runs, 2);
    }

    #[test]
    fn a_size_limit_deletes_the_oldest_runs_but_never_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = History::open(&dir.path().join("h.db")).unwrap();
        let ids: Vec<i64> = (0..4).map(|i| record(&mut h, i * 5000, 3000)).collect();
        let before = h.size().unwrap();
        let pruned = h
            .prune(&Retention {
                keep_runs: None,
                max_size: Some(before.used_bytes * 6 / 10),
            })
            .unwrap();
        assert_eq!(pruned.runs, ids[..2]);
        let after = h.size().unwrap();
        assert!(after.used_bytes <= before.used_bytes * 6 / 10);
        assert_eq!(
            after.file_bytes, before.file_bytes,
            "free pages stay until VACUUM"
        );
        h.vacuum().unwrap();
        assert!(h.size().unwrap().file_bytes < before.file_bytes * 7 / 10);
        // A limit below one run keeps the newest.
        let pruned = h
            .prune(&Retention {
                keep_runs: Some(0),
                max_size: Some(0),
            })
            .unwrap();
        assert_eq!(pruned.runs, [ids[2]]);
        assert_eq!(h.runs(10).unwrap()[0].id, ids[3]);
    }

    #[test]
    fn an_abandoned_run_is_pruned_and_a_recording_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = History::open(&dir.path().join("h.db")).unwrap();
        record(&mut h, 0, 10);
        // Two unfinished runs: one of a process that died two days ago, one
        // started a minute ago.
        for (id, age_s) in [(100, 2 * 24 * 3600), (101, 60)] {
            let started = std::time::SystemTime::now() - std::time::Duration::from_secs(age_s);
            h.conn()
                .execute(
                    "INSERT INTO runs (id, started_at, caliper_version, dataset, config_path, config)
                     VALUES (?1, ?2, '0', 'd', 'c', '')",
                    rusqlite::params![id, humantime::format_rfc3339_seconds(started).to_string()],
                )
                .unwrap();
            h.conn()
                .execute(
                    "INSERT INTO run_chunks (run_id, seq, body) VALUES (?1, 0, x'00')",
                    [id],
                )
                .unwrap();
        }
        let pruned = h.prune(&Retention::default()).unwrap();
        assert_eq!(
            pruned,
            Pruned {
                runs: vec![],
                abandoned: vec![100]
            }
        );
        assert_eq!(count(&h, "run_chunks"), 2, "run 1's chunk and run 101's");
    }
}
