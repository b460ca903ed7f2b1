//! # caliper-config: the `caliper.toml` schema and its validation
//!
//! Which metrics to run, how, on what input shape, and the gates that decide
//! a CI run's exit code. Parsing is pure: [`Config::load`] reads that one
//! file and nothing else (no component, no registry, no lock file, no key
//! parsing); resolving `oci://` references, package defaults, the lock and
//! the trust keys is `caliper-engine`'s `resolve` step.
//!
//! ```toml
//! [input]                      # optional: dataset shape (JSON pointers)
//! output = "/response"
//!
//! [defaults]                   # optional: limits for every metric
//! timeout_ms = 1000
//!
//! [[metric]]
//! name = "answers-in-user-language"        # instance name, unique
//! path = "plugins/language_match.wasm"     # relative to this file
//! config = { min_chars = 20 }              # passed to the metric
//! # config_json = '{"metadata_key": null}' # or as JSON, for what TOML cannot write
//! when = { channel = ["chat", "email"] }   # metadata filter
//! limits = { timeout_ms = 500, memory_mib = 32 }
//! gate = { min_pass_rate = 0.98, max_error_rate = 0.0 }
//! stage = "gate"                           # shadow | alert | gate
//! failure_mode = "fail_closed"             # guardrail: an error blocks
//! alert = { max_fail_rate = 0.02, for = "10m" }
//! examples = "cases/language.jsonl"        # must all pass to load / reload
//! regression = { max_drop = 0.02, alpha = 0.05 }  # `caliper compare` gate
//! owner = "support-quality"                # who answers for it (default: the package's)
//! review_by = 2027-04-01                   # `caliper audit` flags it as stale afterwards
//!
//! [history]                    # optional: where runs are recorded
//! path = ".caliper/history.db"             # created 0600: it holds raw inputs and outputs
//! samples = "ids"                          # "full" (default) | "ids": no texts kept
//!
//! [audit]                      # optional: `caliper audit` window and thresholds
//! runs = 10
//! noisy_max_fail_rate = 0.5
//!
//! [serve]                      # optional: `caliper serve` settings
//! bind = "127.0.0.1:7878"
//!
//! [trust]                      # optional: load only signed packages
//! keys = ["ed25519:..."]       # `caliper keygen` prints a public key
//! require_signature = true
//! ```
//!
//! Unknown keys are errors (a typo must not silently disable a gate).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use caliper_types::stage::{FailureMode, Stage};
pub use caliper_types::thresholds::{Gate, RegressionGate};

use caliper_types::input::InputMapping;
use caliper_types::limits::{Grants, Limits};
use caliper_types::when::When;

/// Deserializes a date written as a string (`"2027-04-01"`) or a TOML date
/// (`2027-04-01`) into its text; [`Date::parse`](caliper_types::date::Date::parse) checks it afterwards, so
/// that the error can name the metric.
fn date_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match toml::Value::deserialize(d)? {
        toml::Value::String(s) => Ok(Some(s)),
        toml::Value::Datetime(dt) => Ok(Some(dt.to_string())),
        other => Err(serde::de::Error::custom(format!(
            "expected a date like 2027-04-01, found {}",
            other.type_str()
        ))),
    }
}

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// How dataset records map to samples.
    pub input: InputMapping,
    /// Limits applied to every metric unless it overrides them.
    pub defaults: LimitOverrides,
    /// The compile cache.
    pub cache: CacheConfig,
    /// `caliper serve` settings.
    pub serve: ServeConfig,
    /// The run history.
    pub history: HistoryConfig,
    /// Scoring on a pool of workers over NATS JetStream.
    pub dispatch: DispatchConfig,
    /// Which signers' packages may load.
    pub trust: TrustConfig,
    /// `caliper audit` window and thresholds.
    pub audit: caliper_types::audit::Settings,
    /// The metrics, in report order.
    #[serde(rename = "metric")]
    pub metrics: Vec<MetricConfig>,
}

/// Package signatures a config requires (checked when the config is
/// resolved and when each component loads).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrustConfig {
    /// Public keys (`ed25519:<base64>`) whose signatures are trusted.
    pub keys: Vec<String>,
    /// Load only components signed by one of `keys`.
    pub require_signature: bool,
}

/// `[dispatch]`: `caliper worker` and `caliper run --dispatch` over NATS
/// JetStream. Every name is shared by the dispatcher and its workers, so
/// they must agree on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DispatchConfig {
    /// The NATS server (`nats://HOST:PORT`) when neither `--nats` nor
    /// `--dispatch` names one.
    pub nats: Option<String>,
    /// The first token of every subject (`PREFIX.jobs.RUN`, `PREFIX.results.RUN`).
    pub subject_prefix: String,
    /// The work-queue stream of jobs (file storage).
    pub jobs_stream: String,
    /// The stream of results (file storage, kept `results_max_age_s`).
    pub results_stream: String,
    /// The durable pull consumer every worker shares.
    pub consumer: String,
    /// How long a worker has to answer a job before it goes to another one,
    /// in milliseconds (above every metric's deadline: the engine's
    /// deadlines end an evaluation well before it).
    pub ack_wait_ms: u64,
    /// Jobs handed out and not yet answered, across all workers, at most.
    pub max_ack_pending: i64,
    /// Jobs a worker lane asks for at once (a slow worker holds no more).
    pub fetch_batch: usize,
    /// Jobs a dispatching run keeps in flight, in lanes of 16 samples.
    pub lanes: usize,
    /// A dispatching run fails when no result arrives for this long, in
    /// milliseconds (no worker running, or none with this run's metrics).
    pub stall_timeout_ms: u64,
    /// How long results stay in their stream, in seconds.
    pub results_max_age_s: u64,
    /// `caliper serve` publishes what `/v1/ingest` and `/v1/traces` accept
    /// to the worker pool (at `nats`) instead of scoring it in-process.
    pub ingest: bool,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            nats: None,
            subject_prefix: "caliper".into(),
            jobs_stream: "CALIPER_JOBS".into(),
            results_stream: "CALIPER_RESULTS".into(),
            consumer: "caliper-workers".into(),
            ack_wait_ms: 30_000,
            max_ack_pending: 1024,
            fetch_batch: 4,
            lanes: 32,
            stall_timeout_ms: 60_000,
            results_max_age_s: 86_400,
            ingest: false,
        }
    }
}

/// Where `caliper run` records its runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HistoryConfig {
    /// The SQLite database (relative to the config file) [default:
    /// `.caliper/history.db` beside the config]. A new database is created
    /// `0600` (it holds the samples' raw texts unless `samples = "ids"`).
    pub path: Option<PathBuf>,
    /// Record nothing.
    pub disabled: bool,
    /// What is kept of each sample: `full` (input, output, metadata, and
    /// the metrics' reasons and labels) or `ids` (sample ids, outcomes,
    /// values and durations only).
    pub samples: caliper_types::history::SampleDetail,
    /// Most finished runs kept: after each recorded run, the oldest beyond
    /// this are deleted (with their evaluations, and the sample texts no
    /// kept run shares) [default: all].
    pub keep_runs: Option<usize>,
    /// Most data kept, in MiB: after each recorded run, the oldest runs are
    /// deleted until the data fits (never the newest run) [default: no
    /// limit]. Freed pages are reused by later runs; `caliper history prune`
    /// also gives them back to the file system.
    pub max_size_mib: Option<u64>,
}

/// Settings of the live service (`caliper serve`). Read at start (except
/// `request_timeout_ms`, `max_samples_per_request`, `ingest_sample_rate` and
/// the per-metric pool settings, which a reload re-applies to the metrics it
/// rebuilds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// Address to listen on (loopback by default; `--bind` overrides).
    pub bind: String,
    /// Deadline of a `/v1/evaluate` request, in milliseconds; metrics still
    /// running then are reported as `timeout` (a request may ask for less).
    pub request_timeout_ms: u64,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Most samples in one request.
    pub max_samples_per_request: usize,
    /// Capacity of the ingest queue, in samples; a request that does not fit
    /// gets 429.
    pub queue_capacity: usize,
    /// Capacity of the ingest queue, in bytes of queued samples (their JSON
    /// size); a request that does not fit gets 429.
    pub queue_max_bytes: usize,
    /// Fraction of ingested samples that are scored (by a stable hash of the
    /// sample id, so a retried sample gets the same decision).
    pub ingest_sample_rate: f64,
    /// Threads scoring ingested samples [default: number of cores].
    pub ingest_workers: Option<usize>,
    /// Quiet time after a file change before reloading, in milliseconds.
    pub reload_debounce_ms: u64,
    /// Most metric evaluations running at once on the request path (each is
    /// one blocking thread running one metric over one request's samples)
    /// [default: 4 × cores]. A request that would exceed it gets 503.
    pub max_concurrency: Option<usize>,
    /// Most evaluations of one metric at once, request path and ingest
    /// together; also the most live instances a metric keeps [default:
    /// 2 × cores, at most `max_concurrency`]. A request that would exceed it
    /// gets 503.
    pub metric_concurrency: Option<usize>,
    /// Guest memory the service may hold at once, in MiB: every running
    /// evaluation reserves its metric's `memory_mib` [default: half the
    /// memory of the machine or cgroup, at least 256]. A request that would
    /// exceed it gets 503; ingest waits.
    pub memory_budget_mib: Option<u64>,
    /// Idle instances older than this are dropped, in milliseconds.
    pub idle_instance_timeout_ms: u64,
    /// Most open client connections; more are answered 503 and closed.
    pub max_connections: usize,
    /// Time a client has to send a request's headers, in milliseconds
    /// (slow clients are disconnected; also how long an idle keep-alive
    /// connection stays open).
    pub header_timeout_ms: u64,
    /// Time a client has to send a request's body, in milliseconds (408
    /// after it).
    pub body_timeout_ms: u64,
    /// How long shutdown waits for requests in flight, in milliseconds.
    pub shutdown_timeout_ms: u64,
    /// How long shutdown spends scoring the ingest queue, in milliseconds;
    /// samples left then are dropped (and counted).
    pub drain_timeout_ms: u64,
    /// A file holding the bearer token every request but `/healthz` and
    /// `/readyz` must carry (relative to this file). The environment
    /// variable `CALIPER_SERVE_TOKEN` overrides it.
    pub auth_token_file: Option<PathBuf>,
    /// An OTLP/HTTP endpoint (`http://HOST:PORT`, `/v1/logs` is added) that
    /// receives every evaluation of a sample that came from a span
    /// (`/v1/traces`) as a `gen_ai.evaluation.result` event on that span.
    pub otlp_endpoint: Option<String>,
    /// The `service.name` of those events.
    pub otlp_service_name: String,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            bind: "127.0.0.1:7878".into(),
            request_timeout_ms: 2000,
            max_body_bytes: 4 << 20,
            max_samples_per_request: 1000,
            queue_capacity: 10_000,
            queue_max_bytes: 64 << 20,
            ingest_sample_rate: 1.0,
            ingest_workers: None,
            reload_debounce_ms: 20,
            max_concurrency: None,
            metric_concurrency: None,
            memory_budget_mib: None,
            idle_instance_timeout_ms: 10_000,
            max_connections: 1024,
            header_timeout_ms: 10_000,
            body_timeout_ms: 10_000,
            shutdown_timeout_ms: 10_000,
            drain_timeout_ms: 30_000,
            auth_token_file: None,
            otlp_endpoint: None,
            otlp_service_name: "caliper".into(),
        }
    }
}

/// Thresholds for the alert rules `caliper alerts` generates. Unset
/// thresholds fall back to the metric's gate (`1 - min_pass_rate`,
/// `max_error_rate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertConfig {
    /// Alert when the share of applicable outcomes that are not `pass`
    /// exceeds this.
    pub max_fail_rate: Option<f64>,
    /// Alert when the share of errors of any kind exceeds this.
    pub max_error_rate: Option<f64>,
    /// How long the condition must hold (Prometheus duration, e.g. "10m").
    #[serde(rename = "for")]
    pub for_: String,
    /// The rate window (Prometheus duration).
    pub window: String,
    /// The `severity` label of the alerts.
    pub severity: String,
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            max_fail_rate: None,
            max_error_rate: None,
            for_: "10m".into(),
            window: "5m".into(),
            severity: "warning".into(),
        }
    }
}

/// Compile-cache settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    /// Directory (relative to the config file); default: the user cache dir.
    pub dir: Option<PathBuf>,
    /// Turn the cache off.
    pub disabled: bool,
}

/// Limits where every field is optional, layered over [`Limits::default`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitOverrides {
    /// See [`Limits::timeout_ms`].
    pub timeout_ms: Option<u64>,
    /// See [`Limits::memory_mib`].
    pub memory_mib: Option<u64>,
    /// See [`Limits::fuel`].
    pub fuel: Option<u64>,
    /// See [`Limits::fresh_instance`].
    pub fresh_instance: Option<bool>,
    /// See [`Limits::batch_size`].
    pub batch_size: Option<usize>,
    /// See [`Limits::start_timeout_ms`].
    pub start_timeout_ms: Option<u64>,
}

impl LimitOverrides {
    /// `self` over `base`.
    pub fn apply(&self, base: Limits) -> Limits {
        Limits {
            timeout_ms: self.timeout_ms.unwrap_or(base.timeout_ms),
            memory_mib: self.memory_mib.unwrap_or(base.memory_mib),
            fuel: self.fuel.or(base.fuel),
            fresh_instance: self.fresh_instance.unwrap_or(base.fresh_instance),
            batch_size: self.batch_size.unwrap_or(base.batch_size),
            start_timeout_ms: self.start_timeout_ms.unwrap_or(base.start_timeout_ms),
        }
    }
}

/// One `[[metric]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricConfig {
    /// Instance name; defaults to the file stem.
    #[serde(default)]
    pub name: Option<String>,
    /// Path to the `.wasm` component (relative to the config file), an
    /// OCI reference (`oci://HOST/REPO:TAG` or `oci://HOST/REPO@sha256:…`)
    /// or a metric built into the binary (`builtin:pii-leak`); references
    /// are kept as written: parsing checks their syntax, and resolving the
    /// config finds their file.
    pub path: PathBuf,
    /// Configuration passed to the metric (any TOML table).
    #[serde(default)]
    pub config: Option<toml::Table>,
    /// The configuration as a JSON object in a string (TOML key
    /// `config_json`), for values TOML cannot write, such as `null`. Either
    /// this or `config`.
    #[serde(default, rename = "config_json")]
    pub json_config: Option<String>,
    /// Metadata filter.
    #[serde(default)]
    pub when: When,
    /// Limits over `[defaults]`.
    #[serde(default)]
    pub limits: LimitOverrides,
    /// Granted capabilities.
    #[serde(default)]
    pub grants: Grants,
    /// CI gate.
    #[serde(default)]
    pub gate: Option<Gate>,
    /// How far its results reach: shadow, alert or gate [default: the
    /// package manifest's stage, else gate]. The stage in effect is
    /// the resolved metric's (`PlannedMetric::stage` in `caliper-engine`).
    #[serde(default)]
    pub stage: Option<Stage>,
    /// Guardrail behaviour when the metric fails to answer.
    #[serde(default)]
    pub failure_mode: FailureMode,
    /// Alert-rule thresholds.
    #[serde(default)]
    pub alert: Option<AlertConfig>,
    /// Regression gate of `caliper compare`.
    #[serde(default)]
    pub regression: Option<RegressionGate>,
    /// Labelled examples (JSONL, one labelled case per line) the metric must get
    /// right to be loaded, at start and at every hot reload.
    #[serde(default)]
    pub examples: Option<PathBuf>,
    /// Owning team or person [default: the package manifest's, else the
    /// component's self-description's]. See
    /// [`MetricConfig::stewardship`].
    #[serde(default)]
    pub owner: Option<String>,
    /// When the metric must be reviewed again (`YYYY-MM-DD`, a string or a
    /// TOML date) [default: the package manifest's]; `caliper audit` flags
    /// it as stale afterwards.
    #[serde(default, deserialize_with = "date_text")]
    pub review_by: Option<String>,
}

impl MetricConfig {
    /// What this entry says of its stewardship (owner, stage and review date
    /// as written; see `Stewardship::resolve` for how it layers over the
    /// package's).
    pub fn stewardship(&self) -> caliper_types::stewardship::Stewardship {
        caliper_types::stewardship::Stewardship {
            owner: self.owner.clone(),
            stage: self.stage,
            review_by: self
                .review_by
                .as_deref()
                .and_then(|d| caliper_types::date::Date::parse(d).ok()),
        }
    }

    /// The reference `path` names instead of a local file (`oci://…` or
    /// `builtin:…`), if it names one.
    pub fn reference(&self) -> Option<&str> {
        caliper_types::oci_ref::OciRef::in_path(&self.path)
            .or_else(|| caliper_types::source::builtin_in(&self.path).and(self.path.to_str()))
    }

    /// The instance name: `name`, or the file stem (for an OCI reference,
    /// the last repository segment; for a built-in, its name) with `_` as
    /// `-`.
    pub fn instance_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            if let Some(builtin) = caliper_types::source::builtin_in(&self.path) {
                return builtin.to_owned();
            }
            if let Some(Ok(reference)) = self
                .reference()
                .map(str::parse::<caliper_types::oci_ref::OciRef>)
            {
                return reference.default_name();
            }
            self.path
                .file_stem()
                .map(|s| s.to_string_lossy().replace('_', "-"))
                .unwrap_or_else(|| "metric".into())
        })
    }

    /// The config as JSON text as configured (`config` or `config_json`),
    /// else `{}`. The package's default config, when there is one, applies
    /// through the resolved metric (`PlannedMetric::config_json`).
    pub fn config_json(&self) -> String {
        match (&self.config, &self.json_config) {
            (Some(table), _) => serde_json::to_string(table).unwrap_or_else(|_| "{}".into()),
            (None, Some(json)) => json.clone(),
            (None, None) => "{}".into(),
        }
    }

    /// Checks `config_json` (a JSON object, and not next to `config`) and
    /// normalises its text.
    fn check_json_config(&mut self) -> Result<(), String> {
        let Some(text) = &self.json_config else {
            return Ok(());
        };
        let name = self.instance_name();
        if self.config.is_some() {
            return Err(format!(
                "metric `{name}`: set `config` or `config_json`, not both"
            ));
        }
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(value @ serde_json::Value::Object(_)) => {
                self.json_config = Some(value.to_string());
                Ok(())
            }
            Ok(_) => Err(format!(
                "metric `{name}`: config_json must hold a JSON object"
            )),
            Err(e) => Err(format!("metric `{name}`: config_json is not JSON: {e}")),
        }
    }
}

/// A configuration error, with the file it came from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// TOML syntax or schema error (with line and column).
    #[error("invalid config {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A semantic problem.
    #[error("invalid config {path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// Reads and validates a config file; relative paths in it are resolved
    /// against its directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_owned(),
            error,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Config::parse(&text, base).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.to_owned(),
                message,
            },
            ConfigError::Invalid { message, .. } => ConfigError::Invalid {
                path: path.to_owned(),
                message,
            },
            other => other,
        })
    }

    /// Parses and validates config text; relative paths are joined to
    /// `base`. Pure: no file is read, no registry asked (`oci://` paths are
    /// checked for syntax only; resolving them is a separate step).
    pub fn parse(text: &str, base: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::new(),
            message: e.to_string(),
        })?;
        let invalid = |message: String| ConfigError::Invalid {
            path: PathBuf::new(),
            message,
        };
        if config.trust.require_signature && config.trust.keys.is_empty() {
            return Err(invalid(
                "[trust] require_signature is set but no keys are listed".into(),
            ));
        }
        let mut seen = BTreeSet::new();
        for m in &mut config.metrics {
            if let Some(builtin) = caliper_types::source::builtin_in(&m.path) {
                if !caliper_types::source::valid_builtin_name(builtin) {
                    return Err(invalid(format!(
                        "metric path `{}`: a built-in's name is lower-case letters, digits \
                         and `-` (`caliper list --builtin` lists them)",
                        m.path.display()
                    )));
                }
            } else if let Some(reference) = m.reference() {
                reference
                    .parse::<caliper_types::oci_ref::OciRef>()
                    .map_err(|e| invalid(format!("metric `{}`: {e}", m.instance_name())))?;
            } else if m.path.is_relative() {
                m.path = base.join(&m.path);
            }
            if let Some(examples) = &mut m.examples
                && examples.is_relative()
            {
                *examples = base.join(&*examples);
            }
            m.check_json_config().map_err(invalid)?;
            let name = m.instance_name();
            if !seen.insert(name.clone()) {
                return Err(invalid(format!(
                    "two metrics are named `{name}`; give one a distinct `name`"
                )));
            }
            if let Some(gate) = &m.gate {
                check_fractions(
                    &name,
                    "gate",
                    &[
                        ("min_pass_rate", gate.min_pass_rate),
                        ("max_error_rate", gate.max_error_rate),
                    ],
                )
                .map_err(invalid)?;
            }
            if let Some(r) = &m.regression
                && !((0.0..=1.0).contains(&r.max_drop) && r.alpha > 0.0 && r.alpha < 1.0)
            {
                return Err(invalid(format!(
                    "metric `{name}`: regression.max_drop must be a fraction in [0, 1] and alpha in (0, 1)"
                )));
            }
            if let Some(alert) = &m.alert {
                check_fractions(
                    &name,
                    "alert",
                    &[
                        ("max_fail_rate", alert.max_fail_rate),
                        ("max_error_rate", alert.max_error_rate),
                    ],
                )
                .map_err(invalid)?;
                for (key, v) in [("for", &alert.for_), ("window", &alert.window)] {
                    if !is_prometheus_duration(v) {
                        return Err(invalid(format!(
                            "metric `{name}`: alert.{key} = {v:?} is not a duration like \"30s\", \"10m\" or \"1h\""
                        )));
                    }
                }
            }
            if let Some(owner) = &m.owner
                && owner.trim().is_empty()
            {
                return Err(invalid(format!(
                    "metric `{name}`: owner is empty; name a team or person, or leave it out"
                )));
            }
            if let Some(date) = &m.review_by {
                caliper_types::date::Date::parse(date)
                    .map_err(|e| invalid(format!("metric `{name}`: review_by: {e}")))?;
            }
            let limits = m.limits.apply(config.defaults.apply(Limits::default()));
            if limits.timeout_ms == 0
                || limits.memory_mib == 0
                || limits.batch_size == 0
                || limits.start_timeout_ms == 0
            {
                return Err(invalid(format!(
                    "metric `{name}`: timeout_ms, start_timeout_ms, memory_mib and batch_size \
                     must be positive"
                )));
            }
        }
        config
            .audit
            .validate()
            .map_err(|e| invalid(format!("[audit] {e}")))?;
        if config.dispatch.ingest && config.dispatch.nats.is_none() {
            return Err(invalid(
                "dispatch.ingest publishes live traffic to the worker pool: set dispatch.nats too"
                    .into(),
            ));
        }
        let serve = &config.serve;
        if let Some(endpoint) = &serve.otlp_endpoint
            && !endpoint.starts_with("http://")
        {
            return Err(invalid(format!(
                "serve.otlp_endpoint = {endpoint:?}: an http:// URL of an OTLP/HTTP receiver \
                 (a Collector beside the service; https is not supported)"
            )));
        }
        if !(0.0..=1.0).contains(&serve.ingest_sample_rate) {
            return Err(invalid(format!(
                "serve.ingest_sample_rate = {} is not a fraction between 0 and 1",
                serve.ingest_sample_rate
            )));
        }
        if serve.request_timeout_ms == 0
            || serve.queue_capacity == 0
            || serve.queue_max_bytes == 0
            || serve.max_samples_per_request == 0
            || serve.max_body_bytes == 0
            || serve.ingest_workers == Some(0)
            || serve.max_concurrency == Some(0)
            || serve.metric_concurrency == Some(0)
            || serve.memory_budget_mib == Some(0)
            || serve.max_connections == 0
            || serve.header_timeout_ms == 0
            || serve.body_timeout_ms == 0
        {
            return Err(invalid(
                "serve: request_timeout_ms, queue_capacity, queue_max_bytes, \
                 max_samples_per_request, max_body_bytes, ingest_workers, max_concurrency, \
                 metric_concurrency, memory_budget_mib, max_connections, header_timeout_ms \
                 and body_timeout_ms must be positive"
                    .into(),
            ));
        }
        if let Some(file) = &mut config.serve.auth_token_file
            && file.is_relative()
        {
            *file = base.join(&*file);
        }
        let history = config
            .history
            .path
            .take()
            .unwrap_or_else(|| PathBuf::from(".caliper/history.db"));
        config.history.path = Some(if history.is_relative() {
            base.join(history)
        } else {
            history
        });
        if let Some(dir) = &mut config.cache.dir
            && dir.is_relative()
        {
            *dir = base.join(&*dir);
        }
        Ok(config)
    }

    /// The `[[metric]]` entry whose instance name is `name`.
    pub fn metric(&self, name: &str) -> Option<&MetricConfig> {
        self.metrics.iter().find(|m| m.instance_name() == name)
    }

    /// The effective limits of a metric.
    pub fn limits_for(&self, metric: &MetricConfig) -> Limits {
        metric.limits.apply(self.defaults.apply(Limits::default()))
    }
}

/// Checks that every given rate of `metric`'s `section` is a fraction in
/// [0, 1]; the error names the metric, section and key.
fn check_fractions(
    metric: &str,
    section: &str,
    rates: &[(&str, Option<f64>)],
) -> Result<(), String> {
    for &(key, v) in rates {
        if let Some(v) = v
            && !(0.0..=1.0).contains(&v)
        {
            return Err(format!(
                "metric `{metric}`: {section}.{key} = {v} is not a fraction between 0 and 1"
            ));
        }
    }
    Ok(())
}

/// Whether `text` is a Prometheus duration: one or more `<number><unit>`
/// groups with units ms, s, m, h, d, w, y (e.g. `10m`, `1h30m`).
pub fn is_prometheus_duration(text: &str) -> bool {
    let mut rest = text;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let unit = ["ms", "s", "m", "h", "d", "w", "y"]
            .into_iter()
            .find(|u| rest.starts_with(u));
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_config_and_resolves_paths() {
        let c = Config::parse(
            r#"
            [defaults]
            timeout_ms = 200
            [[metric]]
            path = "p/language_match.wasm"
            config = { min_chars = 20, languages = ["de", "en"] }
            when = { channel = "chat" }
            limits = { memory_mib = 16 }
            gate = { min_pass_rate = 0.9 }
            "#,
            Path::new("/cfg"),
        )
        .unwrap();
        let m = &c.metrics[0];
        assert_eq!(m.path, Path::new("/cfg/p/language_match.wasm"));
        assert_eq!(m.instance_name(), "language-match");
        assert_eq!(
            m.config_json(),
            r#"{"languages":["de","en"],"min_chars":20}"#
        );
        let limits = c.limits_for(m);
        assert_eq!((limits.timeout_ms, limits.memory_mib), (200, 16));
    }

    /// The error `Config::parse` gives for `text`.
    fn parse_error(text: &str) -> String {
        Config::parse(text, Path::new(".")).unwrap_err().to_string()
    }

    /// The error for one metric `a` (at `a.wasm`) with the lines `extra`.
    fn metric_error(extra: &str) -> String {
        parse_error(&format!("[[metric]]\npath = \"a.wasm\"\n{extra}"))
    }

    #[test]
    fn typos_duplicates_and_bad_rates_are_errors() {
        let err = metric_error("gate = { min_pass = 1 }");
        assert!(err.contains("unknown field `min_pass`"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        let err = parse_error("[[metric]]\npath = \"a.wasm\"\n[[metric]]\npath = \"b/a.wasm\"");
        assert!(err.contains("two metrics are named `a`"), "{err}");
        let err = metric_error("gate = { min_pass_rate = 95 }");
        assert!(err.contains("not a fraction"), "{err}");
    }

    #[test]
    fn serve_stage_and_alert_settings_parse_and_are_checked() {
        let c = Config::parse(
            r#"
            [serve]
            bind = "127.0.0.1:0"
            queue_capacity = 10
            [[metric]]
            path = "pii.wasm"
            stage = "alert"
            failure_mode = "fail_closed"
            alert = { max_fail_rate = 0.02, for = "10m", severity = "page" }
            "#,
            Path::new("."),
        )
        .unwrap();
        assert_eq!(c.serve.queue_capacity, 10);
        assert_eq!(c.serve.request_timeout_ms, 2000);
        let m = &c.metrics[0];
        assert_eq!(
            (m.stage, m.failure_mode),
            (Some(Stage::Alert), FailureMode::FailClosed)
        );
        let alert = m.alert.as_ref().unwrap();
        assert_eq!((alert.for_.as_str(), alert.window.as_str()), ("10m", "5m"));
        for (bad, expect) in [
            ("stage = \"canary\"", "unknown variant `canary`"),
            ("alert = { for = \"ten minutes\" }", "not a duration"),
            ("alert = { max_error_rate = 2.0 }", "not a fraction"),
        ] {
            let err = metric_error(bad);
            assert!(err.contains(expect), "{bad}: {err}");
        }
        let err = parse_error("[serve]\ningest_sample_rate = 1.5");
        assert!(err.contains("ingest_sample_rate"), "{err}");
        assert!(is_prometheus_duration("1h30m") && is_prometheus_duration("500ms"));
        assert!(
            !is_prometheus_duration("10")
                && !is_prometheus_duration("m")
                && !is_prometheus_duration("")
        );
    }

    #[test]
    fn owner_review_dates_and_audit_thresholds_parse_and_are_checked() {
        let c = Config::parse(
            r#"
            [audit]
            runs = 20
            noisy_max_fail_rate = 0.8
            [[metric]]
            path = "a.wasm"
            owner = "support-quality"
            review_by = 2027-04-01
            [[metric]]
            path = "b.wasm"
            review_by = "2027-05-01"
            "#,
            Path::new("."),
        )
        .unwrap();
        assert_eq!(c.audit.runs, Some(20));
        assert_eq!(c.audit.noisy_max_fail_rate, 0.8);
        assert_eq!(
            c.audit.silent_min_runs, 5,
            "unset thresholds keep their default"
        );
        assert_eq!(c.metrics[0].owner.as_deref(), Some("support-quality"));
        assert_eq!(c.metrics[0].review_by.as_deref(), Some("2027-04-01"));
        assert_eq!(c.metrics[1].review_by.as_deref(), Some("2027-05-01"));
        for (bad, expect) in [
            (
                "review_by = \"2027-02-30\"",
                "metric `a`: review_by: `2027-02-30` is not a date in the calendar",
            ),
            (
                "review_by = \"next spring\"",
                "metric `a`: review_by: `next spring` is not a date",
            ),
            ("review_by = 3", "expected a date"),
            ("owner = \" \"", "metric `a`: owner is empty"),
        ] {
            let err = metric_error(bad);
            assert!(err.contains(expect), "{bad}: {err}");
        }
        for (bad, expect) in [
            (
                "redundant_min_phi = 1.5",
                "[audit] redundant_min_phi = 1.5 is not a fraction",
            ),
            ("runs = 0", "must be positive"),
            ("silent_after = 3", "unknown field `silent_after`"),
        ] {
            let err = parse_error(&format!("[audit]\n{bad}"));
            assert!(err.contains(expect), "{bad}: {err}");
        }
    }

    #[test]
    fn parsing_reads_no_component_and_asks_no_registry() {
        // Neither the file nor the registry exist: parsing does not care.
        let c = Config::parse(
            "[[metric]]\npath = \"missing.wasm\"\n\
             [[metric]]\npath = \"oci://127.0.0.1:1/team/pii_leak:1.0\"\n",
            Path::new("/cfg"),
        )
        .unwrap();
        assert_eq!(c.metrics[0].path, Path::new("/cfg/missing.wasm"));
        assert_eq!(
            c.metrics[1].path,
            Path::new("oci://127.0.0.1:1/team/pii_leak:1.0")
        );
        assert_eq!(
            c.metrics[1].reference(),
            Some("oci://127.0.0.1:1/team/pii_leak:1.0")
        );
        assert_eq!(c.metrics[1].instance_name(), "pii-leak");
        assert_eq!(c.metric("pii-leak"), Some(&c.metrics[1]));
        assert_eq!(
            c.metric("missing").map(|m| &m.path),
            Some(&c.metrics[0].path)
        );
        assert_eq!(c.metric("absent"), None);
        assert_eq!(
            (c.metrics[0].stage, c.metrics[0].config_json()),
            (None, "{}".into())
        );
        // A reference's syntax is still checked when parsing.
        let e = Config::parse("[[metric]]\npath = \"oci://nohost:1\"\n", Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid OCI reference"), "{e}");
    }

    #[test]
    fn a_builtin_path_is_kept_as_written_and_names_the_instance() {
        let c = Config::parse(
            "[[metric]]\npath = \"builtin:pii-leak\"\n\
             [[metric]]\nname = \"strict-json\"\npath = \"builtin:json\"\n",
            Path::new("/cfg"),
        )
        .unwrap();
        assert_eq!(c.metrics[0].path, Path::new("builtin:pii-leak"));
        assert_eq!(c.metrics[0].reference(), Some("builtin:pii-leak"));
        assert_eq!(c.metrics[0].instance_name(), "pii-leak");
        assert_eq!(c.metrics[1].instance_name(), "strict-json");
        // A file that happens to be called like a built-in is still a file.
        let c = Config::parse(
            "[[metric]]\npath = \"builtin/json.wasm\"\n",
            Path::new("/cfg"),
        )
        .unwrap();
        assert_eq!(c.metrics[0].reference(), None);
        assert_eq!(c.metrics[0].path, Path::new("/cfg/builtin/json.wasm"));
        for bad in ["builtin:", "builtin:../x", "builtin:JSON"] {
            let e = parse_error(&format!("[[metric]]\npath = \"{bad}\"\n"));
            assert!(e.contains("a built-in's name is lower-case"), "{bad}: {e}");
        }
    }

    #[test]
    fn config_json_carries_what_toml_cannot_write() {
        let c = Config::parse(
            "[[metric]]\npath = \"a.wasm\"\nconfig_json = '{ \"key\": null, \"n\": [1] }'\n",
            Path::new("."),
        )
        .unwrap();
        assert_eq!(c.metrics[0].config_json(), r#"{"key":null,"n":[1]}"#);
        for (bad, expect) in [
            (
                "config = { a = 1 }\nconfig_json = '{}'",
                "set `config` or `config_json`, not both",
            ),
            ("config_json = '[1]'", "config_json must hold a JSON object"),
            ("config_json = '{oops'", "config_json is not JSON"),
        ] {
            let err = metric_error(bad);
            assert!(
                err.contains("metric `a`") && err.contains(expect),
                "{bad}: {err}"
            );
        }
    }
}
