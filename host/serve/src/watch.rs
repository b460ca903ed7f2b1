//! Noticing that metric files or `caliper.toml` changed: the trigger of hot
//! reload (`caliper serve`) and of `caliper run --watch`.
//!
//! Directories are watched, not files, so that an editor or a deploy that
//! replaces a file by renaming a new one over it is seen (a watch on the old
//! file would follow the old inode). On Linux only *settled* changes count: a
//! rename into place, a deletion, or a file closed after writing; the writes
//! themselves are ignored, so a half-written file is never reloaded. Events
//! are debounced: a burst of changes becomes one set of paths.
//!
//! Symlinks are followed: a watched path whose *resolved* file changes is
//! reported, even when no event names it. This is how a Kubernetes
//! ConfigMap updates (`caliper.toml -> ..data/caliper.toml`, and `..data`,
//! a symlink to a timestamped directory, swapped by an atomic rename): every
//! settled event in a watched directory re-checks the `Fingerprint`
//! (resolved path, device, inode) of every watched file, and the
//! directories the links resolve to are watched too, so a settled change of
//! a link's target counts as a change of the link. (Size and mtime are not
//! compared: a file being written in place is reported when it is closed,
//! never half-written because a sibling changed.)

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

/// How often [`FileWatcher::wait`] checks its stop condition.
const POLL: Duration = Duration::from_millis(100);

/// Which file a path resolves to: another target, or a new inode at the
/// same place (a rename over it), is another file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint {
    resolved: PathBuf,
    dev: u64,
    ino: u64,
}

impl Fingerprint {
    /// The fingerprint of what `path` resolves to now (`None` if nothing).
    fn of(path: &Path) -> Option<Fingerprint> {
        let resolved = std::fs::canonicalize(path).ok()?;
        let meta = std::fs::metadata(&resolved).ok()?;
        #[cfg(unix)]
        let (dev, ino) = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let (dev, ino) = (0, 0);
        Some(Fingerprint { resolved, dev, ino })
    }
}

/// Watches the directories of a set of files (and of what they link to).
pub struct FileWatcher {
    watcher: RecommendedWatcher,
    events: Receiver<notify::Result<Event>>,
    files: HashSet<PathBuf>,
    /// Per watched file, what it resolved to when last looked at.
    seen: HashMap<PathBuf, Option<Fingerprint>>,
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
            seen: HashMap::new(),
            dirs: BTreeSet::new(),
        })
    }

    /// Watches exactly these files (made absolute) from now on.
    pub fn set_files(&mut self, files: impl IntoIterator<Item = PathBuf>) {
        self.files = files
            .into_iter()
            .filter_map(|f| std::path::absolute(f).ok())
            .collect();
        self.seen = self
            .files
            .iter()
            .map(|f| (f.clone(), Fingerprint::of(f)))
            .collect();
        self.watch_dirs();
    }

    /// Watches the directory of every file and of the file it resolves to.
    fn watch_dirs(&mut self) {
        let wanted: BTreeSet<PathBuf> = self
            .files
            .iter()
            .filter_map(|f| f.parent().map(Path::to_owned))
            .chain(
                self.seen
                    .values()
                    .flatten()
                    .filter_map(|fp| fp.resolved.parent().map(Path::to_owned)),
            )
            .collect();
        if wanted == self.dirs {
            return;
        }
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
    pub fn wait(
        &mut self,
        debounce: Duration,
        stop: &dyn Fn() -> bool,
    ) -> Option<HashSet<PathBuf>> {
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

    fn collect(&mut self, event: notify::Result<Event>, changed: &mut HashSet<PathBuf>) {
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
        let mut recheck = false;
        for path in &event.paths {
            // The file itself, or the file a watched link resolves to.
            let hits: Vec<PathBuf> = self
                .seen
                .iter()
                .filter(|(file, fp)| {
                    file.as_path() == path.as_path()
                        || fp.as_ref().is_some_and(|fp| fp.resolved == *path)
                })
                .map(|(file, _)| file.clone())
                .collect();
            for file in &hits {
                tracing::debug!(path = %file.display(), kind = ?event.kind, "file changed");
                changed.insert(file.clone());
                self.seen.insert(file.clone(), Fingerprint::of(file));
            }
            if hits.is_empty() && path.parent().is_some_and(|dir| self.dirs.contains(dir)) {
                // A sibling changed (`..data` swapped): links may resolve
                // elsewhere now.
                recheck = true;
            }
        }
        if recheck {
            for (file, seen) in &mut self.seen {
                let now = Fingerprint::of(file);
                if now != *seen {
                    tracing::debug!(path = %file.display(), "file changed (resolved target)");
                    changed.insert(file.clone());
                    *seen = now;
                }
            }
        }
        if recheck || !changed.is_empty() {
            // Links may resolve elsewhere now: follow them.
            self.watch_dirs();
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

    /// A Kubernetes ConfigMap volume: `name -> ..data/name`, `..data -> ..TS`
    /// (a timestamped directory), updated by writing a new `..TS2`, pointing
    /// a new link `..data_tmp` at it, renaming that over `..data`, and
    /// removing `..TS`. No event names a watched path.
    #[cfg(unix)]
    #[test]
    fn a_configmap_style_data_symlink_swap_is_seen() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let v1 = root.join("..2026_12_02_18_00_00.000000001");
        std::fs::create_dir(&v1).unwrap();
        std::fs::write(v1.join("caliper.toml"), "v1").unwrap();
        std::fs::write(v1.join("metric.wasm"), "m1").unwrap();
        symlink(v1.file_name().unwrap(), root.join("..data")).unwrap();
        for name in ["caliper.toml", "metric.wasm"] {
            symlink(Path::new("..data").join(name), root.join(name)).unwrap();
        }
        let config = root.join("caliper.toml");
        let metric = root.join("metric.wasm");
        let mut w = FileWatcher::new().unwrap();
        w.set_files([config.clone(), metric.clone()]);
        let debounce = Duration::from_millis(50);

        let swap = |n: u32, config: &str| {
            let next = root.join(format!("..2026_12_02_18_00_0{n}.000000001"));
            std::fs::create_dir(&next).unwrap();
            std::fs::write(next.join("caliper.toml"), config).unwrap();
            std::fs::write(next.join("metric.wasm"), "m1").unwrap();
            let old = std::fs::read_link(root.join("..data")).unwrap();
            symlink(next.file_name().unwrap(), root.join("..data_tmp")).unwrap();
            std::fs::rename(root.join("..data_tmp"), root.join("..data")).unwrap();
            std::fs::remove_dir_all(root.join(old)).unwrap();
        };
        swap(1, "v2");
        let changed = w.wait(debounce, &never).unwrap();
        // Both links resolve to new files (the kubelet rewrites every key).
        assert_eq!(changed, HashSet::from([config.clone(), metric.clone()]));
        assert_eq!(std::fs::read_to_string(&config).unwrap(), "v2");

        // And again: the watcher follows the links to their new targets.
        swap(2, "v3");
        let changed = w.wait(debounce, &never).unwrap();
        assert!(changed.contains(&config), "{changed:?}");

        // A write in place to the current target (through the link's
        // resolved path) counts as a change of the link.
        let target = std::fs::canonicalize(&config).unwrap();
        std::fs::write(&target, "v4").unwrap();
        let changed = w.wait(debounce, &never).unwrap();
        assert_eq!(changed, HashSet::from([config.clone()]));
    }
}
