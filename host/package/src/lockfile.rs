//! `caliper.lock`: the exact component (by digest) every metric of a config
//! resolved to, so that CI and production run what was reviewed.
//!
//! `caliper lock` writes it beside `caliper.toml`; `caliper run --locked`
//! and `caliper serve --locked` refuse any metric whose component digest
//! differs from the locked one (at start and at every hot reload), or that
//! the lock does not list. Commit it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Format version of the file.
pub const VERSION: u32 = 1;

/// The lock file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lockfile {
    /// Format version ([`VERSION`]).
    pub version: u32,
    /// One entry per metric instance, in config order.
    #[serde(default, rename = "metric")]
    pub metrics: Vec<LockedMetric>,
}

/// One locked metric instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedMetric {
    /// Instance name in `caliper.toml`.
    pub name: String,
    /// Where the component came from, as the config says.
    pub source: String,
    /// `sha256:<hex>` of the component.
    pub digest: String,
    /// The metric's name and version, for people reading diffs.
    pub component: String,
}

/// Why the lock file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Missing or unreadable.
    #[error("cannot read {path}: {error} (create it with `caliper lock`)")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// Not a lock file this version understands.
    #[error("{path} is not a valid lock file: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The lock file that belongs to a config: `caliper.lock` beside it.
pub fn path_for(config: &Path) -> PathBuf {
    config.with_file_name("caliper.lock")
}

impl Lockfile {
    /// Reads a lock file.
    pub fn read(path: &Path) -> Result<Lockfile, LockError> {
        let text = std::fs::read_to_string(path).map_err(|error| LockError::Read {
            path: path.to_owned(),
            error,
        })?;
        let lock: Lockfile = toml::from_str(&text).map_err(|e| LockError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        if lock.version != VERSION {
            return Err(LockError::Parse {
                path: path.to_owned(),
                message: format!(
                    "format version {} (this caliper reads {VERSION})",
                    lock.version
                ),
            });
        }
        Ok(lock)
    }

    /// The file's text, with a header that says where it comes from.
    pub fn to_text(&self) -> String {
        let body = toml::to_string_pretty(self).expect("a lock file serialises");
        format!(
            "# Written by `caliper lock`: the component digest of every metric. Commit it;\n\
             # `caliper run --locked` and `caliper serve --locked` refuse anything else.\n\n{body}"
        )
    }

    /// Checks that metric instance `name` resolved to the locked digest.
    pub fn check(&self, name: &str, digest: &str) -> Result<(), String> {
        match self.metrics.iter().find(|m| m.name == name) {
            None => Err(format!(
                "it is not in the lock file; run `caliper lock` to add it (found {digest})"
            )),
            Some(locked) if locked.digest != digest => Err(format!(
                "its component does not match the lock file: expected {}, found {digest} \
                 (run `caliper lock` if the change is intended)",
                locked.digest
            )),
            Some(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_round_trips_and_names_both_digests_on_a_mismatch() {
        let lock = Lockfile {
            version: VERSION,
            metrics: vec![LockedMetric {
                name: "pii".into(),
                source: "plugins/pii.wasm".into(),
                digest: "sha256:aa".into(),
                component: "pii-leak 0.1.0".into(),
            }],
        };
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(&dir.path().join("caliper.toml"));
        std::fs::write(&path, lock.to_text()).unwrap();
        let read = Lockfile::read(&path).unwrap();
        assert_eq!(read, lock);
        read.check("pii", "sha256:aa").unwrap();
        let e = read.check("pii", "sha256:bb").unwrap_err();
        assert!(e.contains("expected sha256:aa, found sha256:bb"), "{e}");
        assert!(
            read.check("other", "sha256:aa")
                .unwrap_err()
                .contains("not in the lock")
        );
        std::fs::write(&path, "version = 7\n").unwrap();
        assert!(
            Lockfile::read(&path)
                .unwrap_err()
                .to_string()
                .contains("version 7")
        );
        std::fs::remove_file(&path).unwrap();
        assert!(
            Lockfile::read(&path)
                .unwrap_err()
                .to_string()
                .contains("caliper lock")
        );
    }
}
