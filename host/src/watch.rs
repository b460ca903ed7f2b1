//! Noticing that metric files or `caliper.toml` changed: the trigger of hot
//! reload (`caliper serve`) and of `caliper run --watch`.
//!
//! Directories are watched, not files, so that an editor or a deploy that
//! replaces a file by renaming a new one over it is seen (a watch on the old
//! file would follow the old inode). On Linux only *settled* changes count: a
//! rename into place, a deletion, or a file closed after writing; the writes
//! themselves are ignored, so a half-written file is never reloaded. Events
//! are debounced: a burst of changes becomes one set of paths.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

/// How often [`FileWatcher::wait`] checks its stop condition.
const POLL: Duration = Duration::from_millis(100);

/// Watches the directories of a set of files.
pub struct FileWatcher {
    watcher: RecommendedWatcher,
    events: Receiver<notify::Result<Event>>,
    files: HashSet<PathBuf>,
    dirs: BTreeSet<PathBuf>,
}

impl FileWatcher {
    /// A watcher watching nothing yet.
    pub fn new() -> notify::Result<FileWatcher> {
        let (tx, events) = channel();
        Ok(FileWatcher {
            watcher: notify::recommended_watcher(tx)?,
            events,
            files: HashSet::new(),
            dirs: BTreeSet::new(),
        })
    }

    /// Watches exactly these files (made absolute) from now on.
    pub fn set_files(&mut self, files: impl IntoIterator<Item = PathBuf>) {
        self.files = files
            .into_iter()
            .filter_map(|f| std::path::absolute(f).ok())
            .collect();
        let wanted: BTreeSet<PathBuf> = self
            .files
            .iter()
            .filter_map(|f| f.parent().map(Path::to_owned))
            .collect();
        for gone in self.dirs.difference(&wanted) {
            let _ = self.watcher.unwatch(gone);
        }
        for dir in wanted.difference(&self.dirs) {
            if let Err(e) = self.watcher.watch(dir, RecursiveMode::NonRecursive) {
                tracing::warn!("cannot watch {}: {e}", dir.display());
            }
        }
        self.dirs = wanted;
    }

    /// Blocks until a watched file changes, then keeps collecting changes
    /// until `debounce` passes without one (at most 10 × `debounce`).
    /// Returns the changed files, or `None` once `stop()` is true.
    pub fn wait(&self, debounce: Duration, stop: &dyn Fn() -> bool) -> Option<HashSet<PathBuf>> {
        let mut changed = HashSet::new();
        loop {
            if stop() {
                return None;
            }
            match self.events.recv_timeout(POLL) {
                Ok(event) => self.collect(event, &mut changed),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return None,
            }
            if !changed.is_empty() {
                break;
            }
        }
        let cap = Instant::now() + debounce * 10;
        let mut quiet_until = Instant::now() + debounce;
        loop {
            let now = Instant::now();
            let until = quiet_until.min(cap);
            if now >= until {
                return Some(changed);
            }
            match self.events.recv_timeout(until - now) {
                Ok(event) => {
                    let before = changed.len();
                    self.collect(event, &mut changed);
                    if changed.len() > before {
                        quiet_until = Instant::now() + debounce;
                    }
                }
                Err(RecvTimeoutError::Timeout) => return Some(changed),
                Err(RecvTimeoutError::Disconnected) => return Some(changed),
            }
        }
    }

    fn collect(&self, event: notify::Result<Event>, changed: &mut HashSet<PathBuf>) {
        let event = match event {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!("file watcher: {e}");
                return;
            }
        };
        if !is_settled(&event.kind) {
            return;
        }
        for path in event.paths {
            if self.files.contains(&path) {
                tracing::debug!(path = %path.display(), kind = ?event.kind, "file changed");
                changed.insert(path);
            }
        }
    }
}

/// Whether an event means a file reached a new complete state.
fn is_settled(kind: &EventKind) -> bool {
    match kind {
        EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_)) => true,
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        // Platforms without close events: writes (debounced) and creations.
        EventKind::Create(_) | EventKind::Modify(_) => !cfg!(target_os = "linux"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn never() -> bool {
        false
    }

    #[test]
    fn sees_in_place_writes_renames_and_deletions_of_watched_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.wasm");
        let other = dir.path().join("other.txt");
        std::fs::write(&a, b"v1").unwrap();
        let mut w = FileWatcher::new().unwrap();
        w.set_files([a.clone()]);
        let debounce = Duration::from_millis(20);

        // An unwatched file in the same directory is ignored.
        std::fs::write(&other, b"x").unwrap();
        // In place: open, write in two steps, close.
        {
            let mut f = std::fs::File::create(&a).unwrap();
            f.write_all(b"v2-").unwrap();
            f.write_all(b"complete").unwrap();
        }
        let changed = w.wait(debounce, &never).unwrap();
        assert_eq!(changed, HashSet::from([a.clone()]));

        // Atomic rename over the file.
        let tmp = dir.path().join(".a.tmp");
        std::fs::write(&tmp, b"v3").unwrap();
        std::fs::rename(&tmp, &a).unwrap();
        assert_eq!(
            w.wait(debounce, &never).unwrap(),
            HashSet::from([a.clone()])
        );

        std::fs::remove_file(&a).unwrap();
        assert_eq!(
            w.wait(debounce, &never).unwrap(),
            HashSet::from([a.clone()])
        );

        // The stop condition ends a wait with nothing to report.
        assert!(w.wait(debounce, &|| true).is_none());
    }
}
