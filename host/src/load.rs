//! From a [`Config`] to running metrics: load every component once (however
//! many instances use it), then start one instance of each metric to check
//! its config, so a bad config fails at load time, not on the first sample.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::cache::CompileCache;
use crate::config::{Config, MetricConfig};
use crate::engine::{Runtime, RuntimeOptions};
use crate::instance::MetricInstance;
use crate::metric::MetricSpec;
use crate::plugin::Plugin;

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

/// Whether the config lets this component load: no signature that fails
/// to match its content, a trusted signer when the config requires one, and
/// the locked digest when the config is locked.
pub fn admit(plugin: &Plugin, m: &MetricConfig, config: &Config) -> Result<(), String> {
    let mut problems = Vec::new();
    if let Some(lock) = &config.lock
        && let Err(e) = lock.check(&m.instance_name(), &plugin.digest)
    {
        problems.push(e);
    }
    let trust = if config.trust.require_signature {
        crate::signing::check_trusted(&plugin.signatures, &config.trust.keys).map(|_| ())
    } else {
        crate::signing::check_unchanged(&plugin.signatures)
    };
    problems.extend(trust.err());
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; and "))
    }
}

/// Proves a configured metric works before it is used: starts an instance
/// with its config (a rejected config or a trap at start is an error) and
/// runs its labelled examples, if it has any. Returns the started instance.
pub fn validate(spec: &Arc<MetricSpec>, m: &MetricConfig) -> Result<MetricInstance, String> {
    let mut instance = MetricInstance::new(spec.clone());
    instance.start().map_err(|f| f.message)?;
    if let Some(manifest) = &spec.plugin.manifest {
        check_package_examples(spec, manifest)
            .map_err(|report| format!("package {report} (its embedded examples)"))?;
    }
    if let Some(path) = &m.examples {
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
    manifest: &crate::package::Manifest,
) -> Result<usize, String> {
    let cases = manifest.cases()?;
    if cases.is_empty() {
        return Ok(0);
    }
    let package = Arc::new(MetricSpec {
        name: spec.name.clone(),
        plugin: spec.plugin.clone(),
        config: manifest.config.to_string(),
        limits: spec.limits.clone(),
        grants: spec.grants.clone(),
        when: Default::default(),
        failure_log: Default::default(),
    });
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

/// Loads and validates every metric of `config`. Returns every failure, not
/// just the first, so one run of `caliper list` shows all problems.
pub fn load_metrics(
    runtime: &Arc<Runtime>,
    cache: &CompileCache,
    config: &Config,
) -> Result<Vec<Arc<MetricSpec>>, Vec<MetricLoadError>> {
    let mut plugins: HashMap<PathBuf, Result<Arc<Plugin>, String>> = HashMap::new();
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    for m in &config.metrics {
        let metric = m.instance_name();
        let plugin = match plugins
            .entry(m.path.clone())
            .or_insert_with(|| {
                Plugin::load(runtime, cache, &m.path)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
        {
            Ok(p) => p,
            Err(message) => {
                errors.push(MetricLoadError::Plugin { metric, message });
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
        // The path an operator wrote: the `oci://` reference, if it was one.
        let start_error = |metric, message| MetricLoadError::Start {
            metric,
            path: m
                .reference
                .as_ref()
                .map_or_else(|| m.path.clone(), PathBuf::from),
            message,
        };
        if let Err(message) = admit(&plugin, m, config) {
            errors.push(start_error(metric, message));
            continue;
        }
        let spec = Arc::new(MetricSpec {
            name: metric.clone(),
            plugin,
            config: m.config_json(),
            limits: config.limits_for(m),
            grants: m.grants.clone(),
            when: m.when.clone(),
            failure_log: Default::default(),
        });
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
