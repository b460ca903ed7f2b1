//! Opening the database file: created private, in WAL mode, foreign keys on.
//! Shared by the history's reader and the recorder's writer thread, which
//! has a connection of its own.

use std::path::Path;

use rusqlite::{Connection, Transaction, TransactionBehavior};

/// How long a connection waits for another writer (another run recording
/// into the same database) before it fails.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A connection to `path` (created `0600` if missing): WAL journal, so a
/// reader never blocks the writer and commits need no fsync of the main
/// file; `synchronous = NORMAL` (a power cut may lose the last committed
/// chunks of a run in progress, never the database); foreign keys on, so
/// deleting a run deletes its rows.
pub fn connect(path: &Path) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    let _mode: String = conn.pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))?;
    conn.pragma_update(None, "synchronous", "normal")?;
    Ok(conn)
}

/// Creates `path` empty and `0600` if it does not exist (an existing
/// database keeps the mode its owner gave it).
pub fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Deletes run `run_id` with its rows (foreign keys cascade), and the
/// sample texts that no other run uses, in one transaction: a recorder
/// storing a chunk with the same texts either commits first (and the texts
/// stay) or after (and stores them again).
pub fn delete_run(conn: &Connection, run_id: i64) -> Result<(), rusqlite::Error> {
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    tx.execute(
        "DELETE FROM sample_texts WHERE digest IN (
             SELECT mine.texts FROM run_chunks AS mine
             WHERE mine.run_id = ?1 AND mine.texts IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM run_chunks AS other
                               WHERE other.texts = mine.texts AND other.run_id != ?1))",
        [run_id],
    )?;
    tx.execute("DELETE FROM runs WHERE id = ?1", [run_id])?;
    tx.commit()
}
