//! On-disk cache of compiled components.
//!
//! Compiling a component costs 30 ms (Rust) to seconds (Python, JS); loading
//! a precompiled artifact costs about a millisecond. Entries are keyed by the
//! component's sha256 and the engine's compatibility key, so a changed file,
//! a wasmtime upgrade or a different engine config is simply a miss.
//!
//! A compiled artifact is native code: `Component::deserialize` runs what it
//! is given outside the sandbox, and an entry swapped for another
//! component's would run that component under the first one's (signed,
//! locked) digest. So the cache never trusts its directory's content:
//!
//! - **Every entry is authenticated.** It carries an HMAC-SHA256, under a
//!   random 32-byte key, over the source component's digest, the engine
//!   compatibility key and the payload. An entry copied under another name,
//!   restored from a shared CI cache, written by another user or machine, or
//!   crafted, does not verify.
//! - **The key lives outside the cache directory**, at
//!   `$CALIPER_CACHE_KEY_FILE`, else `$XDG_CONFIG_HOME/caliper/cache.key`,
//!   else `~/.config/caliper/cache.key` (a key inside the cache directory is
//!   refused). It is created on first use, mode 0600, atomically (temp file,
//!   then a link that never replaces an existing key, so concurrent first
//!   runs agree on one key). It is refused unless it is a regular file (not
//!   a symlink) owned by the current user with no group or other
//!   permissions, and exactly 32 bytes.
//! - **The directory is private.** It is created 0700; one that another user
//!   can write (owned by another uid, or group/world-writable without the
//!   sticky bit) is refused.
//!
//! A refused key or directory disables the cache for the process with one
//! warning naming the path: everything still runs, compiled from scratch.
//!
//! Architecture invariants:
//! - an entry is written to a temporary file and renamed into place, so a
//!   reader never sees a half-written entry;
//! - an entry whose MAC does not verify (wrong component, wrong engine,
//!   changed, truncated, not a regular file, too large) is a miss: the
//!   component is recompiled and the entry replaced, with a warning; never a
//!   crash;
//! - only a payload whose MAC verified is ever deserialized, and it is
//!   deserialized from the very bytes that were verified (read once into
//!   memory, never re-read or mapped from the file after the check).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use wasmtime::component::Component;

use crate::engine::Runtime;

type HmacSha256 = Hmac<Sha256>;

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

/// Overrides where the cache key is kept (see the module documentation).
pub const KEY_FILE_ENV: &str = "CALIPER_CACHE_KEY_FILE";

/// The largest cache entry read (compiled Python components are ~31 MB).
pub const MAX_ENTRY_BYTES: u64 = 1 << 30;

/// Entry header: this magic, then the 32-byte MAC, then the payload.
const MAGIC: &[u8; 8] = b"CALIPER2";
/// Entries of the unauthenticated format before it: a silent miss.
const OLD_MAGIC: &[u8; 8] = b"CALIPER1";
const MAC_LEN: usize = 32;
const KEY_LEN: usize = 32;
/// Domain separation for the entry MAC.
const MAC_CONTEXT: &[u8] = b"caliper compile cache entry v2\0";

/// Why the cache cannot be used (it is then disabled, with a warning).
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// No place for the key: no `$CALIPER_CACHE_KEY_FILE`,
    /// `$XDG_CONFIG_HOME` or `$HOME`.
    #[error("no place for the cache key (set {KEY_FILE_ENV}, XDG_CONFIG_HOME or HOME)")]
    NoKeyLocation,
    /// The directory could not be created or inspected.
    #[error("cannot use {path}: {error}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The directory is not private to this user.
    #[error(
        "{path} is {why}; only a directory private to this user is used (chmod 700 it, or choose another cache dir)"
    )]
    UnsafeDir {
        /// The directory.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The key file is not a private regular file of this user.
    #[error("cache key {path} is refused: {why}")]
    UnsafeKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
}

/// The compile cache.
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: Option<PathBuf>,
    key_file: Option<PathBuf>,
    /// The checked directory and key, opened on first use (`None`: refused).
    state: Arc<OnceLock<Option<Opened>>>,
}

/// A checked directory and its key.
struct Opened {
    dir: PathBuf,
    key: [u8; KEY_LEN],
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl CompileCache {
    /// A cache in `dir` (created on first use), with the key at its default
    /// place ([`CompileCache::default_key_file`]).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        CompileCache {
            dir: Some(dir.into()),
            key_file: None,
            state: Arc::default(),
        }
    }

    /// A cache that never stores anything.
    pub fn disabled() -> Self {
        CompileCache {
            dir: None,
            key_file: None,
            state: Arc::default(),
        }
    }

    /// The same cache with its key at `key_file`.
    pub fn with_key_file(self, key_file: impl Into<PathBuf>) -> Self {
        CompileCache {
            key_file: Some(key_file.into()),
            state: Arc::default(),
            ..self
        }
    }

    /// The default location: `$CALIPER_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/caliper`, else `~/.cache/caliper`.
    pub fn default_dir() -> Option<PathBuf> {
        caliper_types::dirs::cache_dir()
    }

    /// The default key file: `$CALIPER_CACHE_KEY_FILE`, else
    /// `$XDG_CONFIG_HOME/caliper/cache.key`, else
    /// `~/.config/caliper/cache.key`. A config directory, not the cache
    /// directory: whoever can write (or restore) the cache cannot forge
    /// entries.
    pub fn default_key_file() -> Option<PathBuf> {
        let non_empty = |name| std::env::var_os(name).filter(|v| !v.is_empty());
        if let Some(file) = non_empty(KEY_FILE_ENV) {
            return Some(PathBuf::from(file));
        }
        if let Some(dir) = non_empty("XDG_CONFIG_HOME") {
            return Some(PathBuf::from(dir).join("caliper").join("cache.key"));
        }
        non_empty("HOME").map(|h| {
            PathBuf::from(h)
                .join(".config")
                .join("caliper")
                .join("cache.key")
        })
    }

    /// The cache directory, if enabled.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The checked directory and key; on the first call, checks (and
    /// creates) them, and warns once if they are refused.
    fn opened(&self) -> Option<&Opened> {
        let dir = self.dir.as_deref()?;
        self.state
            .get_or_init(|| {
                let key_file = self.key_file.clone().or_else(Self::default_key_file);
                match open(dir, key_file.as_deref()) {
                    Ok(opened) => Some(opened),
                    Err(e) => {
                        tracing::warn!("compile cache disabled: {e}");
                        None
                    }
                }
            })
            .as_ref()
    }

    /// Returns the compiled form of `wasm` (whose sha256 is `digest`, in
    /// hex), from the cache when an authentic entry is there. The error is
    /// the compiler's (a cache that cannot be used is a miss, not an error).
    pub fn load_or_compile(
        &self,
        runtime: &Runtime,
        wasm: &[u8],
        digest: &str,
    ) -> wasmtime::Result<(Component, CacheStatus)> {
        let Some(opened) = self.opened() else {
            let component = Component::new(runtime.engine(), wasm)?;
            return Ok((component, CacheStatus::Disabled));
        };
        let compat = runtime.compatibility_key();
        let path = opened.dir.join(entry_name(digest, &compat));
        if let Some(payload) = read_entry(opened, &path, digest, &compat) {
            // SAFETY: the payload's MAC verified under this user's private
            // key, over this component's digest and this engine's
            // compatibility key: it is an artifact this module compiled from
            // these bytes for this engine configuration, and `payload` is the
            // buffer that was verified (not re-read from disk).
            match unsafe { Component::deserialize(runtime.engine(), &payload) } {
                Ok(component) => return Ok((component, CacheStatus::Hit)),
                Err(e) => tracing::warn!(
                    path = %path.display(),
                    "stale compile cache entry, recompiling: {e:#}"
                ),
            }
        }
        let artifact = runtime.engine().precompile_component(wasm)?;
        if let Err(e) = write_entry(opened, &path, digest, &compat, &artifact) {
            tracing::warn!(path = %path.display(), "could not write compile cache entry: {e}");
        }
        // SAFETY: `artifact` was produced by this engine a moment ago.
        let component = unsafe { Component::deserialize(runtime.engine(), &artifact)? };
        Ok((component, CacheStatus::Miss))
    }
}

/// The file name of an entry (digests are hex, compatibility keys hex).
fn entry_name(digest: &str, compat: &str) -> String {
    format!("{digest}-{compat}.cwasm")
}

/// The MAC of an entry: over the context, the component's digest, the
/// engine's compatibility key (each length-prefixed) and the payload.
fn entry_mac(key: &[u8; KEY_LEN], digest: &str, compat: &str, payload: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(MAC_CONTEXT);
    for part in [digest.as_bytes(), compat.as_bytes()] {
        mac.update(&(part.len() as u64).to_le_bytes());
        mac.update(part);
    }
    mac.update(payload);
    mac
}

/// The authenticated payload of the entry at `path`, or `None` (a miss,
/// warned about unless the entry is simply absent or of the old format).
fn read_entry(opened: &Opened, path: &Path, digest: &str, compat: &str) -> Option<Vec<u8>> {
    let warn = |why: &str| {
        tracing::warn!(path = %path.display(), "compile cache entry {why}; recompiling and replacing it");
    };
    let mut bytes = match read_private_file(path, MAX_ENTRY_BYTES) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            warn(&format!("unreadable ({e})"));
            return None;
        }
    };
    let header = MAGIC.len() + MAC_LEN;
    if bytes.starts_with(OLD_MAGIC) {
        tracing::debug!(path = %path.display(), "compile cache entry of an older format; recompiling");
        return None;
    }
    if bytes.len() <= header || &bytes[..MAGIC.len()] != MAGIC {
        warn("is truncated or not a Caliper cache entry");
        return None;
    }
    let mac = entry_mac(&opened.key, digest, compat, &bytes[header..]);
    if mac.verify_slice(&bytes[MAGIC.len()..header]).is_err() {
        warn(
            "does not authenticate (it was not written for this component and engine by this \
             user's cache, or it was changed)",
        );
        return None;
    }
    bytes.drain(..header);
    Some(bytes)
}

fn write_entry(
    opened: &Opened,
    path: &Path,
    digest: &str,
    compat: &str,
    artifact: &[u8],
) -> std::io::Result<()> {
    let mac = entry_mac(&opened.key, digest, compat, artifact).finalize();
    // A private (0600) temporary sibling, renamed over any old entry.
    let mut tmp = tempfile::NamedTempFile::new_in(&opened.dir)?;
    tmp.write_all(MAGIC)?;
    tmp.write_all(&mac.into_bytes())?;
    tmp.write_all(artifact)?;
    tmp.as_file().sync_data()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Checks (creating it if needed) the directory and the key.
fn open(dir: &Path, key_file: Option<&Path>) -> Result<Opened, CacheError> {
    let key_file = key_file.ok_or(CacheError::NoKeyLocation)?;
    let io = |path: &Path| {
        let path = path.to_owned();
        move |error| CacheError::Io { path, error }
    };
    caliper_types::dirs::create_private_dir(dir).map_err(io(dir))?;
    check_private_dir(dir)?;
    let dir = dir.canonicalize().map_err(io(dir))?;
    if let Some(parent) = key_file.parent().filter(|p| !p.as_os_str().is_empty()) {
        caliper_types::dirs::create_private_dir(parent).map_err(io(parent))?;
        let parent = parent.canonicalize().map_err(io(parent))?;
        if parent.starts_with(&dir) {
            return Err(CacheError::UnsafeKey {
                path: key_file.to_owned(),
                why: format!(
                    "it is inside the cache directory {}; keep it elsewhere",
                    dir.display()
                ),
            });
        }
    }
    let key = read_or_create_key(key_file)?;
    Ok(Opened { dir, key })
}

#[cfg(unix)]
fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Refuses a directory another user can write.
fn check_private_dir(dir: &Path) -> Result<(), CacheError> {
    let meta = std::fs::metadata(dir).map_err(|error| CacheError::Io {
        path: dir.to_owned(),
        error,
    })?;
    let unsafe_dir = |why: String| CacheError::UnsafeDir {
        path: dir.to_owned(),
        why,
    };
    if !meta.is_dir() {
        return Err(unsafe_dir("not a directory".into()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let uid = current_uid();
        if meta.uid() != uid {
            return Err(unsafe_dir(format!(
                "owned by uid {}, not by this user (uid {uid})",
                meta.uid()
            )));
        }
        let mode = meta.mode() & 0o7777;
        if mode & 0o022 != 0 && mode & 0o1000 == 0 {
            return Err(unsafe_dir(format!(
                "writable by other users (mode {mode:04o})"
            )));
        }
    }
    Ok(())
}

/// Opens a file without following a symlink and without blocking (a FIFO
/// swapped in cannot hang the open), then checks, on the open file, that it
/// is a regular file of at most `cap` bytes, and reads it.
fn open_regular(path: &Path, cap: u64) -> std::io::Result<(std::fs::File, std::fs::Metadata)> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(
        &mut options,
        libc::O_NOFOLLOW | libc::O_NONBLOCK,
    );
    let file = options.open(path).map_err(|e| {
        #[cfg(unix)]
        if e.raw_os_error() == Some(libc::ELOOP) {
            return std::io::Error::new(std::io::ErrorKind::InvalidInput, "it is a symlink");
        }
        e
    })?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    if meta.len() > cap {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} bytes, more than the {cap} allowed", meta.len()),
        ));
    }
    Ok((file, meta))
}

fn read_private_file(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    let (file, meta) = open_regular(path, cap)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("more than the {cap} bytes allowed"),
        ));
    }
    Ok(bytes)
}

/// Reads the key, or creates it if there is none yet.
fn read_or_create_key(path: &Path) -> Result<[u8; KEY_LEN], CacheError> {
    let refused = |why: String| CacheError::UnsafeKey {
        path: path.to_owned(),
        why,
    };
    // Twice at most: if another process creates the key between our
    // attempt to read it and our attempt to create it, read theirs.
    for _ in 0..2 {
        match open_regular(path, KEY_LEN as u64) {
            Ok((file, meta)) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::MetadataExt;
                    let uid = current_uid();
                    if meta.uid() != uid {
                        return Err(refused(format!(
                            "owned by uid {}, not by this user (uid {uid})",
                            meta.uid()
                        )));
                    }
                    let mode = meta.mode() & 0o7777;
                    if mode & 0o077 != 0 {
                        return Err(refused(format!(
                            "mode {mode:04o} lets other users read or write it (chmod 600 it)"
                        )));
                    }
                }
                let _ = &meta;
                let mut key = Vec::with_capacity(KEY_LEN);
                file.take(KEY_LEN as u64 + 1)
                    .read_to_end(&mut key)
                    .map_err(|e| refused(e.to_string()))?;
                return key
                    .try_into()
                    .map_err(|_| refused(format!("it is not {KEY_LEN} bytes long")));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match create_key(path) {
                Ok(key) => return Ok(key),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(refused(format!("cannot create it: {e}"))),
            },
            Err(e) => return Err(refused(e.to_string())),
        }
    }
    Err(refused("it keeps appearing and disappearing".into()))
}

/// Writes a new random key: a 0600 temporary sibling, synced, then linked
/// into place without replacing an existing key.
fn create_key(path: &Path) -> std::io::Result<[u8; KEY_LEN]> {
    let mut key = [0u8; KEY_LEN];
    getrandom::fill(&mut key).map_err(|e| std::io::Error::other(e.to_string()))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    tmp.write_all(&key)?;
    tmp.as_file().sync_all()?;
    tmp.persist_noclobber(path).map_err(|e| e.error)?;
    tracing::info!(path = %path.display(), "created the compile cache key");
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RuntimeOptions;

    /// A tiny valid component (no exports): enough to compile and cache.
    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\x00\x01\x00";

    struct Setup {
        _root: tempfile::TempDir,
        dir: PathBuf,
        key: PathBuf,
        runtime: Arc<Runtime>,
    }

    fn setup() -> Setup {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("cache");
        let key = root.path().join("config").join("cache.key");
        Setup {
            dir,
            key,
            runtime: Runtime::new(RuntimeOptions::default()).unwrap(),
            _root: root,
        }
    }

    impl Setup {
        fn cache(&self) -> CompileCache {
            CompileCache::new(&self.dir).with_key_file(&self.key)
        }

        fn load(&self, wasm: &[u8]) -> CacheStatus {
            let digest = hex::encode(<Sha256 as sha2::Digest>::digest(wasm));
            self.cache()
                .load_or_compile(&self.runtime, wasm, &digest)
                .unwrap()
                .1
        }

        fn entries(&self) -> Vec<PathBuf> {
            let mut v: Vec<PathBuf> = std::fs::read_dir(&self.dir)
                .map(|d| d.flatten().map(|e| e.path()).collect())
                .unwrap_or_default();
            v.sort();
            v
        }
    }

    fn other_component() -> Vec<u8> {
        crate::plugin::append_custom_section(EMPTY_COMPONENT, "other", b"x")
    }

    #[test]
    fn a_second_load_hits_and_the_key_and_dir_are_private() {
        let s = setup();
        assert_eq!(s.load(EMPTY_COMPONENT), CacheStatus::Miss);
        assert_eq!(s.load(EMPTY_COMPONENT), CacheStatus::Hit);
        assert_eq!(s.entries().len(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&s.key), 0o600);
            assert_eq!(mode(&s.dir), 0o700);
            assert_eq!(mode(&s.entries()[0]), 0o600);
        }
        assert_eq!(std::fs::read(&s.key).unwrap().len(), KEY_LEN);
    }

    #[test]
    fn an_entry_copied_over_another_components_name_is_a_miss_and_is_replaced() {
        let s = setup();
        let other = other_component();
        s.load(EMPTY_COMPONENT);
        let first = s.entries();
        s.load(&other);
        let both = s.entries();
        let second = both.iter().find(|p| !first.contains(p)).unwrap().clone();
        // The other component's (authentic) entry under the first's name.
        std::fs::copy(&second, &first[0]).unwrap();
        assert_eq!(s.load(EMPTY_COMPONENT), CacheStatus::Miss);
        // Replaced by an authentic one.
        assert_eq!(s.load(EMPTY_COMPONENT), CacheStatus::Hit);
        assert_ne!(
            std::fs::read(&first[0]).unwrap(),
            std::fs::read(&second).unwrap()
        );
    }

    #[test]
    fn forged_truncated_and_old_format_entries_are_misses() {
        let s = setup();
        s.load(EMPTY_COMPONENT);
        let entry = s.entries()[0].clone();
        let good = std::fs::read(&entry).unwrap();
        let header = MAGIC.len() + MAC_LEN;
        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 1;
        let mut bad_mac = good.clone();
        bad_mac[MAGIC.len()] ^= 1;
        // The old, checksummed-only format: a sha256 where the MAC is.
        let mut old = OLD_MAGIC.to_vec();
        old.extend_from_slice(&<Sha256 as sha2::Digest>::digest(&good[header..]));
        old.extend_from_slice(&good[header..]);
        for bad in [
            flipped,
            bad_mac,
            good[..good.len() / 2].to_vec(),
            good[..header].to_vec(),
            old,
            Vec::new(),
        ] {
            std::fs::write(&entry, &bad).unwrap();
            assert_eq!(s.load(EMPTY_COMPONENT), CacheStatus::Miss);
            assert_eq!(std::fs::read(&entry).unwrap().len(), good.len());
            assert_eq!(s.load(EMPTY_COMPONENT), CacheStatus::Hit);
        }
    }

    #[test]
    fn an_entry_made_with_another_key_is_a_miss() {
        let s = setup();
        s.load(EMPTY_COMPONENT);
        std::fs::remove_file(&s.key).unwrap();
        // A new key (as on another machine, or a restored CI cache).
        assert_eq!(s.load(EMPTY_COMPONENT), CacheStatus::Miss);
        assert_eq!(s.load(EMPTY_COMPONENT), CacheStatus::Hit);
    }

    #[cfg(unix)]
    #[test]
    fn an_unsafe_dir_or_key_disables_the_cache() {
        use std::os::unix::fs::PermissionsExt;
        let set_mode =
            |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m));
        let s = setup();
        s.load(EMPTY_COMPONENT);
        // A world-writable directory.
        set_mode(&s.dir, 0o777).unwrap();
        assert_eq!(s.load(EMPTY_COMPONENT), CacheStatus::Disabled);
        let err = open(&s.dir, Some(&s.key)).unwrap_err().to_string();
        assert!(err.contains("writable by other users"), "{err}");
        assert!(err.contains(&s.dir.display().to_string()), "{err}");
        // ... unless sticky (like /tmp).
        set_mode(&s.dir, 0o1777).unwrap();
        assert_eq!(s.load(EMPTY_COMPONENT), CacheStatus::Hit);
        set_mode(&s.dir, 0o770).unwrap();
        assert_eq!(s.load(EMPTY_COMPONENT), CacheStatus::Disabled);
        set_mode(&s.dir, 0o700).unwrap();
        // A key others can read.
        set_mode(&s.key, 0o640).unwrap();
        assert_eq!(s.load(EMPTY_COMPONENT), CacheStatus::Disabled);
        let err = open(&s.dir, Some(&s.key)).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        set_mode(&s.key, 0o600).unwrap();
        assert_eq!(s.load(EMPTY_COMPONENT), CacheStatus::Hit);
        // A key that is a symlink, a FIFO, or the wrong size.
        let real = s.key.with_extension("real");
        std::fs::rename(&s.key, &real).unwrap();
        std::os::unix::fs::symlink(&real, &s.key).unwrap();
        assert!(open(&s.dir, Some(&s.key)).is_err());
        std::fs::remove_file(&s.key).unwrap();
        let fifo = std::ffi::CString::new(s.key.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let err = open(&s.dir, Some(&s.key)).unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
        std::fs::remove_file(&s.key).unwrap();
        std::fs::write(&s.key, b"short").unwrap();
        set_mode(&s.key, 0o600).unwrap();
        assert!(open(&s.dir, Some(&s.key)).is_err());
        // A key inside the cache directory.
        let inside = s.dir.join("cache.key");
        let err = open(&s.dir, Some(&inside)).unwrap_err().to_string();
        assert!(err.contains("inside the cache directory"), "{err}");
    }

    #[test]
    fn concurrent_first_uses_agree_on_one_key() {
        let s = setup();
        let keys: Vec<[u8; KEY_LEN]> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| open(&s.dir, Some(&s.key)).unwrap().key))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(keys.iter().all(|k| *k == keys[0]));
    }
}
