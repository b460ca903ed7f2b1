//! Loading a metric component, in two steps so that trust comes before
//! code:
//!
//! 1. [`PluginFile`]: read the file (a regular file of at most
//!    [`MAX_COMPONENT_BYTES`]), digest it, and parse what rides in its custom
//!    sections (package manifest, signatures). Parsing bytes only: nothing is
//!    compiled, cached or run, so the digest, the lock and the trust policy
//!    can be checked here ([`crate::load::Components`] does, for every
//!    metric of a config).
//! 2. [`Plugin::compile`]: compile (through the cache), check the contract,
//!    instantiate once, ask the metric to describe itself, and bound what it
//!    says (`check_descriptor`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

use crate::bindings::{self, MetricComponentPre, wit};
use crate::cache::{CacheStatus, CompileCache};
use crate::engine::Runtime;
use crate::sandbox::StoreState;
use caliper_package::Manifest;
pub use caliper_package::component::{MAX_COMPONENT_BYTES, ReadError, read_component_file};
pub use caliper_package::sections::append_custom_section;
pub use caliper_types::descriptor::Descriptor;
use caliper_types::limits::{Grants, Limits};

impl From<ReadError> for LoadError {
    fn from(e: ReadError) -> Self {
        LoadError::Read {
            path: e.path,
            error: e.error,
        }
    }
}

impl From<wit::Descriptor> for Descriptor {
    fn from(d: wit::Descriptor) -> Self {
        Descriptor {
            name: d.name,
            version: d.version,
            description: d.description,
            owner: d.owner,
            goal: d.goal,
            tags: d.tags,
            unit: d.value.unit,
            higher_is_better: d.value.higher_is_better,
            config_schema: serde_json::from_str(&d.config_schema)
                .unwrap_or(serde_json::Value::Null),
        }
    }
}

/// Why a component could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error (shown in the message, so not also a `source`:
        /// an error chain would print it twice).
        error: std::io::Error,
    },
    /// The bytes are not a valid component for this engine.
    #[error("{path} is not a valid WebAssembly component: {message}")]
    Compile {
        /// The file.
        path: PathBuf,
        /// What wasmtime said.
        message: String,
    },
    /// The component does not implement a contract this host knows.
    #[error("{path} does not implement the Caliper metric contract {expected}: {found}")]
    Contract {
        /// The file.
        path: PathBuf,
        /// The contract this host implements.
        expected: &'static str,
        /// What it exports instead.
        found: String,
    },
    /// The embedded package manifest is unreadable, contradicts the
    /// component, or asks for a newer host.
    #[error("{path}: package refused: {message}")]
    Package {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// What `describe` returned is out of bounds (too long, not kebab-case
    /// or semver, control characters).
    #[error("{path}: its self-description is refused: {message}")]
    Describe {
        /// The file.
        path: PathBuf,
        /// The field and what is wrong with it (escaped, truncated).
        message: String,
    },
    /// Instantiation or `describe` failed.
    #[error("{path} failed to start: {message}")]
    Start {
        /// The file.
        path: PathBuf,
        /// The cause (trap, missing import, ...).
        message: String,
    },
}

/// A loaded, validated metric component, ready to be instantiated by any
/// number of workers.
pub struct Plugin {
    /// Where it was loaded from.
    pub path: PathBuf,
    /// `sha256:<hex>` of the component bytes.
    pub digest: String,
    /// Size of the component in bytes.
    pub size: usize,
    /// The metric's self-description.
    pub descriptor: Descriptor,
    /// The contract version it implements.
    pub contract: String,
    /// The package manifest embedded by `caliper pack`, if any.
    pub manifest: Option<Manifest>,
    /// The signatures it carries, each checked against its content.
    pub signatures: Vec<caliper_package::signing::Found>,
    /// Whether the compiled code came from the cache.
    pub cache: CacheStatus,
    /// Time to read, compile or load, and describe.
    pub load_time: Duration,
    pub(crate) pre: MetricComponentPre<StoreState>,
    pub(crate) runtime: Arc<Runtime>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("path", &self.path)
            .field("digest", &self.digest)
            .field("descriptor", &self.descriptor)
            .finish_non_exhaustive()
    }
}

pub use caliper_types::digest::digest_of;

/// A component file read and digested, not compiled: what can be known
/// about it without running anything, which is all that the digest, lock
/// and trust checks need.
#[derive(Debug)]
pub struct PluginFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// `sha256:<hex>` of the bytes.
    pub digest: String,
    /// The package manifest embedded by `caliper pack`, if any.
    pub manifest: Option<Manifest>,
    /// The signatures it carries, each checked against its content.
    pub signatures: Vec<caliper_package::signing::Found>,
    /// Size in bytes.
    pub size: usize,
    bytes: Vec<u8>,
    started: Instant,
}

impl PluginFile {
    /// Reads the component at `path` ([`read_component_file`]).
    pub fn read(path: &Path) -> Result<PluginFile, LoadError> {
        let started = Instant::now();
        let bytes = read_component_file(path)?;
        Self::from_bytes(path, bytes, started)
    }

    /// A component from bytes already read from `path`: digests them and
    /// reads the manifest and signatures (parsing only).
    pub fn from_bytes(
        path: &Path,
        bytes: Vec<u8>,
        started: Instant,
    ) -> Result<PluginFile, LoadError> {
        // Not even a sequence of sections: not a component (the compiler
        // would say the same, but nothing is compiled before admission).
        caliper_package::sections::sections(&bytes).map_err(|message| LoadError::Compile {
            path: path.to_owned(),
            message,
        })?;
        let package_err = |message: String| LoadError::Package {
            path: path.to_owned(),
            message,
        };
        let manifest =
            caliper_package::read_embedded(&bytes).map_err(|e| package_err(e.to_string()))?;
        let signatures = caliper_package::signing::signatures(&bytes).map_err(package_err)?;
        Ok(PluginFile {
            path: path.to_owned(),
            digest: digest_of(&bytes),
            manifest,
            signatures,
            size: bytes.len(),
            bytes,
            started,
        })
    }

    /// The component's bytes (empty once [`PluginFile::release`]d).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Frees the bytes, keeping what was learnt from them.
    pub fn release(&mut self) {
        self.bytes = Vec::new();
    }
}

impl Plugin {
    /// Loads the component at `path`, with no trust policy: for a component
    /// named on the command line (`inspect`, `test`). A config's metrics
    /// load through [`crate::load::Components`], which checks the lock and
    /// the trust policy before anything is compiled.
    pub fn load(
        runtime: &Arc<Runtime>,
        cache: &CompileCache,
        path: &Path,
    ) -> Result<Plugin, LoadError> {
        Self::compile(runtime, cache, &PluginFile::read(path)?, &Limits::default())
    }

    /// Loads a component from bytes already read from `path`, with no trust
    /// policy (see [`Plugin::load`]).
    pub fn from_bytes(
        runtime: &Arc<Runtime>,
        cache: &CompileCache,
        path: &Path,
        bytes: &[u8],
        started: Instant,
    ) -> Result<Plugin, LoadError> {
        Self::compile(
            runtime,
            cache,
            &PluginFile::from_bytes(path, bytes.to_vec(), started)?,
            &Limits::default(),
        )
    }

    /// Compiles (through the cache) a component already read, checks its
    /// contract, instantiates it and asks it to describe itself under
    /// `limits` (their memory and fuel caps, and the start deadline, see
    /// [`Limits::for_start`]). This runs guest code: check a config's policy
    /// on the [`PluginFile`] first.
    pub fn compile(
        runtime: &Arc<Runtime>,
        cache: &CompileCache,
        file: &PluginFile,
        limits: &Limits,
    ) -> Result<Plugin, LoadError> {
        let path = file.path.as_path();
        let bytes = file.bytes();
        let digest = file.digest.clone();
        let package_err = |message: String| LoadError::Package {
            path: path.to_owned(),
            message,
        };
        let hex_digest = digest.trim_start_matches("sha256:");
        let (component, cache_status) =
            cache
                .load_or_compile(runtime, bytes, hex_digest)
                .map_err(|e| LoadError::Compile {
                    path: path.to_owned(),
                    message: format!("{e:#}"),
                })?;
        let contract =
            check_contract(runtime, &component).map_err(|found| LoadError::Contract {
                path: path.to_owned(),
                expected: bindings::METRIC_EXPORT,
                found,
            })?;
        let start_err = |message: String| LoadError::Start {
            path: path.to_owned(),
            message,
        };
        let instance_pre = runtime
            .linker()
            .instantiate_pre(&component)
            .map_err(|e| start_err(format!("{e:#}")))?;
        let pre = MetricComponentPre::new(instance_pre).map_err(|e| start_err(format!("{e:#}")))?;

        let limits = limits.for_start();
        let name: Arc<str> = Arc::from(path.display().to_string());
        let mut store = crate::guest::new_store(runtime, name, &limits, &Grants::default());
        let described = pre
            .instantiate(&mut store)
            .and_then(|b| b.caliper_metric_metric().call_describe(&mut store));
        let descriptor: Descriptor = match described {
            Ok(d) => {
                check_descriptor(&d).map_err(|message| LoadError::Describe {
                    path: path.to_owned(),
                    message,
                })?;
                d.into()
            }
            Err(e) => {
                let failure = crate::guest::classify_failure(&e, &mut store, &limits);
                return Err(start_err(failure.1));
            }
        };
        if let Some(manifest) = &file.manifest {
            manifest
                .check(&descriptor, &contract)
                .map_err(package_err)?;
        }
        Ok(Plugin {
            path: path.to_owned(),
            digest,
            size: file.size,
            descriptor,
            contract,
            manifest: file.manifest.clone(),
            signatures: file.signatures.clone(),
            cache: cache_status,
            load_time: file.started.elapsed(),
            pre,
            runtime: runtime.clone(),
        })
    }
}

/// Limits on what `describe` may return: a name and a version are shown in
/// every result line, table and log, so they are short, and nothing a
/// metric says about itself may carry control characters (or bidi
/// overrides, see [`caliper_types::text::is_unsafe_char`]) to a terminal.
pub mod describe_limits {
    /// `name`: kebab-case, at most this many bytes.
    pub const NAME_BYTES: usize = 64;
    /// `version`: semver, at most this many bytes.
    pub const VERSION_BYTES: usize = 64;
    /// `description`, `owner`, `goal`, `unit`: at most this many bytes each.
    pub const TEXT_BYTES: usize = 1024;
    /// At most this many tags ...
    pub const TAGS: usize = 32;
    /// ... of at most this many bytes each.
    pub const TAG_BYTES: usize = 64;
    /// `config-schema` (JSON text): at most this many bytes.
    pub const SCHEMA_BYTES: usize = 64 * 1024;
}

/// Checks what `describe` returned against [`describe_limits`]: the error
/// names the field and shows its start, escaped.
fn check_descriptor(d: &wit::Descriptor) -> Result<(), String> {
    use describe_limits::*;
    let field = |name: &str, value: &str, cap: usize| -> Result<(), String> {
        if value.len() > cap {
            return Err(format!(
                "`{name}` is {} bytes, more than {cap}: {}",
                value.len(),
                shown(value)
            ));
        }
        if value.chars().any(caliper_types::text::is_unsafe_char) {
            return Err(format!(
                "`{name}` contains control or bidi-override characters: {}",
                shown(value)
            ));
        }
        Ok(())
    };
    field("name", &d.name, NAME_BYTES)?;
    if !is_kebab_case(&d.name) {
        return Err(format!(
            "`name` is not kebab-case (like `response-length`): {}",
            shown(&d.name)
        ));
    }
    field("version", &d.version, VERSION_BYTES)?;
    if let Err(e) = semver::Version::parse(&d.version) {
        return Err(format!(
            "`version` is not a semantic version (like 1.2.0): {} ({e})",
            shown(&d.version)
        ));
    }
    field("description", &d.description, TEXT_BYTES)?;
    field("owner", &d.owner, TEXT_BYTES)?;
    field("goal", &d.goal, TEXT_BYTES)?;
    field("unit", &d.value.unit, TEXT_BYTES)?;
    if d.tags.len() > TAGS {
        return Err(format!(
            "`tags` has {} tags, more than {TAGS}",
            d.tags.len()
        ));
    }
    for (i, tag) in d.tags.iter().enumerate() {
        field(&format!("tags[{i}]"), tag, TAG_BYTES)?;
    }
    // JSON text: whitespace between tokens is fine (it is parsed, and only
    // ever shown re-serialized), other control characters are not.
    let schema = &d.config_schema;
    if schema.len() > SCHEMA_BYTES {
        return Err(format!(
            "`config-schema` is {} bytes, more than {SCHEMA_BYTES}",
            schema.len()
        ));
    }
    if schema
        .chars()
        .any(|c| caliper_types::text::is_unsafe_char(c) && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err("`config-schema` contains control or bidi-override characters".into());
    }
    Ok(())
}

/// `response-length`, `pii-leak`, `v2`: lowercase ASCII words of letters and
/// digits joined by single hyphens, starting with a letter.
fn is_kebab_case(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// The start of an untrusted value, quoted and made inert (no control or
/// bidi character survives), for an error message.
fn shown(value: &str) -> String {
    format!("\"{}\"", caliper_types::text::inert(value, 48))
}

impl Plugin {
    /// The owner: the package manifest's, else the component's
    /// self-description's.
    pub fn owner(&self) -> &str {
        match &self.manifest {
            Some(m) if !m.owner.is_empty() => &m.owner,
            _ => &self.descriptor.owner,
        }
    }
}

/// Finds the metric export and returns its contract version, or describes
/// what the component exports instead.
fn check_contract(runtime: &Runtime, component: &Component) -> Result<String, String> {
    let ty = component.component_type();
    let exports: Vec<String> = ty
        .exports(runtime.engine())
        .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentInstance(_)))
        .map(|(name, _)| name.to_owned())
        .collect();
    if exports.iter().any(|e| e == bindings::METRIC_EXPORT) {
        return Ok(bindings::CONTRACT_VERSION.to_owned());
    }
    if let Some(other) = exports
        .iter()
        .find(|e| e.starts_with("caliper:metric/metric@"))
    {
        let version = other.trim_start_matches("caliper:metric/metric@");
        return Err(format!(
            "it was built against contract {version}; rebuild it with an SDK for {}",
            bindings::CONTRACT_VERSION
        ));
    }
    Err(if exports.is_empty() {
        "it exports no interfaces".to_owned()
    } else {
        format!("it exports {}", exports.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn descriptor() -> wit::Descriptor {
        wit::Descriptor {
            name: "response-length".into(),
            version: "1.2.0-rc.1+build.5".into(),
            description: "counts words".into(),
            owner: "quality".into(),
            goal: "short answers".into(),
            tags: vec!["length".into()],
            value: wit::ValueMeaning {
                unit: "words".into(),
                higher_is_better: false,
            },
            config_schema: "{\n  \"type\": \"object\"\n}".into(),
        }
    }

    #[test]
    fn a_sane_self_description_passes_and_every_field_is_bounded() {
        assert_eq!(check_descriptor(&descriptor()), Ok(()));
        let long = "a".repeat(1 << 20);
        type Change<'a> = Box<dyn Fn(&mut wit::Descriptor) + 'a>;
        let cases: Vec<(Change, &str)> = vec![
            (
                Box::new(|d| d.name = long.clone()),
                "`name` is 1048576 bytes",
            ),
            (
                Box::new(|d| d.name = "Response_Length".into()),
                "kebab-case",
            ),
            (Box::new(|d| d.name = "a--b".into()), "kebab-case"),
            (Box::new(|d| d.name = "-a".into()), "kebab-case"),
            (Box::new(|d| d.name = "1a".into()), "kebab-case"),
            (Box::new(|d| d.name = String::new()), "kebab-case"),
            (Box::new(|d| d.version = "1.0".into()), "semantic version"),
            (
                Box::new(|d| d.version = "1.0.0\r\n\x1b[2J".into()),
                "`version` contains control or bidi-override characters",
            ),
            (
                Box::new(|d| d.version = format!("1.0.0-{}", "a".repeat(80))),
                "`version` is",
            ),
            (
                Box::new(|d| d.description = "a\u{7}".into()),
                "`description`",
            ),
            (
                Box::new(|d| d.description = "x".repeat(2000)),
                "`description` is 2000",
            ),
            (Box::new(|d| d.owner = "a\u{9b}b".into()), "`owner`"),
            (Box::new(|d| d.goal = "\n".into()), "`goal`"),
            (Box::new(|d| d.goal = "a\u{202e}b".into()), "`goal`"),
            (Box::new(|d| d.value.unit = "\x1b".into()), "`unit`"),
            (Box::new(|d| d.tags = vec!["t".into(); 33]), "33 tags"),
            (
                Box::new(|d| d.tags = vec!["ok".into(), "x".repeat(65)]),
                "`tags[1]`",
            ),
            (
                Box::new(|d| d.config_schema = "x".repeat(70_000)),
                "`config-schema` is",
            ),
            (
                Box::new(|d| d.config_schema = "{\"a\x1b\": 1}".into()),
                "`config-schema`",
            ),
        ];
        for (change, expect) in &cases {
            let mut d = descriptor();
            change(&mut d);
            let err = check_descriptor(&d).unwrap_err();
            assert!(err.contains(expect), "{expect}: {err}");
            // What is shown is short and carries no control character.
            assert!(err.len() < 300, "{err}");
            assert!(
                !err.chars().any(caliper_types::text::is_unsafe_char),
                "{err:?}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn only_regular_files_under_the_cap_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.wasm");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = read_component_file(&fifo).unwrap_err().to_string();
        assert!(err.contains("fifo.wasm") && err.contains("a FIFO"), "{err}");
        let err = read_component_file(dir.path()).unwrap_err().to_string();
        assert!(err.contains("a directory"), "{err}");
        let big = dir.path().join("big.wasm");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(MAX_COMPONENT_BYTES + 1)
            .unwrap();
        let err = read_component_file(&big).unwrap_err().to_string();
        assert!(err.contains("big.wasm") && err.contains("256 MiB"), "{err}");
        let ok = dir.path().join("ok.wasm");
        std::fs::write(&ok, b"\0asm").unwrap();
        assert_eq!(read_component_file(&ok).unwrap(), b"\0asm");
    }
}
