//! The local, content-addressed package store.
//!
//! ```text
//! <dir>/sha256/<hex>.wasm            components, by their own digest
//! <dir>/manifests/sha256/<hex>.json  OCI manifests, by manifest digest
//! <dir>/tags/<registry>/<repo>/<tag>.json  what a tag resolved to, and when
//! ```
//!
//! `<dir>` is `store/` in the cache directory (`$CALIPER_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/caliper`, else `~/.cache/caliper`). Every file is named
//! by the digest of its content and checked against it when read; a file
//! that does not match is treated as absent (and replaced by the next pull).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::artifact;
use crate::error::OciError;
use crate::pulled::Pulled;
use caliper_types::digest::digest_of as sha256;
use caliper_types::digest::valid_digest;
use caliper_types::oci_ref::OciRef;

/// The package store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    dir: PathBuf,
}

/// What a tag named when it was last resolved on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagRecord {
    /// The manifest digest.
    pub manifest: String,
    /// When (RFC 3339).
    pub resolved_at: String,
}

impl Store {
    /// A store in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Store { dir: dir.into() }
    }

    /// `store/` in the default cache directory.
    pub fn default_dir() -> Option<PathBuf> {
        caliper_types::dirs::cache_dir().map(|d| d.join("store"))
    }

    /// The store in [`Store::default_dir`].
    pub fn open_default() -> Result<Store, OciError> {
        Store::default_dir()
            .map(Store::new)
            .ok_or_else(|| OciError::Store {
                path: PathBuf::from("~/.cache/caliper/store"),
                message: "no cache directory: set CALIPER_CACHE_DIR (or HOME)".into(),
            })
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the component with `digest` is (or would be) stored.
    pub fn component_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.dir.join("sha256").join(format!("{hex}.wasm"))
    }

    fn manifest_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.dir
            .join("manifests")
            .join("sha256")
            .join(format!("{hex}.json"))
    }

    fn tag_path(&self, reference: &OciRef, tag: &str) -> PathBuf {
        let mut path = self.dir.join("tags").join(reference.registry());
        path.extend(reference.repository().split('/'));
        path.join(format!("{tag}.json"))
    }

    /// The component with `digest`, if it is stored and intact.
    pub fn component(&self, digest: &str) -> Option<PathBuf> {
        let path = self.component_path(digest);
        let bytes = std::fs::read(&path).ok()?;
        if sha256(&bytes) == digest {
            Some(path)
        } else {
            tracing::warn!(
                path = %path.display(),
                "stored component does not match its digest; it will be fetched again"
            );
            None
        }
    }

    /// Stores a component after checking that it hashes to `digest`.
    pub fn put_component(&self, digest: &str, bytes: &[u8]) -> Result<PathBuf, OciError> {
        self.put(&self.component_path(digest), digest, bytes)
    }

    /// The manifest with `digest` (its exact bytes), if stored and intact.
    pub fn manifest(&self, digest: &str) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.manifest_path(digest)).ok()?;
        (sha256(&bytes) == digest).then_some(bytes)
    }

    /// Stores a manifest after checking that it hashes to `digest`.
    pub fn put_manifest(&self, digest: &str, bytes: &[u8]) -> Result<PathBuf, OciError> {
        self.put(&self.manifest_path(digest), digest, bytes)
    }

    /// What `reference`'s tag resolved to when last resolved here.
    pub fn tag(&self, reference: &OciRef) -> Option<TagRecord> {
        let tag = reference.tag()?;
        let text = std::fs::read(self.tag_path(reference, tag)).ok()?;
        serde_json::from_slice::<TagRecord>(&text)
            .ok()
            .filter(|r| valid_digest(&r.manifest))
    }

    /// Records that `reference`'s tag names `manifest` now.
    pub fn put_tag(&self, reference: &OciRef, manifest: &str) -> Result<(), OciError> {
        let Some(tag) = reference.tag() else {
            return Ok(());
        };
        let record = TagRecord {
            manifest: manifest.to_owned(),
            resolved_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                .to_string(),
        };
        let text = serde_json::to_vec_pretty(&record).expect("a tag record serializes");
        write_atomic(&self.tag_path(reference, tag), &text)
    }

    /// The stored artifact a reference by digest names, if its manifest and
    /// component are both here and intact.
    pub fn find(&self, reference: &OciRef) -> Result<Option<Pulled>, OciError> {
        match reference.digest() {
            Some(digest) => self.find_manifest(reference, digest),
            None => Ok(None),
        }
    }

    /// The stored artifact `reference`'s tag last resolved to, with the
    /// record of when.
    pub fn find_by_tag(&self, reference: &OciRef) -> Result<Option<(Pulled, TagRecord)>, OciError> {
        let Some(record) = self.tag(reference) else {
            return Ok(None);
        };
        Ok(self
            .find_manifest(reference, &record.manifest)?
            .map(|pulled| (pulled, record)))
    }

    fn find_manifest(&self, reference: &OciRef, digest: &str) -> Result<Option<Pulled>, OciError> {
        let Some(bytes) = self.manifest(digest) else {
            return Ok(None);
        };
        let layer = artifact::component_layer(&bytes, reference)?;
        Ok(self.component(&layer.digest).map(|path| Pulled {
            pinned: reference.pinned(digest),
            manifest_digest: digest.to_owned(),
            component_digest: layer.digest.clone(),
            path,
            size: layer.size.max(0) as u64,
            cached: true,
        }))
    }

    fn put(&self, path: &Path, digest: &str, bytes: &[u8]) -> Result<PathBuf, OciError> {
        if !valid_digest(digest) {
            return Err(OciError::Store {
                path: path.to_owned(),
                message: format!("refusing to store content under digest `{digest}`"),
            });
        }
        let actual = sha256(bytes);
        if actual != digest {
            return Err(OciError::Store {
                path: path.to_owned(),
                message: format!("content hashes to {actual}, not {digest}; not stored"),
            });
        }
        write_atomic(path, bytes)?;
        Ok(path.to_owned())
    }
}

/// Writes `bytes` to a temporary file beside `path` and renames it into
/// place, so readers never see a partial file.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OciError> {
    let error = |e: std::io::Error| OciError::Store {
        path: path.to_owned(),
        message: e.to_string(),
    };
    caliper_types::atomic_file::write(path, bytes).map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_only_what_matches_its_digest() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let wasm = b"\0asm component bytes";
        let digest = sha256(wasm);
        let path = store.put_component(&digest, wasm).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), wasm);
        assert_eq!(store.component(&digest), Some(path.clone()));

        let err = store.put_component(&digest, b"other bytes").unwrap_err();
        assert!(err.to_string().contains("not stored"), "{err}");
        assert!(store.put_component("sha256:../../x", wasm).is_err());

        // A file corrupted on disk is a miss, not a wrong answer.
        std::fs::write(&path, b"corrupted").unwrap();
        assert_eq!(store.component(&digest), None);
    }

    #[test]
    fn records_tags_per_repository() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let r: OciRef = "oci://127.0.0.1:5000/team/keyword:1.0.0".parse().unwrap();
        assert_eq!(store.tag(&r), None);
        let digest = sha256(b"manifest");
        store.put_tag(&r, &digest).unwrap();
        assert_eq!(store.tag(&r).unwrap().manifest, digest);
        let other: OciRef = "oci://127.0.0.1:5000/team/keyword:2.0.0".parse().unwrap();
        assert_eq!(store.tag(&other), None);
        // No manifest stored yet: nothing to run offline.
        assert!(store.find_by_tag(&r).unwrap().is_none());
    }
}
