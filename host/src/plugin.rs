//! Loading a metric component: read, digest, compile (through the cache),
//! check the contract, and ask the metric to describe itself.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

use crate::bindings::{self, MetricComponentPre, wit};
use crate::cache::{CacheStatus, CompileCache};
use crate::engine::Runtime;
use crate::package::Manifest;
use crate::sandbox::{Grants, Limits, StoreState};

/// A metric's self-description (see `descriptor` in `wit/metric.wit`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Descriptor {
    /// Kebab-case name.
    pub name: String,
    /// Semantic version.
    pub version: String,
    /// One line: what it checks.
    pub description: String,
    /// Owning team or person.
    pub owner: String,
    /// The business goal it serves.
    pub goal: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Unit of the value.
    pub unit: String,
    /// Whether a larger value is better.
    pub higher_is_better: bool,
    /// JSON Schema of the configuration (`null` if the metric gave invalid
    /// JSON).
    pub config_schema: serde_json::Value,
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
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
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
    pub signatures: Vec<crate::signing::Found>,
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

/// Deadline for instantiation and `describe`/`configure` at load time:
/// generous, since Python and JS runtimes warm up on first call.
pub const LOAD_TIMEOUT_MS: u64 = 10_000;

/// `sha256:<hex>` of some bytes.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A copy of a component (or module) with a custom section appended. Custom
/// sections do not change what the code does, so this is how metadata rides
/// inside a `.wasm` (and how tests and benchmarks make a new digest of the
/// same metric).
pub fn append_custom_section(wasm: &[u8], name: &str, payload: &[u8]) -> Vec<u8> {
    fn leb128(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let mut body = Vec::with_capacity(name.len() + payload.len() + 5);
    leb128(name.len(), &mut body);
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(payload);
    let mut out = Vec::with_capacity(wasm.len() + body.len() + 6);
    out.extend_from_slice(wasm);
    out.push(0); // custom section id
    leb128(body.len(), &mut out);
    out.extend_from_slice(&body);
    out
}

impl Plugin {
    /// Loads the component at `path`.
    pub fn load(
        runtime: &Arc<Runtime>,
        cache: &CompileCache,
        path: &Path,
    ) -> Result<Plugin, LoadError> {
        let started = Instant::now();
        let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_bytes(runtime, cache, path, &bytes, started)
    }

    /// Loads a component from bytes already read from `path`.
    pub fn from_bytes(
        runtime: &Arc<Runtime>,
        cache: &CompileCache,
        path: &Path,
        bytes: &[u8],
        started: Instant,
    ) -> Result<Plugin, LoadError> {
        let digest = digest_of(bytes);
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
        // Read once the bytes are known to be a component, so that a file
        // that is not one gets the compiler's message.
        let manifest =
            crate::package::read_embedded(bytes).map_err(|e| package_err(e.to_string()))?;
        let signatures = crate::signing::signatures(bytes).map_err(&package_err)?;
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

        let limits = Limits {
            timeout_ms: LOAD_TIMEOUT_MS,
            ..Limits::default()
        };
        let name: Arc<str> = Arc::from(path.display().to_string());
        let mut store = crate::instance::new_store(runtime, name, &limits, &Grants::default());
        let described = pre
            .instantiate(&mut store)
            .and_then(|b| b.caliper_metric_metric().call_describe(&mut store));
        let descriptor: Descriptor = match described {
            Ok(d) => d.into(),
            Err(e) => {
                let failure = crate::instance::classify_failure(&e, &mut store, &limits);
                return Err(start_err(failure.1));
            }
        };
        if let Some(manifest) = &manifest {
            manifest
                .check(&descriptor, &contract)
                .map_err(package_err)?;
        }
        Ok(Plugin {
            path: path.to_owned(),
            digest,
            size: bytes.len(),
            descriptor,
            contract,
            manifest,
            signatures,
            cache: cache_status,
            load_time: started.elapsed(),
            pre,
            runtime: runtime.clone(),
        })
    }
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
