//! `caliper.toml`: which metrics to run, how, on what input shape, and the
//! gates that decide a CI run's exit code.
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
//! when = { channel = ["chat", "email"] }   # metadata filter
//! limits = { timeout_ms = 500, memory_mib = 32 }
//! gate = { min_pass_rate = 0.98, max_error_rate = 0.0 }
//! ```
//!
//! Unknown keys are errors (a typo must not silently disable a gate).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::dataset::InputMapping;
use crate::metric::When;
use crate::sandbox::{Grants, Limits};

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
    /// The metrics, in report order.
    #[serde(rename = "metric")]
    pub metrics: Vec<MetricConfig>,
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
    /// Path to the `.wasm` component (relative to the config file).
    pub path: PathBuf,
    /// Configuration passed to the metric (any TOML table).
    #[serde(default)]
    pub config: Option<toml::Table>,
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
}

impl MetricConfig {
    /// The instance name: `name`, or the file stem with `_` as `-`.
    pub fn instance_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            self.path
                .file_stem()
                .map(|s| s.to_string_lossy().replace('_', "-"))
                .unwrap_or_else(|| "metric".into())
        })
    }

    /// The config as JSON text (`{}` when absent).
    pub fn config_json(&self) -> String {
        match &self.config {
            Some(table) => serde_json::to_string(table).unwrap_or_else(|_| "{}".into()),
            None => "{}".into(),
        }
    }
}

/// Thresholds that fail a run (exit code 1). Rates are fractions in [0, 1]
/// of the applicable outcomes (everything but `skip`); errors of any kind
/// (error, timeout, memory, trap, invalid) count against the pass rate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Gate {
    /// Smallest acceptable pass rate.
    pub min_pass_rate: Option<f64>,
    /// Largest acceptable error rate.
    pub max_error_rate: Option<f64>,
    /// Smallest acceptable mean value.
    pub min_mean: Option<f64>,
    /// Largest acceptable mean value.
    pub max_mean: Option<f64>,
    /// Pass the gate when no sample was applicable (default: fail, since a
    /// metric that never ran proves nothing).
    pub allow_empty: bool,
}

/// A configuration error, with the file it came from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
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
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
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

    /// Parses config text; relative paths are resolved against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::new(),
            message: e.to_string(),
        })?;
        let invalid = |message: String| ConfigError::Invalid {
            path: PathBuf::new(),
            message,
        };
        let mut seen = BTreeSet::new();
        for m in &mut config.metrics {
            if m.path.is_relative() {
                m.path = base.join(&m.path);
            }
            let name = m.instance_name();
            if !seen.insert(name.clone()) {
                return Err(invalid(format!(
                    "two metrics are named `{name}`; give one a distinct `name`"
                )));
            }
            if let Some(gate) = &m.gate {
                for (key, v) in [
                    ("min_pass_rate", gate.min_pass_rate),
                    ("max_error_rate", gate.max_error_rate),
                ] {
                    if let Some(v) = v
                        && !(0.0..=1.0).contains(&v)
                    {
                        return Err(invalid(format!(
                            "metric `{name}`: gate.{key} = {v} is not a fraction between 0 and 1"
                        )));
                    }
                }
            }
            let limits = m.limits.apply(config.defaults.apply(Limits::default()));
            if limits.timeout_ms == 0 || limits.memory_mib == 0 || limits.batch_size == 0 {
                return Err(invalid(format!(
                    "metric `{name}`: timeout_ms, memory_mib and batch_size must be positive"
                )));
            }
        }
        if let Some(dir) = &mut config.cache.dir
            && dir.is_relative()
        {
            *dir = base.join(&*dir);
        }
        Ok(config)
    }

    /// The effective limits of a metric.
    pub fn limits_for(&self, metric: &MetricConfig) -> Limits {
        metric.limits.apply(self.defaults.apply(Limits::default()))
    }
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

    #[test]
    fn typos_duplicates_and_bad_rates_are_errors() {
        let err = Config::parse(
            "[[metric]]\npath = \"a.wasm\"\ngate = { min_pass = 1 }",
            Path::new("."),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown field `min_pass`"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        let err = Config::parse(
            "[[metric]]\npath = \"a.wasm\"\n[[metric]]\npath = \"b/a.wasm\"",
            Path::new("."),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("two metrics are named `a`"), "{err}");
        let err = Config::parse(
            "[[metric]]\npath = \"a.wasm\"\ngate = { min_pass_rate = 95 }",
            Path::new("."),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("not a fraction"), "{err}");
    }
}
