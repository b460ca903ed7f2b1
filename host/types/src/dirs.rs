//! Where Caliper keeps files of its own.

use std::path::{Path, PathBuf};

/// The cache directory (compiled components, pulled packages):
/// `$CALIPER_CACHE_DIR`, else `$XDG_CACHE_HOME/caliper`, else
/// `~/.cache/caliper`.
pub fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CALIPER_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(dir).join("caliper"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("caliper"))
}

/// Creates `dir` and its parents, `0700` where this creates them (on Unix):
/// for the cache and the files Caliper keeps for itself.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}
