//! Run history: every `caliper run` records itself (metrics with versions
//! and digests, dataset digest, config, figures, gates, and every
//! evaluation) in an embedded SQLite database, so that `caliper history`
//! can show trends and `caliper compare` can compare against a stored run.
//!
//! The schema is versioned with `PRAGMA user_version`; [`MIGRATIONS`] are
//! applied in order, each in a transaction, when a database is opened. An
//! older database is upgraded in place; a database from a newer Caliper is
//! refused (never modified or dropped).
//!
//! The database holds raw inputs and outputs, so a new one is created
//! `0600` (SQLite gives its `-journal`, `-wal` and `-shm` files the mode of
//! the database). With `[history] samples = "ids"` ([`SampleDetail::Ids`])
//! a run keeps only sample ids, outcomes, values and durations: no input,
//! output or metadata, no reasons or labels (a metric may quote the input
//! in them), no per-segment figures (segments are metadata values).
//! `caliper history` and `audit` read nothing more; `compare` of such a run
//! has no texts ([`History::sample_texts`] is `None`) and needs the
//! datasets for `--group-by`.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use std::collections::HashMap;

use crate::audit::{MetricHistory, MetricRun, RunInfo};
use crate::chunks::{self, StoredEvaluation};
pub use crate::error::HistoryError;
pub use crate::record::Recorder;
use caliper_report::compare::{ResultSet, SampleText};
pub use caliper_types::history::SampleDetail;
use caliper_types::outcome::{Evaluation, Status};
use caliper_types::sample::Sample;
use caliper_types::stewardship::Stewardship;

/// The schema, one step per version: `MIGRATIONS[i]` upgrades version `i`
/// to `i + 1`. Never edit a released step; add one.
pub const MIGRATIONS: &[&str] = &[
    // 1: runs and their per-metric figures.
    "CREATE TABLE runs (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         started_at TEXT NOT NULL,
         caliper_version TEXT NOT NULL,
         dataset TEXT NOT NULL,
         dataset_digest TEXT,
         config_path TEXT NOT NULL,
         config TEXT NOT NULL,
         records INTEGER,
         samples INTEGER,
         invalid_records INTEGER,
         passed INTEGER,
         elapsed_s REAL,
         summary TEXT
     );
     CREATE TABLE run_metrics (
         run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
         metric TEXT NOT NULL,
         name TEXT NOT NULL,
         version TEXT NOT NULL,
         digest TEXT NOT NULL,
         figures TEXT NOT NULL,
         PRIMARY KEY (run_id, metric)
     );",
    // 2: every evaluation of a run.
    "CREATE TABLE evaluations (
         run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
         metric TEXT NOT NULL,
         sample_id TEXT NOT NULL,
         name TEXT NOT NULL,
         version TEXT NOT NULL,
         digest TEXT NOT NULL,
         outcome TEXT NOT NULL,
         value REAL,
         reason TEXT,
         labels TEXT,
         duration_us INTEGER NOT NULL
     );
     CREATE INDEX evaluations_by_run ON evaluations (run_id, metric);",
    // 3: the samples of a run (input, output, metadata), so that a
    // comparison against a stored run can show texts and segments.
    "CREATE TABLE samples (
         run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
         sample_id TEXT NOT NULL,
         input TEXT NOT NULL,
         output TEXT NOT NULL,
         metadata TEXT,
         PRIMARY KEY (run_id, sample_id)
     );",
    // 4: each metric instance's stewardship at the time of the run (owner,
    // stage, review-by date), which `caliper audit` cannot recompute later.
    // NULL in runs recorded before; a recorded run always has a stage.
    "ALTER TABLE run_metrics ADD COLUMN owner TEXT;
     ALTER TABLE run_metrics ADD COLUMN stage TEXT;
     ALTER TABLE run_metrics ADD COLUMN review_by TEXT;",
    // 5: what a run kept of its samples: NULL (all, as every run recorded
    // before) or 'ids' (no texts, no reasons or labels).
    "ALTER TABLE runs ADD COLUMN sample_detail TEXT;",
    // 6: runs from now on store their samples and evaluations in chunks
    // (see `chunks`); the texts of a chunk once per content. Runs recorded
    // before keep their rows in `evaluations` and `samples`.
    "CREATE TABLE run_chunks (
         run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
         seq INTEGER NOT NULL,
         body BLOB NOT NULL,
         texts BLOB,
         PRIMARY KEY (run_id, seq)
     ) WITHOUT ROWID;
     CREATE INDEX run_chunks_by_texts ON run_chunks (texts);
     CREATE TABLE sample_texts (
         digest BLOB PRIMARY KEY,
         body BLOB NOT NULL
     ) WITHOUT ROWID;",
];

/// A reference to a recorded run, as commands accept it: `last` (the newest
/// run), `last~N` (N runs before it), `run:ID` or a bare `ID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunRef {
    /// So many runs before the newest (`last` is 0).
    Back(i64),
    /// A run id.
    Id(i64),
}

impl RunRef {
    /// The reference `text` spells, if it spells one.
    pub fn parse(text: &str) -> Option<RunRef> {
        if text == "last" {
            return Some(RunRef::Back(0));
        }
        if let Some(n) = text.strip_prefix("last~") {
            return n.parse().ok().filter(|n| *n >= 0).map(RunRef::Back);
        }
        let id = text.strip_prefix("run:").unwrap_or(text);
        id.parse().ok().filter(|id| *id > 0).map(RunRef::Id)
    }
}

/// The run history database.
pub struct History {
    conn: Connection,
    path: PathBuf,
    detail: SampleDetail,
}

/// A stored run, as listed by [`History::runs`].
#[derive(Debug, Clone, Serialize)]
pub struct StoredRun {
    /// Run id.
    pub id: i64,
    /// RFC 3339 start time.
    pub started_at: String,
    /// Dataset path.
    pub dataset: String,
    /// Dataset digest.
    pub dataset_digest: Option<String>,
    /// Samples scored.
    pub samples: i64,
    /// Whether every gate passed.
    pub passed: bool,
    /// Per metric.
    pub metrics: Vec<StoredMetric>,
}

/// One metric of a [`StoredRun`].
#[derive(Debug, Clone, Serialize)]
pub struct StoredMetric {
    /// Instance name.
    pub metric: String,
    /// Version.
    pub version: String,
    /// Digest.
    pub digest: String,
    /// The figures of the run (pass rate, counts, quantiles).
    pub figures: serde_json::Value,
}

impl History {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        Self::open_at_version(path, MIGRATIONS.len())
    }

    /// Opens and migrates up to `version` only (tests use this to create an
    /// old database).
    pub fn open_at_version(path: &Path, version: usize) -> Result<History, HistoryError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|error| HistoryError::Io {
                path: path.to_owned(),
                error,
            })?;
        }
        let sql = |error| HistoryError::Sqlite {
            path: path.to_owned(),
            error,
        };
        crate::db::create_private(path).map_err(|error| HistoryError::Io {
            path: path.to_owned(),
            error,
        })?;
        let mut conn = crate::db::connect(path).map_err(sql)?;
        let found: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sql)?;
        let supported = MIGRATIONS.len() as i64;
        if found > supported {
            return Err(HistoryError::TooNew {
                path: path.to_owned(),
                found,
                supported,
            });
        }
        for (i, step) in MIGRATIONS
            .iter()
            .enumerate()
            .take(version)
            .skip(found as usize)
        {
            let tx = conn.transaction().map_err(sql)?;
            tx.execute_batch(step).map_err(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(sql)?;
            tx.commit().map_err(sql)?;
            if found > 0 {
                tracing::info!(path = %path.display(), from = i, to = i + 1, "upgraded the run history");
            }
        }
        Ok(History {
            conn,
            path: path.to_owned(),
            detail: SampleDetail::Full,
        })
    }

    /// Records the runs started from now on with `detail` of their samples.
    pub fn with_samples(mut self, detail: SampleDetail) -> History {
        self.detail = detail;
        self
    }

    /// The schema version of the open database.
    pub fn version(&self) -> Result<i64, HistoryError> {
        self.conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    pub(crate) fn err(&self, error: rusqlite::Error) -> HistoryError {
        HistoryError::Sqlite {
            path: self.path.clone(),
            error,
        }
    }

    /// The connection (for the other modules of the crate).
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Starts recording a run. The run is invisible (to `runs`, `resolve`)
    /// until [`Recorder::finish`]; a recorder dropped before that deletes
    /// what it wrote. Samples and evaluations are stored in chunks by a
    /// writer thread of the recorder, off the scoring path, each chunk in a
    /// short transaction, so concurrent runs on one database do not block
    /// each other for long.
    pub fn start(
        &mut self,
        dataset: &str,
        config_path: &Path,
        config_text: &str,
    ) -> Result<Recorder<'_>, HistoryError> {
        let path = self.path.clone();
        let sql = |error| HistoryError::Sqlite {
            path: path.clone(),
            error,
        };
        self.conn
            .execute(
                "INSERT INTO runs (started_at, caliper_version, dataset, config_path, config)
             VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
                    env!("CARGO_PKG_VERSION"),
                    dataset,
                    config_path.display().to_string(),
                    config_text,
                ],
            )
            .map_err(sql)?;
        let run_id = self.conn.last_insert_rowid();
        // NULL (as in runs recorded before the column existed) means full.
        if self.detail != SampleDetail::Full {
            self.conn
                .execute(
                    "UPDATE runs SET sample_detail = ?2 WHERE id = ?1",
                    params![run_id, self.detail.as_str()],
                )
                .map_err(sql)?;
        }
        Recorder::start(&mut self.conn, path, run_id, self.detail)
    }

    /// The latest runs, newest first.
    pub fn runs(&self, limit: usize) -> Result<Vec<StoredRun>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, started_at, dataset, dataset_digest, samples, passed FROM runs
                 WHERE passed IS NOT NULL ORDER BY id DESC LIMIT ?1",
            )
            .map_err(|e| self.err(e))?;
        let mut runs: Vec<StoredRun> = stmt
            .query_map([limit as i64], |r| {
                Ok(StoredRun {
                    id: r.get(0)?,
                    started_at: r.get(1)?,
                    dataset: r.get(2)?,
                    dataset_digest: r.get(3)?,
                    samples: r.get::<_, Option<i64>>(4)?.unwrap_or(0),
                    passed: r.get::<_, Option<bool>>(5)?.unwrap_or(false),
                    metrics: Vec::new(),
                })
            })
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT metric, version, digest, figures FROM run_metrics WHERE run_id = ?1
                 ORDER BY rowid",
            )
            .map_err(|e| self.err(e))?;
        for run in &mut runs {
            run.metrics = stmt
                .query_map([run.id], |r| {
                    let figures: String = r.get(3)?;
                    Ok(StoredMetric {
                        metric: r.get(0)?,
                        version: r.get(1)?,
                        digest: r.get(2)?,
                        figures: serde_json::from_str(&figures).unwrap_or_default(),
                    })
                })
                .and_then(|rows| rows.collect())
                .map_err(|e| self.err(e))?;
        }
        Ok(runs)
    }

    /// Resolves a run reference ([`RunRef`]): `last` (the newest run),
    /// `last~N` (N runs before it), or a run id (`42` or `run:42`).
    pub fn resolve(&self, reference: &str) -> Result<i64, HistoryError> {
        let missing = |message: String| HistoryError::NoSuchRun {
            path: self.path.clone(),
            message,
        };
        let parsed = RunRef::parse(reference).ok_or_else(|| {
            missing(format!(
                "`{reference}` is not a run reference (last, last~N, or a run id)"
            ))
        })?;
        let back = match parsed {
            RunRef::Back(back) => back,
            RunRef::Id(id) => {
                let exists: Option<i64> = self
                    .conn
                    .query_row(
                        "SELECT id FROM runs WHERE id = ?1 AND passed IS NOT NULL",
                        [id],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(|e| self.err(e))?;
                return exists.ok_or_else(|| missing(format!("no run {id}")));
            }
        };
        self.conn
            .query_row(
                "SELECT id FROM runs WHERE passed IS NOT NULL ORDER BY id DESC LIMIT 1 OFFSET ?1",
                [back],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?
            .ok_or_else(|| {
                missing(format!(
                    "`{reference}`: only {} runs recorded",
                    self.count()
                ))
            })
    }

    fn count(&self) -> i64 {
        self.conn
            .query_row(
                "SELECT count(*) FROM runs WHERE passed IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .unwrap_or(0)
    }

    /// The evaluations of a stored run, as if read from its results file.
    pub fn result_set(&self, run_id: i64) -> Result<ResultSet, HistoryError> {
        // A run's metric instances each ran one component.
        let mut described: HashMap<String, (String, String, String)> = HashMap::new();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT metric, name, version, digest FROM run_metrics WHERE run_id = ?1")
                .map_err(|e| self.err(e))?;
            let rows = stmt
                .query_map([run_id], |r| {
                    Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
                })
                .map_err(|e| self.err(e))?;
            for row in rows {
                let (metric, d) = row.map_err(|e| self.err(e))?;
                described.insert(metric, d);
            }
        }
        let mut set = ResultSet {
            path: PathBuf::from(format!("run:{run_id}")),
            ..ResultSet::default()
        };
        self.each_evaluation(run_id, |e| {
            let (name, version, digest) = described.get(&e.metric).cloned().unwrap_or_default();
            if !set.evaluations.contains_key(&e.metric) {
                set.metrics.push(e.metric.clone());
            }
            set.evaluations.entry(e.metric.clone()).or_default().insert(
                e.sample_id.clone(),
                Evaluation {
                    sample_id: e.sample_id,
                    metric: e.metric,
                    name,
                    version,
                    digest,
                    outcome: e.outcome,
                    value: e.value,
                    reason: e.reason,
                    labels: e.labels,
                    duration_us: e.duration_us,
                },
            );
        })?;
        Ok(set)
    }

    /// Every evaluation of run `run_id` in the order it was recorded: from
    /// its chunks, or from its rows for a run recorded before chunks.
    fn each_evaluation(
        &self,
        run_id: i64,
        mut f: impl FnMut(StoredEvaluation),
    ) -> Result<(), HistoryError> {
        let mut any = false;
        self.each_chunk(run_id, |seq, body, _| {
            any = true;
            let (_, evals) = chunks::decode(body).ok_or_else(|| self.damaged(run_id, seq))?;
            evals.into_iter().for_each(&mut f);
            Ok(())
        })?;
        if any {
            return Ok(());
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT metric, sample_id, outcome, value, duration_us, reason, labels
                 FROM evaluations WHERE run_id = ?1 ORDER BY rowid",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([run_id]).map_err(|e| self.err(e))?;
        let get = |r: &rusqlite::Row<'_>| -> rusqlite::Result<StoredEvaluation> {
            let outcome: String = r.get(2)?;
            let labels: Option<String> = r.get(6)?;
            Ok(StoredEvaluation {
                metric: r.get(0)?,
                sample_id: r.get(1)?,
                outcome: Status::parse(&outcome).unwrap_or(Status::Error),
                value: r.get(3)?,
                duration_us: r.get::<_, i64>(4)?.max(0) as u64,
                reason: r.get(5)?,
                labels: labels
                    .and_then(|l| serde_json::from_str(&l).ok())
                    .unwrap_or_default(),
            })
        };
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            f(get(r).map_err(|e| self.err(e))?);
        }
        Ok(())
    }

    /// Calls `f` with each chunk of run `run_id` in order: its number, body
    /// and texts digest.
    fn each_chunk(
        &self,
        run_id: i64,
        mut f: impl FnMut(i64, &[u8], Option<&[u8]>) -> Result<(), HistoryError>,
    ) -> Result<(), HistoryError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, body, texts FROM run_chunks WHERE run_id = ?1 ORDER BY seq",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([run_id]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let seq: i64 = r.get(0).map_err(|e| self.err(e))?;
            let body = r
                .get_ref(1)
                .and_then(|v| Ok(v.as_blob()?))
                .map_err(|e| self.err(e))?;
            let texts = r
                .get_ref(2)
                .and_then(|v| Ok(v.as_blob_or_null()?))
                .map_err(|e| self.err(e))?;
            f(seq, body, texts)?;
        }
        Ok(())
    }

    fn damaged(&self, run_id: i64, seq: i64) -> HistoryError {
        HistoryError::Damaged {
            path: self.path.clone(),
            run_id,
            seq,
        }
    }
}

/// The texts of a stored run's samples, and their segment for `group_by`.
impl History {
    /// Inputs, outputs and segments of a stored run's samples, by id;
    /// `None` for a run recorded with `samples = "ids"`, which kept none.
    pub fn sample_texts(
        &self,
        run_id: i64,
        group_by: Option<&str>,
    ) -> Result<Option<HashMap<String, SampleText>>, HistoryError> {
        let detail: Option<String> = self
            .conn
            .query_row(
                "SELECT sample_detail FROM runs WHERE id = ?1",
                [run_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?
            .flatten();
        if detail.as_deref() == Some(SampleDetail::Ids.as_str()) {
            return Ok(None);
        }
        let mut stored = Vec::new();
        let mut any = false;
        self.each_chunk(run_id, |seq, body, texts| {
            any = true;
            let Some(digest) = texts else {
                return Ok(());
            };
            let (ids, _) = chunks::decode(body).ok_or_else(|| self.damaged(run_id, seq))?;
            let texts: Vec<u8> = self
                .conn
                .query_row(
                    "SELECT body FROM sample_texts WHERE digest = ?1",
                    [digest],
                    |r| r.get(0),
                )
                .map_err(|e| self.err(e))?;
            let texts = chunks::decode_texts(&texts).ok_or_else(|| self.damaged(run_id, seq))?;
            for (id, (input, output, metadata)) in ids.into_iter().zip(texts) {
                stored.push((id, input, output, metadata));
            }
            Ok(())
        })?;
        if !any {
            stored = self.sample_rows(run_id)?;
        }
        let mut out = HashMap::new();
        for (id, input, output, metadata) in stored {
            if out.contains_key(&id) {
                continue; // the first of a duplicated id wins
            }
            let segment = group_by.map(|key| {
                let sample = Sample {
                    metadata: metadata.clone().unwrap_or_default(),
                    ..Sample::default()
                };
                sample
                    .metadata_text(key)
                    .unwrap_or_else(|| caliper_types::sample::NO_SEGMENT.to_owned())
            });
            out.insert(
                id,
                SampleText {
                    input,
                    output,
                    segment,
                },
            );
        }
        Ok(Some(out))
    }
}

impl History {
    /// The `samples` rows of a run recorded before chunks.
    fn sample_rows(&self, run_id: i64) -> Result<Vec<SampleRow>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare("SELECT sample_id, input, output, metadata FROM samples WHERE run_id = ?1")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([run_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, input, output, metadata) = row.map_err(|e| self.err(e))?;
            let metadata = metadata
                .as_deref()
                .and_then(|m| serde_json::from_str(m).ok());
            out.push((id, input, output, metadata));
        }
        Ok(out)
    }
}

/// A stored sample: id, input, output, metadata.
type SampleRow = (
    String,
    String,
    String,
    Option<caliper_types::sample::Metadata>,
);

/// What `caliper audit` reads.
impl History {
    /// The runs of an audit window (at most `limit` of the latest, and only
    /// those started at or after `since`, an RFC 3339 timestamp), oldest
    /// first, and every metric instance that ran in them with its outcome
    /// counts, durations, verdicts and recorded stewardship (the
    /// `stewardship` field is the newest recorded one; the caller overlays
    /// the current config).
    pub fn audit_window(
        &self,
        limit: Option<usize>,
        since: Option<&str>,
    ) -> Result<(Vec<RunInfo>, Vec<MetricHistory>), HistoryError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, started_at FROM runs
                 WHERE passed IS NOT NULL AND started_at >= ?1
                 ORDER BY id DESC LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let mut runs: Vec<RunInfo> = stmt
            .query_map(
                params![since.unwrap_or(""), limit.map_or(-1, |n| n as i64)],
                |r| {
                    Ok(RunInfo {
                        id: r.get(0)?,
                        started_at: r.get(1)?,
                    })
                },
            )
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))?;
        runs.reverse();

        let mut metrics: Vec<MetricHistory> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut meta = self
            .conn
            .prepare(
                "SELECT metric, name, version, owner, stage, review_by FROM run_metrics
                 WHERE run_id = ?1 ORDER BY rowid",
            )
            .map_err(|e| self.err(e))?;
        for (run_index, run) in runs.iter().enumerate() {
            let rows = meta
                .query_map([run.id], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                    ))
                })
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(|e| self.err(e))?;
            // Where each metric's run sits, for the evaluations below.
            let mut slot: HashMap<String, usize> = HashMap::new();
            for (metric, name, version, owner, stage, review_by) in rows {
                let i = *index.entry(metric.clone()).or_insert_with(|| {
                    metrics.push(MetricHistory {
                        metric: metric.clone(),
                        ..MetricHistory::default()
                    });
                    metrics.len() - 1
                });
                let recorded = Stewardship {
                    owner,
                    stage: stage
                        .and_then(|s| serde_json::from_value(serde_json::Value::String(s)).ok()),
                    review_by: review_by.and_then(|d| caliper_types::date::Date::parse(&d).ok()),
                };
                metrics[i].runs.push(MetricRun {
                    run_id: run.id,
                    started_at: run.started_at.clone(),
                    name,
                    version,
                    recorded,
                    ..MetricRun::default()
                });
                slot.insert(metric, i);
            }
            // Sample ids of this run, numbered, so that verdicts of two
            // metrics on one sample get one key.
            let mut samples: HashMap<String, u32> = HashMap::new();
            let mut seen: std::collections::HashSet<(usize, u32)> = Default::default();
            self.each_evaluation(run.id, |e| {
                let Some(&i) = slot.get(&e.metric) else {
                    return;
                };
                let status = e.outcome;
                let m = &mut metrics[i];
                let mr = m.runs.last_mut().expect("pushed above");
                mr.counts.add(status);
                mr.durations_us.push(e.duration_us);
                let next = samples.len() as u32;
                let sample = *samples.entry(e.sample_id).or_insert(next);
                // A duplicated sample id keeps its first verdict.
                if matches!(status, Status::Pass | Status::Fail) && seen.insert((i, sample)) {
                    let key = ((run_index as u64) << 32) | u64::from(sample);
                    m.verdicts.push((key, status == Status::Fail));
                }
            })?;
        }
        for m in &mut metrics {
            m.verdicts.sort_unstable_by_key(|v| v.0);
            m.stewardship = m.latest_recorded();
        }
        Ok((runs, metrics))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use caliper_report::run_report::RunReport;

    fn report() -> RunReport {
        RunReport {
            dataset: "d.jsonl".into(),
            dataset_digest: Some("sha256:ab".into()),
            records: 1,
            samples: 1,
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

    fn eval(sample: &str, outcome: Status) -> Evaluation {
        Evaluation {
            sample_id: sample.into(),
            metric: "lang".into(),
            name: "language-match".into(),
            version: "0.1.0".into(),
            digest: "sha256:cd".into(),
            outcome,
            value: Some(1.0),
            reason: None,
            labels: [("detected".to_owned(), "de".to_owned())].into(),
            duration_us: 5,
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_new_database_and_its_wal_and_shm_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h/history.db");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let mut h = History::open(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        // WAL mode (a user may turn it on) creates -wal and -shm beside it.
        h.conn.pragma_update(None, "journal_mode", "wal").unwrap();
        let mut r = h.start("d.jsonl", Path::new("caliper.toml"), "").unwrap();
        r.evaluation(&eval("s1", Status::Pass)).unwrap();
        r.finish(&report()).unwrap();
        for sibling in ["history.db-wal", "history.db-shm"] {
            let p = dir.path().join("h").join(sibling);
            assert_eq!(mode(&p), 0o600, "{sibling}");
        }
        // An existing database keeps the mode its owner chose.
        drop(h);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        History::open(&path).unwrap();
        assert_eq!(mode(&path), 0o640);
    }

    #[test]
    fn an_ids_run_keeps_ids_and_outcomes_but_no_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        let mut h = History::open(&path)
            .unwrap()
            .with_samples(SampleDetail::Ids);
        let mut r = h.start("d.jsonl", Path::new("caliper.toml"), "").unwrap();
        let secret = "my card is 4111 1111 1111 1111";
        let sample = Sample {
            id: "s1".into(),
            input: secret.into(),
            output: secret.into(),
            metadata: serde_json::json!({"customer": "ACME"})
                .as_object()
                .unwrap()
                .clone()
                .into(),
            ..Sample::default()
        };
        r.sample(&sample).unwrap();
        let mut e = eval("s1", Status::Fail);
        e.reason = Some(format!("found `{secret}`"));
        r.evaluation(&e).unwrap();
        let mut with_segments = report();
        with_segments.segments.insert("ACME".into(), vec![]);
        let id = r.finish(&with_segments).unwrap();

        let set = h.result_set(id).unwrap();
        let stored = &set.evaluations["lang"]["s1"];
        assert_eq!(stored.outcome, Status::Fail);
        assert_eq!(stored.value, Some(1.0));
        assert_eq!(stored.reason, None);
        assert!(stored.labels.is_empty());
        assert!(h.sample_texts(id, Some("customer")).unwrap().is_none());
        drop(h);
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("4111"), "a sample text was stored");
        assert!(!text.contains("ACME"), "metadata was stored");
        // A full run of the same database keeps its texts.
        let mut h = History::open(&path).unwrap();
        let mut r = h.start("d.jsonl", Path::new("caliper.toml"), "").unwrap();
        r.sample(&sample).unwrap();
        let id = r.finish(&report()).unwrap();
        let texts = h.sample_texts(id, Some("customer")).unwrap().unwrap();
        assert_eq!(texts["s1"].segment.as_deref(), Some("ACME"));
    }

    #[test]
    fn run_references_parse_as_documented() {
        for (text, parsed) in [
            ("last", Some(RunRef::Back(0))),
            ("last~3", Some(RunRef::Back(3))),
            ("run:42", Some(RunRef::Id(42))),
            ("42", Some(RunRef::Id(42))),
            ("last~-1", None),
            ("run:0", None),
            ("-4", None),
            ("results.jsonl", None),
            ("last~", None),
        ] {
            assert_eq!(RunRef::parse(text), parsed, "{text}");
        }
    }

    #[test]
    fn runs_round_trip_and_references_resolve() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h/history.db");
        let mut h = History::open(&path).unwrap();
        for outcome in [Status::Pass, Status::Fail] {
            let mut r = h
                .start("d.jsonl", Path::new("caliper.toml"), "[[metric]]")
                .unwrap();
            r.evaluation(&eval("s1", outcome)).unwrap();
            r.finish(&report()).unwrap();
        }
        // An unfinished run leaves nothing behind.
        {
            let mut r = h.start("d.jsonl", Path::new("caliper.toml"), "").unwrap();
            r.evaluation(&eval("s9", Status::Pass)).unwrap();
        }
        let left: i64 = h
            .conn
            .query_row(
                "SELECT count(*) FROM evaluations WHERE sample_id = 's9'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0);
        assert_eq!(h.resolve("last").unwrap(), 2);
        assert_eq!(h.resolve("last~1").unwrap(), 1);
        assert_eq!(h.resolve("run:1").unwrap(), 1);
        assert!(
            h.resolve("last~2")
                .unwrap_err()
                .to_string()
                .contains("only 2 runs")
        );
        assert!(h.resolve("7").is_err());
        assert!(
            h.resolve("yesterday")
                .unwrap_err()
                .to_string()
                .contains("not a run reference")
        );
        let set = h.result_set(2).unwrap();
        let e = &set.evaluations["lang"]["s1"];
        assert_eq!((e.outcome, e.value), (Status::Fail, Some(1.0)));
        assert_eq!(e.labels["detected"], "de");
        assert_eq!(h.runs(10).unwrap().len(), 2);
    }

    #[test]
    fn an_old_database_is_upgraded_and_a_newer_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        {
            let h = History::open_at_version(&path, 1).unwrap();
            assert_eq!(h.version().unwrap(), 1);
            h.conn
                .execute(
                    "INSERT INTO runs (started_at, caliper_version, dataset, config_path, config, samples, passed)
                     VALUES ('2026-01-01T00:00:00Z', '0.0.1', 'old.jsonl', 'c.toml', '', 3, 1)",
                    [],
                )
                .unwrap();
        }
        let h = History::open(&path).unwrap();
        assert_eq!(h.version().unwrap(), MIGRATIONS.len() as i64);
        let runs = h.runs(10).unwrap();
        assert_eq!(runs.len(), 1, "the old run survived the upgrade");
        assert_eq!(runs[0].dataset, "old.jsonl");
        drop(h);
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = History::open(&path).err().unwrap().to_string();
        assert!(err.contains("schema version 99, newer than"), "{err}");
    }

    #[test]
    fn runs_record_stewardship_and_the_audit_window_reads_it() {
        use crate::audit::{Kind, Settings};
        use caliper_types::date::Date;
        use caliper_types::stage::Stage;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        let mut h = History::open(&path).unwrap();
        let metric = |name: &str| caliper_report::run_report::MetricReport {
            metric: name.into(),
            name: "language-match".into(),
            version: "0.1.0".into(),
            digest: "sha256:cd".into(),
            figures: caliper_report::figures::Figures::default(),
        };
        for run in 0..3 {
            let mut r = h.start("d.jsonl", Path::new("caliper.toml"), "").unwrap();
            for (i, outcome) in [Status::Pass, Status::Fail, Status::Skip, Status::Timeout]
                .into_iter()
                .enumerate()
            {
                for name in ["lang", "copy"] {
                    let mut e = eval(&format!("s{i}"), outcome);
                    e.metric = name.into();
                    e.duration_us = 1000 * (run + 1);
                    r.evaluation(&e).unwrap();
                }
            }
            r.stewardship(
                "lang",
                Stewardship {
                    owner: Some("team-a".into()),
                    stage: Some(Stage::Shadow),
                    review_by: Some(Date::parse(&format!("2027-0{}-01", run + 1)).unwrap()),
                },
            );
            let mut rep = report();
            rep.metrics = vec![metric("lang"), metric("copy")];
            r.finish(&rep).unwrap();
        }
        let (runs, metrics) = h.audit_window(Some(2), None).unwrap();
        assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), [2, 3]);
        let lang = &metrics[0];
        assert_eq!(lang.metric, "lang");
        assert_eq!(lang.runs.len(), 2);
        assert_eq!(
            lang.stewardship,
            Stewardship {
                owner: Some("team-a".into()),
                stage: Some(Stage::Shadow),
                review_by: Some(Date::parse("2027-03-01").unwrap()),
            },
            "the newest run's"
        );
        let counts = &lang.runs[1].counts;
        assert_eq!(
            (
                counts.pass,
                counts.fail,
                counts.skip,
                counts.errors["timeout"]
            ),
            (1, 1, 1, 1)
        );
        assert_eq!(lang.runs[1].durations_us, [3000; 4]);
        assert_eq!(lang.verdicts.len(), 4, "2 verdicts in each of 2 runs");
        // A metric without recorded stewardship is at the default stage,
        // with no owner.
        assert_eq!(metrics[1].stewardship.stage, Some(Stage::Gate));
        assert_eq!(metrics[1].stewardship.owner, None);
        let report = crate::audit::audit(
            &runs,
            &metrics,
            vec![],
            &Settings {
                redundant_min_samples: 4,
                ..Settings::default()
            },
            Date::parse("2027-06-01").unwrap(),
        );
        let lang = &report.metrics.iter().find(|m| m.metric == "lang").unwrap();
        let mut kinds: Vec<Kind> = lang.findings.iter().map(|f| f.kind).collect();
        kinds.sort();
        assert_eq!(kinds, [Kind::Stale, Kind::Erroring, Kind::Redundant]);
        // Since a day after every run: an empty window.
        let (runs, metrics) = h.audit_window(None, Some("2999-01-01T00:00:00Z")).unwrap();
        assert!(runs.is_empty() && metrics.is_empty());
    }

    #[test]
    fn a_database_of_the_previous_schema_upgrades_and_audits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        let previous = MIGRATIONS.len() - 1;
        {
            let h = History::open_at_version(&path, previous).unwrap();
            assert_eq!(h.version().unwrap(), previous as i64);
            // What the previous caliper wrote: a run with one row per
            // evaluation and per sample, no stewardship.
            let summary = serde_json::to_string(&report()).unwrap();
            h.conn
                .execute(
                    "INSERT INTO runs (id, started_at, caliper_version, dataset, config_path,
                         config, records, samples, invalid_records, passed, elapsed_s, summary)
                     VALUES (1, '2026-11-01T00:00:00Z', '0.1.0', 'old.jsonl', 'caliper.toml',
                         '', 2, 2, 0, 0, 1.0, ?1)",
                    [summary],
                )
                .unwrap();
            h.conn
                .execute_batch(
                    r#"INSERT INTO run_metrics (run_id, metric, name, version, digest, figures)
                     VALUES (1, 'lang', 'language-match', '0.1.0', 'sha256:cd', '{}');
                     INSERT INTO evaluations (run_id, metric, sample_id, name, version, digest,
                         outcome, value, reason, labels, duration_us)
                     VALUES (1, 'lang', 's1', 'language-match', '0.1.0', 'sha256:cd', 'pass',
                         1.0, NULL, '{"detected":"de"}', 5),
                            (1, 'lang', 's2', 'language-match', '0.1.0', 'sha256:cd', 'fail',
                         0.0, 'english', NULL, 5);
                     INSERT INTO samples (run_id, sample_id, input, output, metadata)
                     VALUES (1, 's1', 'Hallo', 'Guten Tag', '{"lang":"de"}'),
                            (1, 's2', 'Wie?', 'Hello', NULL);"#,
                )
                .unwrap();
        }
        let h = History::open(&path).unwrap();
        assert_eq!(h.version().unwrap(), MIGRATIONS.len() as i64);
        let (runs, metrics) = h.audit_window(None, None).unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(metrics[0].metric, "lang");
        assert_eq!(
            metrics[0].stewardship,
            Stewardship::default(),
            "nothing was recorded"
        );
        assert_eq!(
            (
                metrics[0].runs[0].counts.pass,
                metrics[0].runs[0].counts.fail
            ),
            (1, 1)
        );
        let audited = crate::audit::audit(
            &runs,
            &metrics,
            vec![],
            &crate::audit::Settings::default(),
            caliper_types::date::Date::parse("2027-01-01").unwrap(),
        );
        let kinds: Vec<_> = audited.metrics[0].findings.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, [crate::audit::Kind::Ownerless]);
        // The old run's rows read as a new run's chunks do.
        let set = h.result_set(1).unwrap();
        let s2 = &set.evaluations["lang"]["s2"];
        assert_eq!(
            (s2.outcome, s2.reason.as_deref()),
            (Status::Fail, Some("english"))
        );
        assert_eq!(s2.digest, "sha256:cd");
        let texts = h.sample_texts(1, Some("lang")).unwrap().unwrap();
        assert_eq!(texts["s1"].output, "Guten Tag");
        assert_eq!(texts["s1"].segment.as_deref(), Some("de"));
        // A run recorded now sits beside it; pruning to one run deletes the
        // old one with its rows.
        let mut h = h;
        let mut r = h.start("new.jsonl", Path::new("caliper.toml"), "").unwrap();
        r.evaluation(&eval("s1", Status::Pass)).unwrap();
        r.finish(&report()).unwrap();
        assert_eq!(h.runs(10).unwrap().len(), 2);
        let deleted = h
            .prune(&crate::retention::Retention {
                keep_runs: Some(1),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(deleted.runs, [1]);
        let rows: i64 = h
            .conn
            .query_row(
                "SELECT (SELECT count(*) FROM evaluations) + (SELECT count(*) FROM samples)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(rows, 0);
    }
}
