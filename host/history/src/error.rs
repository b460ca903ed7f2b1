//! The one error type of the history.

use std::path::PathBuf;

/// Why the history could not be used.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// SQLite failed.
    #[error("run history {path}: {error}")]
    Sqlite {
        /// The database.
        path: PathBuf,
        /// The error.
        error: rusqlite::Error,
    },
    /// The database is newer than this Caliper.
    #[error(
        "run history {path} has schema version {found}, newer than this caliper's {supported}; upgrade caliper (the database was not modified)"
    )]
    TooNew {
        /// The database.
        path: PathBuf,
        /// Its version.
        found: i64,
        /// Ours.
        supported: i64,
    },
    /// A reference to a run that does not exist.
    #[error("run history {path}: {message}")]
    NoSuchRun {
        /// The database.
        path: PathBuf,
        /// What was asked for.
        message: String,
    },
    /// A stored chunk of a run does not decode (the database was changed
    /// by something other than Caliper, or is damaged).
    #[error("run history {path}: run {run_id} chunk {seq} is damaged")]
    Damaged {
        /// The database.
        path: PathBuf,
        /// The run.
        run_id: i64,
        /// The chunk.
        seq: i64,
    },
    /// The recorder's writer thread stopped without an error of its own.
    #[error("run history {path}: {why}")]
    Writer {
        /// The database.
        path: PathBuf,
        /// What happened.
        why: &'static str,
    },
    /// The directory could not be created.
    #[error("run history {path}: {error}")]
    Io {
        /// The database.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
}
