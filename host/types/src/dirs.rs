//! Where Caliper keeps files of its own.

use std::path::PathBuf;

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
