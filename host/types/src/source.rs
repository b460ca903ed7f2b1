//! Where the component file of a metric that is not a local path comes
//! from (an `oci://` package, a `builtin:` metric): the one seam between
//! resolving a config and the registry client or the metrics built into the
//! binary.

use std::path::{Path, PathBuf};

/// The scheme of a metric compiled into the `caliper` binary, where a path
/// could stand: `builtin:pii-leak`.
pub const BUILTIN_SCHEME: &str = "builtin:";

/// The built-in metric a metric's `path` names (`builtin:NAME` → `NAME`),
/// if it names one.
pub fn builtin_in(path: &Path) -> Option<&str> {
    path.to_str()?.strip_prefix(BUILTIN_SCHEME)
}

/// Whether `name` is a well-formed built-in name: lower-case ASCII letters,
/// digits and inner `-` (whether such a metric exists is the resolve step's
/// question).
pub fn valid_builtin_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Where the component file of a metric that names no local file comes
/// from: `oci://` references (the registry client, `caliper_oci::RegistrySource`)
/// and `builtin:` metrics (`caliper_builtin::Source`, which passes the rest
/// on to a registry). The resolve step never links either.
pub trait ComponentSource: Send + Sync {
    /// The local file for `reference` (`oci://…` or `builtin:…`); may ask
    /// a registry (tags move). The error names the reference's problem.
    fn fetch(&self, reference: &str) -> Result<PathBuf, String>;
    /// The local file for `reference` if this machine has it already (a
    /// built-in always); never the network.
    fn cached(&self, reference: &str) -> Option<PathBuf>;
}

/// For callers without a registry: `fetch` fails, nothing is cached.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoRegistry;

impl ComponentSource for NoRegistry {
    fn fetch(&self, reference: &str) -> Result<PathBuf, String> {
        Err(format!("{reference}: no registry client in this program"))
    }

    fn cached(&self, _reference: &str) -> Option<PathBuf> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_builtin_path_is_its_scheme_and_a_plain_name() {
        assert_eq!(builtin_in(Path::new("builtin:pii-leak")), Some("pii-leak"));
        assert_eq!(builtin_in(Path::new("pii_leak.wasm")), None);
        assert_eq!(builtin_in(Path::new("oci://r/x:1")), None);
        for good in ["json", "pii-leak", "a2"] {
            assert!(valid_builtin_name(good), "{good}");
        }
        for bad in ["", "-x", "x-", "Json", "a/b", "../x", "a b", "a.wasm"] {
            assert!(!valid_builtin_name(bad), "{bad}");
        }
    }
}
