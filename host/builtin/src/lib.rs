//! # caliper-builtin: the standard metrics inside the `caliper` binary
//!
//! Owns the standard metrics of `plugins/`, compiled from source for
//! `wasm32-wasip2` by this crate's build script and embedded in the binary
//! ([`all`], [`get`]); what `builtin:NAME` in a metric's `path` means
//! ([`Source`], the [`ComponentSource`] that gives a built-in its file and
//! passes every other reference on to a registry); and the default set
//! ([`DEFAULT_CONFIG`]): what `caliper run` scores with in a folder without
//! `caliper.toml`, and what `caliper init` writes.
//!
//! It never compiles or runs a component (that is `caliper-engine`), reads a
//! config file or contacts a registry itself.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use caliper_types::digest::digest_of;
pub use caliper_types::source::BUILTIN_SCHEME;
use caliper_types::source::ComponentSource;

mod generated {
    include!(concat!(env!("OUT_DIR"), "/builtins.rs"));
}

/// The default set as a commented `caliper.toml`: `caliper init` writes it,
/// and `caliper run` uses it where there is no `caliper.toml`.
pub const DEFAULT_CONFIG: &str = include_str!("default.toml");

/// One standard metric compiled into the binary.
#[derive(Debug)]
pub struct Builtin {
    name: &'static str,
    package: &'static str,
    bytes: &'static [u8],
    digest: String,
}

impl Builtin {
    /// The name a config writes after `builtin:` (the metric's own name).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The cargo package in `plugins/` it is built from.
    pub fn package(&self) -> &'static str {
        self.package
    }

    /// `builtin:NAME`, as a metric's `path`.
    pub fn reference(&self) -> String {
        format!("{BUILTIN_SCHEME}{}", self.name)
    }

    /// The component.
    pub fn bytes(&self) -> &'static [u8] {
        self.bytes
    }

    /// `sha256:…` of the component: what `caliper.lock` pins.
    pub fn digest(&self) -> &str {
        &self.digest
    }
}

static ALL: LazyLock<Vec<Builtin>> = LazyLock::new(|| {
    generated::COMPONENTS
        .iter()
        .map(|&(name, package, bytes)| Builtin {
            name,
            package,
            bytes,
            digest: digest_of(bytes),
        })
        .collect()
});

/// Every built-in metric, by name.
pub fn all() -> &'static [Builtin] {
    &ALL
}

/// The built-in metric `name`, if there is one.
pub fn get(name: &str) -> Option<&'static Builtin> {
    all().iter().find(|b| b.name == name)
}

/// Why a built-in metric has no file.
#[derive(Debug, thiserror::Error)]
pub enum BuiltinError {
    /// No built-in metric has this name.
    #[error("no built-in metric `{name}`; built in: {known}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// Every name there is, comma-separated.
        known: String,
    },
    /// No cache directory to keep the component files in.
    #[error("no cache directory for the built-in metrics: set CALIPER_CACHE_DIR (or HOME)")]
    NoDir,
    /// Writing or reading the component's file failed.
    #[error("built-in metric file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
}

/// A [`ComponentSource`] that knows the built-in metrics: `builtin:NAME`
/// becomes a file in `builtin/` of the cache directory, named by the
/// component's digest and checked against it whenever it is reused (a file
/// that does not match, or is not a plain file, is written again); every
/// other reference goes to `registry`.
///
/// Built-ins are local: [`ComponentSource::cached`] gives their file too, so
/// commands that resolve offline see a built-in's package defaults.
pub struct Source<R> {
    dir: Option<PathBuf>,
    registry: R,
}

impl<R: ComponentSource> Source<R> {
    /// Built-ins in `builtin/` of the default cache directory
    /// (`$CALIPER_CACHE_DIR`, else `$XDG_CACHE_HOME/caliper`, else
    /// `~/.cache/caliper`).
    pub fn new(registry: R) -> Self {
        Source {
            dir: caliper_types::dirs::cache_dir().map(|d| d.join("builtin")),
            registry,
        }
    }

    /// Built-ins in `dir`.
    pub fn in_dir(dir: impl Into<PathBuf>, registry: R) -> Self {
        Source {
            dir: Some(dir.into()),
            registry,
        }
    }

    /// The file of the built-in `name`, written if it is missing or wrong.
    pub fn file(&self, name: &str) -> Result<PathBuf, BuiltinError> {
        let builtin = get(name).ok_or_else(|| BuiltinError::Unknown {
            name: name.to_owned(),
            known: all().iter().map(|b| b.name).collect::<Vec<_>>().join(", "),
        })?;
        let dir = self.dir.as_deref().ok_or(BuiltinError::NoDir)?;
        let hex = builtin.digest.trim_start_matches("sha256:");
        let path = dir.join(format!("{hex}.wasm"));
        if holds(&path, builtin) {
            return Ok(path);
        }
        let io = |source| BuiltinError::Io {
            path: path.clone(),
            source,
        };
        caliper_types::dirs::create_private_dir(dir).map_err(io)?;
        // Not a plain file (a symlink, a pipe): removed, not written through.
        if std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_file()) {
            std::fs::remove_file(&path).map_err(io)?;
        }
        let file = caliper_types::atomic_file::AtomicFile::create_private(&path).map_err(io)?;
        (&mut file.file()).write_all(builtin.bytes).map_err(io)?;
        file.commit().map_err(io)?;
        Ok(path)
    }
}

impl<R: ComponentSource> ComponentSource for Source<R> {
    fn fetch(&self, reference: &str) -> Result<PathBuf, String> {
        match reference.strip_prefix(BUILTIN_SCHEME) {
            Some(name) => self.file(name).map_err(|e| e.to_string()),
            None => self.registry.fetch(reference),
        }
    }

    fn cached(&self, reference: &str) -> Option<PathBuf> {
        match reference.strip_prefix(BUILTIN_SCHEME) {
            Some(name) => self.file(name).ok(),
            None => self.registry.cached(reference),
        }
    }
}

/// Whether `path` is a plain file holding exactly `builtin`'s bytes.
fn holds(path: &Path, builtin: &Builtin) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    meta.is_file()
        && meta.len() == builtin.bytes.len() as u64
        && std::fs::read(path).is_ok_and(|bytes| bytes == builtin.bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use caliper_types::source::NoRegistry;

    #[test]
    fn every_builtin_is_a_component_with_a_unique_name() {
        let names: std::collections::BTreeSet<_> = all().iter().map(|b| b.name()).collect();
        assert_eq!(names.len(), all().len());
        assert!(all().len() >= 9, "{names:?}");
        for b in all() {
            assert_eq!(&b.bytes()[..4], b"\0asm", "{}", b.name());
            assert_eq!(b.digest(), digest_of(b.bytes()));
            assert_eq!(get(b.name()).unwrap().package(), b.package());
        }
    }

    #[test]
    fn every_rust_plugin_is_built_in() {
        let plugins = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins");
        for entry in std::fs::read_dir(&plugins).unwrap().flatten() {
            let Ok(manifest) = std::fs::read_to_string(entry.path().join("Cargo.toml")) else {
                continue;
            };
            if manifest.contains("cdylib") {
                let package = entry.file_name().to_string_lossy().into_owned();
                assert!(
                    all().iter().any(|b| b.package() == package),
                    "plugins/{package} is not in build.rs's BUILTINS"
                );
            }
        }
    }

    #[test]
    fn the_default_config_parses_and_names_only_builtins() {
        let config = caliper_config::Config::parse(DEFAULT_CONFIG, Path::new("/d")).unwrap();
        assert!(config.metrics.len() >= 5);
        for m in &config.metrics {
            let reference = m.reference().unwrap();
            let name = reference.strip_prefix(BUILTIN_SCHEME).unwrap();
            assert!(get(name).is_some(), "{reference}");
            assert_eq!(m.instance_name(), name);
        }
        // The commented-out entries are built-ins too, and parse once uncommented.
        let uncommented: String = DEFAULT_CONFIG
            .lines()
            .map(|l| l.strip_prefix("# ").filter(|l| is_toml(l)).unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        let all_of_it = caliper_config::Config::parse(&uncommented, Path::new("/d")).unwrap();
        let names: Vec<_> = all_of_it
            .metrics
            .iter()
            .map(|m| m.instance_name())
            .collect();
        for b in all() {
            assert!(
                names.contains(&b.name().to_owned()),
                "{}: {names:?}",
                b.name()
            );
        }
    }

    /// A commented line of the default config that is TOML to uncomment (not
    /// prose).
    fn is_toml(line: &str) -> bool {
        line.starts_with("[[metric]]")
            || line.starts_with('[') && line.ends_with(']')
            || line.split_once(" = ").is_some_and(|(k, _)| {
                !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            })
    }

    #[test]
    fn a_builtin_file_is_written_once_and_rewritten_when_tampered_with() {
        let dir = tempfile::tempdir().unwrap();
        let source = Source::in_dir(dir.path().join("builtin"), NoRegistry);
        let json = get("json").unwrap();
        let path = source.fetch("builtin:json").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), json.bytes());
        assert!(path.ends_with(format!("{}.wasm", &json.digest()[7..])));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("builtin"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        let written = std::fs::metadata(&path).unwrap().modified().unwrap();
        assert_eq!(source.cached("builtin:json").unwrap(), path);
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            written
        );

        let mut tampered = json.bytes().to_vec();
        *tampered.last_mut().unwrap() ^= 1;
        std::fs::write(&path, &tampered).unwrap();
        assert_eq!(source.fetch("builtin:json").unwrap(), path);
        assert_eq!(std::fs::read(&path).unwrap(), json.bytes());

        std::fs::remove_file(&path).unwrap();
        #[cfg(unix)]
        {
            let elsewhere = dir.path().join("elsewhere.wasm");
            std::fs::write(&elsewhere, json.bytes()).unwrap();
            std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
            source.fetch("builtin:json").unwrap();
            assert!(std::fs::symlink_metadata(&path).unwrap().is_file());
            // A symlink to a device is replaced, never written through.
            std::fs::remove_file(&path).unwrap();
            std::os::unix::fs::symlink("/dev/null", &path).unwrap();
            source.fetch("builtin:json").unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), json.bytes());
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn an_unknown_builtin_names_the_known_ones_and_other_references_pass_on() {
        let dir = tempfile::tempdir().unwrap();
        let source = Source::in_dir(dir.path(), NoRegistry);
        let e = source.fetch("builtin:nope").unwrap_err();
        assert!(
            e.starts_with("no built-in metric `nope`; built in: budget, json,"),
            "{e}"
        );
        assert_eq!(source.cached("builtin:nope"), None);
        let e = source.fetch("oci://127.0.0.1:1/x:tag").unwrap_err();
        assert!(e.contains("no registry client"), "{e}");
        assert_eq!(source.cached("oci://127.0.0.1:1/x:tag"), None);
    }
}
