//! On-disk cache of compiled components.
//!
//! Compiling a component costs 30 ms (Rust) to seconds (Python, JS); loading
//! a precompiled artifact costs about a millisecond. Entries are keyed by the
//! component's sha256 and the engine's compatibility key, so a changed file,
//! a wasmtime upgrade or a different engine config is simply a miss.
//!
//! Architecture invariants:
//! - an entry is written to a temporary file and renamed into place, so a
//!   reader never sees a half-written entry;
//! - an entry starts with the sha256 of its payload, checked before the
//!   payload is deserialized: a corrupt or truncated entry is a miss (and is
//!   replaced), never a crash;
//! - only artifacts this module wrote are ever deserialized.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;

use crate::engine::Runtime;

/// Where a compiled component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// Loaded from the cache.
    Hit,
    /// Compiled now (and stored, if the cache is enabled).
    Miss,
    /// The cache is disabled.
    Disabled,
}

/// The compile cache.
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: Option<PathBuf>,
}

const MAGIC: &[u8; 8] = b"CALIPER1";

impl CompileCache {
    /// A cache in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        CompileCache {
            dir: Some(dir.into()),
        }
    }

    /// A cache that never stores anything.
    pub fn disabled() -> Self {
        CompileCache { dir: None }
    }

    /// The default location: `$CALIPER_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/caliper`, else `~/.cache/caliper`.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("CALIPER_CACHE_DIR") {
            return Some(PathBuf::from(dir));
        }
        if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
            return Some(PathBuf::from(dir).join("caliper"));
        }
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("caliper"))
    }

    /// The cache directory, if enabled.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    fn entry_path(&self, runtime: &Runtime, digest: &str) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        Some(dir.join(format!("{digest}-{}.cwasm", runtime.compatibility_key())))
    }

    /// Returns the compiled form of `wasm` (whose sha256 is `digest`), from
    /// the cache when possible.
    pub fn load_or_compile(
        &self,
        runtime: &Runtime,
        wasm: &[u8],
        digest: &str,
    ) -> Result<(Component, CacheStatus)> {
        let Some(path) = self.entry_path(runtime, digest) else {
            let component = Component::new(runtime.engine(), wasm)?;
            return Ok((component, CacheStatus::Disabled));
        };
        if let Some(component) = read_entry(runtime, &path) {
            return Ok((component, CacheStatus::Hit));
        }
        let artifact = runtime.engine().precompile_component(wasm)?;
        if let Err(e) = write_entry(&path, &artifact) {
            tracing::warn!(path = %path.display(), "could not write compile cache entry: {e:#}");
        }
        // SAFETY: `artifact` was produced by this engine a moment ago.
        let component = unsafe { Component::deserialize(runtime.engine(), &artifact)? };
        Ok((component, CacheStatus::Miss))
    }
}

fn read_entry(runtime: &Runtime, path: &Path) -> Option<Component> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(path = %path.display(), "compile cache unreadable, recompiling: {e}");
            return None;
        }
    };
    let header = MAGIC.len() + 32;
    let valid = bytes.len() > header
        && &bytes[..MAGIC.len()] == MAGIC
        && bytes[MAGIC.len()..header] == Sha256::digest(&bytes[header..])[..];
    if !valid {
        tracing::warn!(path = %path.display(), "corrupt compile cache entry, recompiling");
        return None;
    }
    // SAFETY: the payload is an artifact this module wrote (its checksum
    // matches) for an engine with the same compatibility key.
    match unsafe { Component::deserialize(runtime.engine(), &bytes[header..]) } {
        Ok(component) => Some(component),
        Err(e) => {
            tracing::warn!(path = %path.display(), "stale compile cache entry, recompiling: {e:#}");
            None
        }
    }
}

fn write_entry(path: &Path, artifact: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .context("cache entry has no parent directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(MAGIC)?;
    tmp.write_all(&Sha256::digest(artifact))?;
    tmp.write_all(artifact)?;
    tmp.as_file().sync_data()?;
    tmp.persist(path)?;
    Ok(())
}
