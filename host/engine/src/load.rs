//! From a [`LoadPlan`] (a resolved config, see [`crate::resolve`]) to
//! running metrics: read every component once (however
//! many instances use it), admit it for each metric that uses it (lock and
//! trust policy, on the raw bytes), compile and describe it only then, and
//! start one instance of each metric to check its config, so a bad config
//! fails at load time, not on the first sample.
//!
//! [`Components`] is the one way a config's metric gets a [`Plugin`]
//! (`run`, `list`, `lock`, `serve` at start and at every reload): a
//! component that is not admitted is never compiled, cached, instantiated or
//! described.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::cache::CompileCache;
use crate::engine::{Runtime, RuntimeOptions};
use crate::instance::MetricInstance;
use crate::metric::MetricSpec;
use crate::plugin::{Plugin, PluginFile};
use crate::resolve::{LoadPlan, PlannedMetric};
use caliper_config::Config;
use caliper_package::signing::Found;

/// A metric that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum MetricLoadError {
    /// The component failed to load.
    #[error("metric `{metric}`: {message}")]
    Plugin {
        /// Instance name.
        metric: String,
        /// Why (a [`LoadError`](crate::plugin::LoadError) message).
        message: String,
    },
    /// The metric rejected its config or failed to start with it.
    #[error("metric `{metric}` ({path}): {message}")]
    Start {
        /// Instance name.
        metric: String,
        /// The component.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// The engine options a config needs.
pub fn runtime_options(config: &Config) -> RuntimeOptions {
    RuntimeOptions {
        fuel: config
            .metrics
            .iter()
            .any(|m| config.limits_for(m).fuel.is_some()),
    }
}

/// The compile cache a config asks for.
pub fn compile_cache(config: &Config) -> CompileCache {
    if config.cache.disabled {
        return CompileCache::disabled();
    }
    match config.cache.dir.clone().or_else(CompileCache::default_dir) {
        Some(dir) => CompileCache::new(dir),
        None => CompileCache::disabled(),
    }
}

/// Whether the plan lets a component with this digest and these
/// signatures load as metric `m`: no signature that fails to match its
/// content, a trusted signer when the config requires one, and the locked
/// digest when the plan is locked. Needs only what
/// [`PluginFile`] reads from the raw bytes.
pub fn admit(
    digest: &str,
    signatures: &[Found],
    m: &PlannedMetric,
    plan: &LoadPlan,
) -> Result<(), String> {
    let mut problems = Vec::new();
    if let Some(lock) = &plan.lock
        && let Err(e) = lock.check(&m.name, digest)
    {
        problems.push(e);
    }
    let trust = &plan.config.trust;
    let trust = if trust.require_signature {
        caliper_package::signing::check_trusted(signatures, &trust.keys).map(|_| ())
    } else {
        caliper_package::signing::check_unchanged(signatures)
    };
    problems.extend(trust.err());
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; and "))
    }
}

/// Why [`Components::admitted`] gave no plugin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The component could not be read, compiled or started (a
    /// [`LoadError`](crate::plugin::LoadError) message).
    #[error("{0}")]
    Load(String),
    /// The lock or the trust policy refuses it for this metric.
    #[error("{0}")]
    Policy(String),
}

/// The components of one load (or reload) of a config: each file read once,
/// checked for every metric that uses it, and compiled at most once, only
/// after a metric using it was admitted.
pub struct Components {
    runtime: Arc<Runtime>,
    cache: CompileCache,
    files: HashMap<PathBuf, Result<PluginFile, String>>,
    plugins: HashMap<PathBuf, Result<Arc<Plugin>, String>>,
}

impl Components {
    /// Nothing read yet.
    pub fn new(runtime: &Arc<Runtime>, cache: &CompileCache) -> Self {
        Components {
            runtime: runtime.clone(),
            cache: cache.clone(),
            files: HashMap::new(),
            plugins: HashMap::new(),
        }
    }

    /// The plugin of metric `m`: its file read (bounded) and parsed, the
    /// digest, lock and signatures checked against `plan` ([`admit`]),
    /// and only then compiled (through the cache) and described.
    pub fn admitted(&mut self, m: &PlannedMetric, plan: &LoadPlan) -> Result<Arc<Plugin>, Refusal> {
        let path = m.component().map_err(Refusal::Load)?.to_owned();
        let file = self
            .files
            .entry(path.clone())
            .or_insert_with(|| PluginFile::read(&path).map_err(|e| e.to_string()));
        let file = file.as_mut().map_err(|e| Refusal::Load(e.clone()))?;
        admit(&file.digest, &file.signatures, m, plan).map_err(Refusal::Policy)?;
        if let Some(done) = self.plugins.get(&path) {
            return done.clone().map_err(Refusal::Load);
        }
        // Described once for every metric that uses this file: under the
        // tightest of their limits, so no metric's caps are exceeded.
        let limits = plan
            .metrics
            .iter()
            .filter(|other| other.file.as_deref() == Some(&path))
            .map(|other| other.limits.clone())
            .reduce(|a, b| a.strictest(&b))
            .unwrap_or_else(|| m.limits.clone());
        let plugin = Plugin::compile(&self.runtime, &self.cache, file, &limits)
            .map(Arc::new)
            .map_err(|e| e.to_string());
        // Compiled (or failed) once and for all: the bytes are not needed.
        file.release();
        self.plugins.insert(path, plugin.clone());
        plugin.map_err(Refusal::Load)
    }

    /// The digest of the component at `path`, if it was read.
    pub fn digest(&self, path: &std::path::Path) -> Option<String> {
        match self.files.get(path) {
            Some(Ok(file)) => Some(file.digest.clone()),
            _ => None,
        }
    }
}

/// Proves a configured metric works before it is used: starts an instance
/// with its config (a rejected config or a trap at start is an error) and
/// runs its labelled examples, if it has any. Returns the started instance.
pub fn validate(spec: &Arc<MetricSpec>, m: &PlannedMetric) -> Result<MetricInstance, String> {
    let mut instance = MetricInstance::new(spec.clone());
    instance.start().map_err(|f| f.message)?;
    if let Some(manifest) = &spec.plugin.manifest {
        check_package_examples(spec, manifest)
            .map_err(|report| format!("package {report} (its embedded examples)"))?;
    }
    if let Some(path) = &m.entry.examples {
        let cases = crate::cases::load(path).map_err(|e| format!("examples: {e}"))?;
        let mismatches = crate::cases::check(spec, &cases);
        if !mismatches.is_empty() {
            return Err(format!(
                "{} ({})",
                crate::cases::report(&mismatches, cases.len()),
                path.display()
            ));
        }
    }
    Ok(instance)
}

/// Runs a package manifest's examples against `spec`'s component, with the
/// package's default config (an example's own config wins), whatever the
/// instance is configured with. Returns how many passed, or a report
/// starting with the package's name and version.
pub fn check_package_examples(
    spec: &Arc<MetricSpec>,
    manifest: &caliper_package::Manifest,
) -> Result<usize, String> {
    let cases = manifest.cases()?;
    if cases.is_empty() {
        return Ok(0);
    }
    let package = Arc::new(spec.with_config(manifest.config.to_string()));
    let mismatches = crate::cases::check(&package, &cases);
    if mismatches.is_empty() {
        Ok(cases.len())
    } else {
        Err(format!(
            "{} {} {}",
            manifest.name,
            manifest.version,
            crate::cases::report(&mismatches, cases.len()),
        ))
    }
}

/// Loads and validates every metric of `plan`. Returns every failure, not
/// just the first, so one run of `caliper list` shows all problems.
pub fn load_metrics(
    runtime: &Arc<Runtime>,
    cache: &CompileCache,
    plan: &LoadPlan,
) -> Result<Vec<Arc<MetricSpec>>, Vec<MetricLoadError>> {
    let mut components = Components::new(runtime, cache);
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    for m in &plan.metrics {
        let metric = m.name.clone();
        // The path an operator wrote: the `oci://` reference, if it was one.
        let start_error = |metric, message| MetricLoadError::Start {
            metric,
            path: m.origin(),
            message,
        };
        let plugin = match components.admitted(m, plan) {
            Ok(p) => p,
            Err(Refusal::Load(message)) => {
                errors.push(MetricLoadError::Plugin { metric, message });
                continue;
            }
            Err(Refusal::Policy(message)) => {
                errors.push(start_error(metric, message));
                continue;
            }
        };
        tracing::info!(
            metric = %metric,
            name = %plugin.descriptor.name,
            version = %plugin.descriptor.version,
            digest = %plugin.digest,
            cache = ?plugin.cache,
            load_ms = plugin.load_time.as_secs_f64() * 1e3,
            "loaded metric"
        );
        let spec = Arc::new(MetricSpec::planned(plugin, m));
        if let Err(message) = validate(&spec, m) {
            errors.push(start_error(metric, message));
            continue;
        }
        specs.push(spec);
    }
    if errors.is_empty() {
        Ok(specs)
    } else {
        Err(errors)
    }
}
