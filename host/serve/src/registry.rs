//! The live set of metrics of a long-running Caliper (`caliper serve`): built
//! from `caliper.toml`, rebuilt piecewise when a file changes, and swapped
//! atomically.
//!
//! Readers take a [`Snapshot`] (one atomic load, no lock) and keep using it
//! for the whole request, so an evaluation that started on one version
//! finishes on it even if a reload swaps in another meanwhile. A reload
//! builds and validates every changed metric off the request path (load,
//! compile, instantiate, configure) and publishes a new snapshot only once;
//! a metric that fails to rebuild keeps its previous version serving, and the
//! failure is recorded on its [`MetricEntry`] — unless the previous version
//! itself no longer passes the lock or the `[trust]` policy in force, in
//! which case it is evicted (a stricter policy is never served around).
//!
//! Each [`LiveMetric`] owns a bounded pool: at most
//! `serve.metric_concurrency` evaluations at once (each holds a slot, taken
//! by the caller through [`LiveMetric::slots`]) and so at most that many
//! live instances; idle instances older than
//! `serve.idle_instance_timeout_ms` are dropped ([`LiveMetric::trim_idle`]).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use serde::Serialize;

use crate::admission::{Budget, MachineDefaults};
use caliper_config::Config;
use caliper_engine::cache::CompileCache;
use caliper_engine::engine::{Runtime, RuntimeError};
use caliper_engine::instance::MetricInstance;
use caliper_engine::load;
use caliper_engine::metric::MetricSpec;
use caliper_engine::prepared::{Prepare, PreparedSample};
use caliper_engine::resolve::{
    ComponentSource, LoadPlan, Network, PlannedMetric, ResolveError, ResolveOptions,
};
use caliper_types::outcome::Evaluation;
use caliper_types::sample::Sample;
use caliper_types::stage::{FailureMode, Stage};

/// One version of a configured metric, ready to evaluate from any thread.
pub struct LiveMetric {
    /// The loaded component, config and limits.
    pub spec: Arc<MetricSpec>,
    /// The resolved `[[metric]]` entry it was built from.
    pub source: PlannedMetric,
    /// When this version was built.
    pub loaded_at: SystemTime,
    /// Idle live instances with the time they were returned, oldest first.
    idle: Mutex<Vec<(MetricInstance, Instant)>>,
    /// One unit per running evaluation; its capacity caps the instances.
    slots: Arc<Budget>,
    idle_timeout: Duration,
}

impl std::fmt::Debug for LiveMetric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveMetric")
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

impl LiveMetric {
    /// The metric's stage in effect.
    pub fn stage(&self) -> Stage {
        self.source.stage
    }

    /// What a failure to answer means for a guardrail.
    pub fn failure_mode(&self) -> FailureMode {
        self.source.entry.failure_mode
    }

    /// The metric's evaluation slots: a caller takes one before
    /// [`LiveMetric::evaluate`] and holds it until that returns, which is
    /// what bounds the concurrent evaluations and the live instances.
    pub fn slots(&self) -> &Arc<Budget> {
        &self.slots
    }

    /// Scores the samples the metric's `when` filter admits (in order) on a
    /// pooled instance, never past `deadline` (samples not started by then
    /// are `timeout`s); samples filtered out get no evaluation. The caller
    /// holds one of [`LiveMetric::slots`]. Never fails.
    pub fn evaluate(&self, samples: &[Sample], deadline: Option<Instant>) -> Vec<Evaluation> {
        let applicable: Vec<&Sample> = samples
            .iter()
            .filter(|s| self.spec.when.matches(s))
            .collect();
        if applicable.is_empty() {
            return Vec::new();
        }
        let mut instance = self.checkout();
        let mut out = Vec::with_capacity(applicable.len());
        // Converted a batch at a time: an expanded conversation's turns each
        // carry the whole history, and are never all copied at once.
        for batch in applicable.chunks(self.spec.limits.batch_size.max(1)) {
            let prepared: Vec<PreparedSample> = batch.iter().map(|s| s.prepare()).collect();
            let refs: Vec<&PreparedSample> = prepared.iter().collect();
            out.extend(instance.evaluate_batch_until(&refs, deadline));
        }
        self.checkin(instance);
        out
    }

    fn checkout(&self) -> MetricInstance {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        idle.map_or_else(|| MetricInstance::new(self.spec.clone()), |(i, _)| i)
    }

    /// Returns an instance to the pool: only a live one, and never more
    /// than the pool's cap.
    fn checkin(&self, instance: MetricInstance) {
        if !instance.is_live() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if (idle.len() as u64) < self.slots.capacity() {
            idle.push((instance, Instant::now()));
            return;
        }
        drop(idle);
        drop(instance);
    }

    /// Drops the idle instances unused for longer than the idle timeout
    /// (outside the lock); returns how many stay idle.
    pub fn trim_idle(&self) -> usize {
        let now = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let old = idle
            .iter()
            .take_while(|(_, at)| now.duration_since(*at) >= self.idle_timeout)
            .count();
        let expired: Vec<_> = idle.drain(..old).collect();
        let left = idle.len();
        drop(idle);
        drop(expired);
        left
    }

    /// Idle instances now.
    pub fn idle_instances(&self) -> usize {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// What the last (re)load of a metric or of the config did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReloadResult {
    /// Loaded for the first time.
    Loaded,
    /// A new version replaced the previous one.
    Reloaded,
    /// The new version was refused; the previous one (if any) still serves.
    Failed,
    /// Its file was deleted; the metric is unloaded.
    Removed,
}

impl ReloadResult {
    /// The lower-case name (a Prometheus label value).
    pub fn as_str(self) -> &'static str {
        match self {
            ReloadResult::Loaded => "loaded",
            ReloadResult::Reloaded => "reloaded",
            ReloadResult::Failed => "failed",
            ReloadResult::Removed => "removed",
        }
    }
}

/// One (re)load attempt.
#[derive(Debug, Clone, Serialize)]
pub struct ReloadRecord {
    /// What happened.
    pub result: ReloadResult,
    /// When it finished.
    #[serde(serialize_with = "rfc3339")]
    pub at: SystemTime,
    /// The digest of the component that was tried (if it could be read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How long building and validating took, in milliseconds.
    pub duration_ms: f64,
}

fn rfc3339<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_rfc3339_millis(*t))
}

/// Whether a metric can answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricStatus {
    /// The latest version serves.
    Serving,
    /// The latest reload failed; the previous version still serves.
    Stale,
    /// No version could be loaded; the metric does not answer.
    Failed,
    /// Its file was deleted; the metric does not answer.
    Removed,
}

/// A configured metric as of one snapshot.
#[derive(Debug, Clone)]
pub struct MetricEntry {
    /// The instance name.
    pub name: String,
    /// The component as configured: its file, or its `oci://` reference.
    pub path: PathBuf,
    /// The version serving, if any.
    pub live: Option<Arc<LiveMetric>>,
    /// Whether it answers.
    pub status: MetricStatus,
    /// The last load or reload.
    pub last_reload: ReloadRecord,
    source: PlannedMetric,
}

impl MetricEntry {
    /// The stage in effect (also when no version serves).
    pub fn stage(&self) -> Stage {
        self.source.stage
    }

    /// The configured failure mode (also when no version serves).
    pub fn failure_mode(&self) -> FailureMode {
        self.source.entry.failure_mode
    }

    /// Whether a request must be blocked because this metric cannot answer:
    /// a gate at `fail_closed` with no version serving.
    pub fn closed_and_down(&self) -> bool {
        self.live.is_none()
            && self.stage() == Stage::Gate
            && self.failure_mode() == FailureMode::FailClosed
    }
}

/// The metric set at one moment; immutable once published.
#[derive(Debug)]
pub struct Snapshot {
    /// The config in force (the last one that parsed and resolved).
    pub plan: Arc<LoadPlan>,
    /// The last (re)load of the config file itself.
    pub config_reload: ReloadRecord,
    /// Every configured metric, in config order.
    pub metrics: Vec<MetricEntry>,
    /// Incremented by every published reload.
    pub generation: u64,
}

impl Snapshot {
    /// The config file in force, as parsed.
    pub fn config(&self) -> &Config {
        &self.plan.config
    }

    /// The metrics that answer, in config order.
    pub fn serving(&self) -> impl Iterator<Item = &Arc<LiveMetric>> {
        self.metrics.iter().filter_map(|m| m.live.as_ref())
    }

    /// The entry of a metric by instance name.
    pub fn get(&self, name: &str) -> Option<&MetricEntry> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// Files whose changes matter: the config, the lock, every metric's
    /// component and examples.
    pub fn watched_files(&self) -> Vec<PathBuf> {
        self.plan.watched_files()
    }
}

/// A (re)load of one thing, for logs and counters. `metric` is `None` for
/// the config file.
#[derive(Debug, Clone)]
pub struct ReloadEvent {
    /// The metric instance, or `None` for `caliper.toml`.
    pub metric: Option<String>,
    /// What happened.
    pub record: ReloadRecord,
}

/// The live metric set and how to rebuild it.
pub struct Registry {
    runtime: Arc<Runtime>,
    cache: CompileCache,
    config_path: PathBuf,
    /// Whether every metric must match `caliper.lock` (`--locked`).
    locked: bool,
    /// Where `oci://` metrics come from.
    source: Arc<dyn ComponentSource>,
    current: ArcSwap<Snapshot>,
    reloading: Mutex<()>,
}

/// Why [`Registry::open`] could not start the metric set.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The config path cannot be made absolute (no current directory).
    #[error("{}: {error}", path.display())]
    Path {
        /// The path given.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// The config could not be parsed or resolved.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// The config names no metric.
    #[error("{} defines no metrics; add a [[metric]] table with a `path`", path.display())]
    NoMetrics {
        /// The config file.
        path: PathBuf,
    },
    /// The Wasm runtime could not be set up.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// Some metrics did not load (each named, with its reason, one per line).
    #[error("{} of {total} metrics failed to load:\n{}", failures.len(), failures.join("\n"))]
    Metrics {
        /// `  metric `name`: reason`, one per failed metric.
        failures: Vec<String>,
        /// Metrics in the config.
        total: usize,
    },
}

impl Registry {
    /// Loads `config_path` and every metric in it. Fails, naming every
    /// metric that cannot load, when any cannot: a service should not start
    /// half-configured. `cache` overrides the config's compile cache. With
    /// `locked`, every metric must match `caliper.lock` beside the config, at
    /// start and at every reload (a change to the lock file reloads).
    /// `oci://` metrics are fetched from `source` at start and at every
    /// reload of the config.
    pub fn open(
        config_path: &Path,
        cache: Option<CompileCache>,
        locked: bool,
        source: Arc<dyn ComponentSource>,
    ) -> Result<Registry, OpenError> {
        let config_path = std::path::absolute(config_path).map_err(|error| OpenError::Path {
            path: config_path.to_owned(),
            error,
        })?;
        let plan = resolve(&config_path, locked, &*source)?;
        let config = &plan.config;
        if config.metrics.is_empty() {
            return Err(OpenError::NoMetrics { path: config_path });
        }
        let runtime = Runtime::new(load::runtime_options(config))?;
        let cache = cache.unwrap_or_else(|| load::compile_cache(config));
        let started = Instant::now();
        let mut components = load::Components::new(&runtime, &cache);
        let mut metrics = Vec::new();
        let mut errors = Vec::new();
        for m in &plan.metrics {
            let started = Instant::now();
            match build(&plan, m, &mut components) {
                Ok(live) => metrics.push(entry(
                    m,
                    Some(live.clone()),
                    MetricStatus::Serving,
                    record(ReloadResult::Loaded, Some(&live), None, started),
                )),
                Err(e) => errors.push(format!("  metric `{}`: {e}", m.name)),
            }
        }
        if !errors.is_empty() {
            return Err(OpenError::Metrics {
                failures: errors,
                total: config.metrics.len(),
            });
        }
        let snapshot = Snapshot {
            plan: Arc::new(plan),
            config_reload: record(ReloadResult::Loaded, None, None, started),
            metrics,
            generation: 0,
        };
        Ok(Registry {
            runtime,
            cache,
            config_path,
            locked,
            source,
            current: ArcSwap::from_pointee(snapshot),
            reloading: Mutex::new(()),
        })
    }

    /// The current snapshot (lock-free).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// The absolute path of the config file.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// Files whose changes should trigger [`Registry::reload`].
    pub fn watched_files(&self) -> Vec<PathBuf> {
        self.snapshot().watched_files()
    }

    /// Rebuilds what `changed` (absolute paths) affects and publishes the
    /// result as one new snapshot. Returns what was reloaded; metrics that
    /// were not affected are not mentioned. Reloads are serialised.
    pub fn reload(&self, changed: &HashSet<PathBuf>) -> Vec<ReloadEvent> {
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|e| e.into_inner());
        let old = self.current.load_full();
        let mut events = Vec::new();
        let mut plan = old.plan.clone();
        let mut config_reload = old.config_reload.clone();
        let lock_changed = self.locked
            && changed.contains(&caliper_package::lockfile::path_for(&self.config_path));
        // Whether a new config (or lock) is in force: a metric that does not
        // serve is then tried again, as the new policy may admit it.
        let mut config_changed = false;
        if changed.contains(&self.config_path) || lock_changed {
            let started = Instant::now();
            match self.reload_config() {
                Ok(new) => {
                    config_changed = true;
                    plan = Arc::new(new);
                    config_reload = record(ReloadResult::Reloaded, None, None, started);
                }
                Err(e) => {
                    config_reload = record(ReloadResult::Failed, None, Some(e), started);
                }
            }
            events.push(ReloadEvent {
                metric: None,
                record: config_reload.clone(),
            });
        }

        let mut components = load::Components::new(&self.runtime, &self.cache);
        let mut metrics = Vec::with_capacity(plan.metrics.len());
        for m in &plan.metrics {
            let name = m.name.clone();
            let prev = old.get(&name);
            // Unaffected: the same resolved entry (a moved tag is a new file),
            // still admitted, and none of its files changed.
            let unaffected = prev.is_some_and(|p| {
                p.source == *m
                    && (p.live.is_some() || !config_changed)
                    && p.live.as_ref().is_none_or(|l| {
                        let plugin = &l.spec.plugin;
                        load::admit(&plugin.digest, &plugin.signatures, m, &plan).is_ok()
                    })
                    && !m.file.as_ref().is_some_and(|f| changed.contains(f))
                    && !m
                        .entry
                        .examples
                        .as_ref()
                        .is_some_and(|e| changed.contains(e))
            });
            if let (true, Some(prev)) = (unaffected, prev) {
                metrics.push(prev.clone());
                continue;
            }
            let started = Instant::now();
            let previous = prev.and_then(|p| p.live.clone());
            let new_entry = if !m.file.as_ref().is_some_and(|f| f.exists()) {
                let error = Some(format!("{} was deleted", m.origin().display()));
                let record = record(ReloadResult::Removed, None, error, started);
                entry(m, None, MetricStatus::Removed, record)
            } else {
                match build(&plan, m, &mut components) {
                    Ok(live) => {
                        let result = match previous {
                            Some(_) => ReloadResult::Reloaded,
                            None => ReloadResult::Loaded,
                        };
                        let record = record(result, Some(&live), None, started);
                        entry(m, Some(live), MetricStatus::Serving, record)
                    }
                    Err(e) => {
                        let digest = m.file.as_deref().and_then(|f| components.digest(f));
                        // The previous version keeps serving only if the
                        // lock and the trust policy now in force still admit
                        // it: a stricter policy evicts it.
                        let refusal = previous.as_ref().and_then(|l| {
                            let plugin = &l.spec.plugin;
                            load::admit(&plugin.digest, &plugin.signatures, m, &plan)
                                .err()
                                .map(|why| (plugin.digest.clone(), why))
                        });
                        let error = match &refusal {
                            Some((old, why)) => format!(
                                "{e}; the serving version {old} was evicted: it no longer \
                                 passes the lock or [trust] policy in force ({why})"
                            ),
                            None => e,
                        };
                        let mut record = record(ReloadResult::Failed, None, Some(error), started);
                        record.digest = digest;
                        let keep = previous.is_some() && refusal.is_none();
                        let status = if keep {
                            MetricStatus::Stale
                        } else {
                            MetricStatus::Failed
                        };
                        // The previous version keeps serving, under its own
                        // config (the new one was not proven to work).
                        let mut e = match (prev, keep) {
                            (Some(p), true) => p.clone(),
                            _ => entry(m, None, status, record.clone()),
                        };
                        e.status = status;
                        e.last_reload = record;
                        e
                    }
                }
            };
            events.push(ReloadEvent {
                metric: Some(name),
                record: new_entry.last_reload.clone(),
            });
            metrics.push(new_entry);
        }
        for e in &events {
            let what = e.metric.as_deref().unwrap_or("config");
            let serving = match &e.metric {
                Some(name) => metrics.iter().any(|m| m.name == *name && m.live.is_some()),
                None => true,
            };
            match &e.record.error {
                Some(error) if e.record.result == ReloadResult::Failed && serving => {
                    tracing::error!(
                        metric = what,
                        "reload refused, previous version keeps serving: {error}"
                    )
                }
                Some(error) if e.record.result == ReloadResult::Failed => tracing::error!(
                    metric = what,
                    "reload refused, no version of the metric serves: {error}"
                ),
                _ => tracing::info!(
                    metric = what,
                    result = e.record.result.as_str(),
                    digest = e.record.digest.as_deref().unwrap_or(""),
                    ms = e.record.duration_ms,
                    "reloaded"
                ),
            }
        }
        self.current.store(Arc::new(Snapshot {
            plan,
            config_reload,
            metrics,
            generation: old.generation + 1,
        }));
        events
    }

    fn reload_config(&self) -> Result<LoadPlan, String> {
        let plan =
            resolve(&self.config_path, self.locked, &*self.source).map_err(|e| e.to_string())?;
        if load::runtime_options(&plan.config).fuel && !self.runtime.options().fuel {
            return Err(
                "a metric now has a fuel limit, which needs a restart (the engine was started \
                 without fuel metering)"
                    .into(),
            );
        }
        Ok(plan)
    }
}

/// Reads and resolves the config (with the lock beside it when `locked`);
/// a serving process may ask registries.
fn resolve(
    config_path: &Path,
    locked: bool,
    source: &dyn ComponentSource,
) -> Result<LoadPlan, caliper_engine::resolve::ResolveError> {
    let options = ResolveOptions {
        locked,
        network: Network::Allowed,
    };
    caliper_engine::resolve::resolve(config_path, &options, source)
}

/// Admits (lock and trust, on the raw bytes), loads, instantiates and
/// configures one metric and runs its examples; the started instance goes
/// into the pool so the first request does not pay for it.
fn build(
    plan: &LoadPlan,
    m: &PlannedMetric,
    components: &mut load::Components,
) -> Result<Arc<LiveMetric>, String> {
    let plugin = components.admitted(m, plan).map_err(|e| e.to_string())?;
    let spec = Arc::new(MetricSpec::planned(plugin, m));
    let instance = load::validate(&spec, m)?;
    let serve = &plan.config.serve;
    Ok(Arc::new(LiveMetric {
        spec,
        source: m.clone(),
        loaded_at: SystemTime::now(),
        idle: Mutex::new(vec![(instance, Instant::now())]),
        slots: Budget::new(serve.per_metric_concurrency() as u64),
        idle_timeout: Duration::from_millis(serve.idle_instance_timeout_ms),
    }))
}

fn entry(
    m: &PlannedMetric,
    live: Option<Arc<LiveMetric>>,
    status: MetricStatus,
    last_reload: ReloadRecord,
) -> MetricEntry {
    MetricEntry {
        name: m.name.clone(),
        path: m.origin(),
        live,
        status,
        last_reload,
        source: m.clone(),
    }
}

fn record(
    result: ReloadResult,
    live: Option<&Arc<LiveMetric>>,
    error: Option<String>,
    started: Instant,
) -> ReloadRecord {
    ReloadRecord {
        result,
        at: SystemTime::now(),
        digest: live.map(|l| l.spec.plugin.digest.clone()),
        error,
        duration_ms: started.elapsed().as_secs_f64() * 1e3,
    }
}
