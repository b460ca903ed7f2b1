//! Writing a file so that readers see the old content or the new one, never
//! a partial file: a temporary sibling, synced, then renamed into place.
//!
//! A path that exists and is not a regular file (`/dev/null`, `/dev/stdout`,
//! a named pipe) is written in place instead: renaming over it would replace
//! the device or pipe with a plain file.
//!
//! The file keeps the usual mode: replacing an existing file keeps its
//! permission bits; a new file gets `0666` less the umask, as any program's
//! output would (a temporary file alone would be `0600`). Files that must be
//! private say so with [`AtomicFile::create_private`].

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Temporary files not yet committed, so that an abrupt exit can remove them
/// ([`remove_uncommitted`]).
static UNCOMMITTED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn uncommitted() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    UNCOMMITTED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes every temporary file of an [`AtomicFile`] not yet committed.
/// For a process about to exit without running destructors (a second
/// Ctrl-C); the targets keep their previous content.
pub fn remove_uncommitted() {
    for path in uncommitted().drain(..) {
        let _ = std::fs::remove_file(path);
    }
}

/// Whether `path` exists and is something other than a regular file (or a
/// link to one).
fn is_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file())
}

fn directory_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// A file being written: readers of `path` see nothing of it until
/// [`AtomicFile::commit`]; dropping it uncommitted leaves `path` untouched.
pub struct AtomicFile {
    /// `None` once committed.
    target: Option<Target>,
    path: PathBuf,
}

enum Target {
    Temporary(tempfile::NamedTempFile),
    /// A device or pipe, written directly.
    InPlace(File),
}

impl AtomicFile {
    /// Starts writing `path` (a temporary sibling in the same directory).
    pub fn create(path: &Path) -> std::io::Result<AtomicFile> {
        Self::create_with_mode(path, None)
    }

    /// Like [`AtomicFile::create`], for content only its owner may read:
    /// the file is `0600` whatever the umask or the mode of the file it
    /// replaces.
    pub fn create_private(path: &Path) -> std::io::Result<AtomicFile> {
        Self::create_with_mode(path, Some(0o600))
    }

    fn create_with_mode(path: &Path, mode: Option<u32>) -> std::io::Result<AtomicFile> {
        let target = if is_special(path) {
            Target::InPlace(File::options().write(true).open(path)?)
        } else {
            let mut builder = tempfile::Builder::new();
            builder.prefix(".caliper-");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                // Given to open(2), so the umask applies as to any new file.
                builder.permissions(std::fs::Permissions::from_mode(mode.unwrap_or(0o666)));
            }
            let tmp = builder.tempfile_in(directory_of(path))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                // Replacing a file keeps its mode (`caliper sign` in place);
                // a private file is private whatever the umask.
                let keep = match mode {
                    Some(mode) => Some(mode),
                    None => std::fs::metadata(path)
                        .ok()
                        .filter(std::fs::Metadata::is_file)
                        .map(|m| m.permissions().mode() & 0o7777),
                };
                if let Some(mode) = keep {
                    tmp.as_file()
                        .set_permissions(std::fs::Permissions::from_mode(mode))?;
                }
            }
            #[cfg(not(unix))]
            let _ = mode;
            uncommitted().push(tmp.path().to_owned());
            Target::Temporary(tmp)
        };
        Ok(AtomicFile {
            target: Some(target),
            path: path.to_owned(),
        })
    }

    /// The path the content goes to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file to write the content to.
    pub fn file(&self) -> &File {
        match self.target.as_ref().expect("not committed") {
            Target::Temporary(tmp) => tmp.as_file(),
            Target::InPlace(file) => file,
        }
    }

    /// Syncs the content and puts it at the path.
    pub fn commit(mut self) -> std::io::Result<()> {
        match self.target.take().expect("not committed") {
            Target::InPlace(mut file) => file.flush(),
            Target::Temporary(tmp) => {
                let tmp_path = tmp.path().to_owned();
                let result = tmp
                    .as_file()
                    .sync_all()
                    .and_then(|()| tmp.persist(&self.path).map(drop).map_err(|e| e.error));
                uncommitted().retain(|p| *p != tmp_path);
                result
            }
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(Target::Temporary(tmp)) = &self.target {
            // Not committed: `NamedTempFile`'s own drop removes the file.
            let path = tmp.path().to_owned();
            uncommitted().retain(|p| *p != path);
        }
    }
}

/// Writes `bytes` to `path` atomically, creating its directory if needed.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(directory_of(path))?;
    let file = AtomicFile::create(path)?;
    (&mut file.file()).write_all(bytes)?;
    file.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_appears_only_on_commit_and_a_dropped_file_leaves_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        std::fs::write(&path, "old").unwrap();
        let file = AtomicFile::create(&path).unwrap();
        (&mut file.file()).write_all(b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        drop(file);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        write(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_new_file_gets_the_usual_mode_and_a_replaced_one_keeps_its_own() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        // The umask of this process, read without changing it.
        let probe = tempfile::tempdir().unwrap();
        let plain = probe.path().join("plain");
        File::create(&plain).unwrap();
        let usual = mode(&plain);

        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new.json");
        write(&new, b"x").unwrap();
        assert_eq!(mode(&new), usual, "a new file: 0666 less the umask");

        let kept = dir.path().join("package.wasm");
        std::fs::write(&kept, b"old").unwrap();
        std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o640)).unwrap();
        write(&kept, b"new").unwrap();
        assert_eq!(mode(&kept), 0o640, "replacing keeps the mode");
        std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o755)).unwrap();
        write(&kept, b"newer").unwrap();
        assert_eq!(mode(&kept), 0o755);

        let private = AtomicFile::create_private(&kept).unwrap();
        (&mut private.file()).write_all(b"secret").unwrap();
        private.commit().unwrap();
        assert_eq!(mode(&kept), 0o600, "private whatever it replaced");
    }

    #[test]
    fn a_named_pipe_is_written_in_place_not_replaced() {
        // What `-o >(jq ...)` or `-o /dev/stdout` hands caliper. (A FIFO in
        // a scratch directory rather than /dev/null: a regression must not
        // be able to replace a device of the machine running the tests.)
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
        };
        write(&fifo, b"through the pipe").unwrap();
        assert_eq!(reader.join().unwrap(), "through the pipe");
        assert!(!std::fs::metadata(&fifo).unwrap().is_file());
    }

    #[test]
    fn temporaries_are_registered_until_committed_or_dropped() {
        // (Checks the registry without calling `remove_uncommitted`, which
        // would remove the temporaries of tests running in parallel.)
        let dir = tempfile::tempdir().unwrap();
        let registered = |file: &AtomicFile| {
            let Some(Target::Temporary(tmp)) = &file.target else {
                panic!("a temporary file")
            };
            uncommitted().contains(&tmp.path().to_owned())
        };
        let dropped = AtomicFile::create(&dir.path().join("a.jsonl")).unwrap();
        let committed = AtomicFile::create(&dir.path().join("b.jsonl")).unwrap();
        assert!(registered(&dropped) && registered(&committed));
        let paths: Vec<PathBuf> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        drop(dropped);
        committed.commit().unwrap();
        let left = uncommitted();
        assert!(paths.iter().all(|p| !left.contains(p)), "{left:?}");
    }
}
