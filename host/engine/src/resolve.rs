//! From a parsed [`Config`] to a [`LoadPlan`]: every metric's component file
//! found (an `oci://` reference through a [`ComponentSource`]), the package
//! defaults read from it, the lock file and the trust keys checked.
//!
//! Parsing `caliper.toml` ([`Config::load`]) reads that one file and nothing
//! else; this step does the I/O a load needs. Commands that load no metric
//! (`history`) use the parsed config alone; commands that need the effective
//! stage of a metric but never its code (`compare`, `audit`, `alerts`)
//! resolve [`Network::Offline`]: local files and the package store only, so
//! no registry is contacted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use caliper_config::{Config, ConfigError, MetricConfig};
use caliper_package::lockfile::{LockError, Lockfile};
use caliper_types::limits::Limits;
pub use caliper_types::source::{ComponentSource, NoRegistry};
use caliper_types::stage::Stage;

/// Whether resolving may reach a registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// Tags are asked of the registry (a load: `run`, `serve`, `list`, …).
    Allowed,
    /// Local files and the package store only; an `oci://` metric that is
    /// not on this machine has no file and no package defaults.
    Offline,
}

/// How to resolve. The default: no lock, registries may be asked.
#[derive(Debug, Clone, Copy)]
pub struct ResolveOptions {
    /// Read `caliper.lock` beside the config; every metric must match it.
    pub locked: bool,
    /// Whether a registry may be asked.
    pub network: Network,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions {
            locked: false,
            network: Network::Allowed,
        }
    }
}

/// Why a config could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The config file, or what it names, is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The lock file is missing or wrong.
    #[error(transparent)]
    Lock(#[from] LockError),
}

/// One configured metric, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedMetric {
    /// The instance name ([`MetricConfig::instance_name`]).
    pub name: String,
    /// The `[[metric]]` entry as parsed.
    pub entry: MetricConfig,
    /// The reference the entry names instead of a file (`oci://…` or
    /// `builtin:…`), if it names one.
    pub reference: Option<String>,
    /// The local component file; `None` only when resolving offline and an
    /// `oci://` metric's package is not on this machine.
    pub file: Option<PathBuf>,
    /// The stage in effect: the configured one, else the package's, else
    /// gate.
    pub stage: Stage,
    /// The config passed to the metric, as JSON text: the configured one,
    /// else the package's default config, else `{}`.
    pub config_json: String,
    /// The limits in effect (`[defaults]` under the metric's own).
    pub limits: Limits,
}

impl PlannedMetric {
    /// What an operator wrote for the component: the `oci://` or
    /// `builtin:` reference, or the file.
    pub fn origin(&self) -> PathBuf {
        match &self.reference {
            Some(reference) => PathBuf::from(reference),
            None => self.entry.path.clone(),
        }
    }

    /// The local component file, or an error naming the reference that was
    /// not resolved.
    pub fn component(&self) -> Result<&Path, String> {
        self.file.as_deref().ok_or_else(|| {
            format!(
                "{} is not on this machine (resolved offline)",
                self.origin().display()
            )
        })
    }
}

/// A config ready to load: the parsed file and what its metrics resolved to.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// The config file.
    pub path: PathBuf,
    /// The config as parsed (paths as written, joined to the file's
    /// directory).
    pub config: Config,
    /// Every metric, in config order.
    pub metrics: Vec<PlannedMetric>,
    /// The lock every metric must match (`--locked`).
    pub lock: Option<Arc<Lockfile>>,
}

impl LoadPlan {
    /// The metric named `name`.
    pub fn metric(&self, name: &str) -> Option<&PlannedMetric> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// Keeps only the metrics named in `names` (all of them when it is
    /// empty); a name the config does not have is an error listing the ones
    /// it has.
    pub fn only(&mut self, names: &[String]) -> Result<(), String> {
        if names.is_empty() {
            return Ok(());
        }
        let have: Vec<&str> = self.metrics.iter().map(|m| m.name.as_str()).collect();
        if let Some(missing) = names.iter().find(|n| !have.contains(&n.as_str())) {
            return Err(format!(
                "no metric named `{missing}` in {}; it has: {}",
                self.path.display(),
                have.join(", ")
            ));
        }
        self.metrics.retain(|m| names.contains(&m.name));
        Ok(())
    }

    /// Files whose changes matter to a load of this plan: the config, the
    /// lock, every component file and examples file.
    pub fn watched_files(&self) -> Vec<PathBuf> {
        let mut files = vec![self.path.clone()];
        if self.lock.is_some() {
            files.push(caliper_package::lockfile::path_for(&self.path));
        }
        for m in &self.metrics {
            files.extend(m.file.clone());
            files.extend(m.entry.examples.clone());
        }
        files.sort();
        files.dedup();
        files
    }

    /// The regression gates of `caliper compare`: every metric with a
    /// `regression` table that is not in shadow (a shadow metric never
    /// gates).
    pub fn regression_gates(&self) -> Vec<(String, caliper_types::thresholds::RegressionGate)> {
        self.metrics
            .iter()
            .filter(|m| m.stage != Stage::Shadow)
            .filter_map(|m| Some((m.name.clone(), m.entry.regression.clone()?)))
            .collect()
    }
}

/// Reads the config at `path` (and `caliper.lock` beside it when
/// `options.locked`) and resolves it.
pub fn resolve(
    path: &Path,
    options: &ResolveOptions,
    source: &dyn ComponentSource,
) -> Result<LoadPlan, ResolveError> {
    let config = Config::load(path)?;
    let lock = if options.locked {
        Some(Lockfile::read(&caliper_package::lockfile::path_for(path))?)
    } else {
        None
    };
    resolve_config(config, path, lock, options.network, source)
}

/// Resolves an already parsed `config` (read from `path`, which errors
/// name): each `oci://` reference fetched once, package defaults read, trust
/// keys checked.
pub fn resolve_config(
    config: Config,
    path: &Path,
    lock: Option<Lockfile>,
    network: Network,
    source: &dyn ComponentSource,
) -> Result<LoadPlan, ResolveError> {
    let invalid = |message: String| ConfigError::Invalid {
        path: path.to_owned(),
        message,
    };
    for key in &config.trust.keys {
        caliper_package::signing::parse_public_key(key)
            .map_err(|e| invalid(format!("[trust] keys: {e}")))?;
    }
    let mut fetched: HashMap<String, Option<PathBuf>> = HashMap::new();
    let mut metrics = Vec::with_capacity(config.metrics.len());
    for entry in &config.metrics {
        let name = entry.instance_name();
        let reference = entry.reference().map(str::to_owned);
        let file = match &reference {
            None => Some(entry.path.clone()),
            Some(r) => match fetched.get(r) {
                Some(file) => file.clone(),
                None => {
                    let file = match network {
                        Network::Allowed => Some(
                            source
                                .fetch(r)
                                .map_err(|e| invalid(format!("metric `{name}`: {e}")))?,
                        ),
                        Network::Offline => source.cached(r),
                    };
                    fetched.insert(r.clone(), file.clone());
                    file
                }
            },
        };
        let configured = entry.config.is_some() || entry.json_config.is_some();
        let manifest = match &file {
            Some(file) if !(configured && entry.stage.is_some()) => {
                caliper_package::read_embedded_file(file)
            }
            _ => None,
        };
        let stage = entry
            .stage
            .or_else(|| manifest.as_ref().and_then(|m| m.stage))
            .unwrap_or_default();
        let config_json = match (configured, &manifest) {
            (false, Some(m)) => m.config.to_string(),
            _ => entry.config_json(),
        };
        metrics.push(PlannedMetric {
            limits: config.limits_for(entry),
            name,
            entry: entry.clone(),
            reference,
            file,
            stage,
            config_json,
        });
    }
    Ok(LoadPlan {
        path: path.to_owned(),
        config,
        metrics,
        lock: lock.map(Arc::new),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metric_without_config_or_stage_takes_the_packages_even_beyond_toml() {
        let dir = tempfile::tempdir().unwrap();
        let manifest: caliper_package::Manifest = serde_json::from_value(serde_json::json!({
            "name": "m", "version": "1.0.0", "description": "", "owner": "", "goal": "",
            "contract": "0.1.0", "min_host": "0.1.0", "stage": "shadow",
            "config": {"threshold": null, "terms": ["a"]},
        }))
        .unwrap();
        let packed = caliper_package::embed(b"\0asm\x0d\x00\x01\x00", &manifest).unwrap();
        std::fs::write(dir.path().join("m.wasm"), packed).unwrap();
        let plan = |toml: &str| {
            let c = Config::parse(toml, dir.path()).unwrap();
            resolve_config(
                c,
                Path::new("caliper.toml"),
                None,
                Network::Offline,
                &NoRegistry,
            )
            .unwrap()
        };
        let p = plan("[[metric]]\npath = \"m.wasm\"\n");
        assert_eq!(p.metrics[0].stage, Stage::Shadow);
        assert_eq!(
            p.metrics[0].config_json,
            r#"{"threshold":null,"terms":["a"]}"#
        );
        assert_eq!(
            p.metrics[0].entry.stage, None,
            "the parsed config is as written"
        );
        let p = plan("[[metric]]\npath = \"m.wasm\"\nstage = \"gate\"\nconfig = { terms = [] }\n");
        assert_eq!(p.metrics[0].stage, Stage::Gate);
        assert_eq!(p.metrics[0].config_json, r#"{"terms":[]}"#);
    }

    #[test]
    fn an_oci_metric_is_fetched_once_online_and_never_offline() {
        use std::sync::Mutex;
        #[derive(Default)]
        struct Counting(Mutex<Vec<String>>);
        impl ComponentSource for Counting {
            fn fetch(&self, reference: &str) -> Result<PathBuf, String> {
                self.0.lock().unwrap().push(reference.to_owned());
                Ok(PathBuf::from("/store/x.wasm"))
            }
            fn cached(&self, _: &str) -> Option<PathBuf> {
                None
            }
        }
        let toml = "[[metric]]\nname = \"a\"\npath = \"oci://127.0.0.1:1/x:tag\"\n\
                    [[metric]]\nname = \"b\"\npath = \"oci://127.0.0.1:1/x:tag\"\n";
        let c = Config::parse(toml, Path::new(".")).unwrap();
        assert_eq!(c.metrics[0].path, Path::new("oci://127.0.0.1:1/x:tag"));
        let source = Counting::default();
        let p = resolve_config(
            c.clone(),
            Path::new("c.toml"),
            None,
            Network::Offline,
            &source,
        )
        .unwrap();
        assert!(source.0.lock().unwrap().is_empty());
        assert_eq!(p.metrics[0].file, None);
        assert!(
            p.metrics[0]
                .component()
                .unwrap_err()
                .contains("oci://127.0.0.1:1/x:tag")
        );
        let p = resolve_config(c, Path::new("c.toml"), None, Network::Allowed, &source).unwrap();
        assert_eq!(*source.0.lock().unwrap(), ["oci://127.0.0.1:1/x:tag"]);
        assert_eq!(
            p.metrics[1].file.as_deref(),
            Some(Path::new("/store/x.wasm"))
        );
        assert_eq!(p.metrics[1].origin(), Path::new("oci://127.0.0.1:1/x:tag"));
    }

    #[test]
    fn a_bad_trust_key_is_a_resolve_error_naming_the_table() {
        let c = Config::parse("[trust]\nkeys = [\"ed25519:nope\"]\n", Path::new(".")).unwrap();
        let e = resolve_config(c, Path::new("c.toml"), None, Network::Offline, &NoRegistry)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("invalid config c.toml: [trust] keys:"), "{e}");
    }
}
