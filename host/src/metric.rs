//! A configured metric: a loaded plugin plus the instance name, config,
//! limits, grants and `when` filter an operator gave it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::plugin::Plugin;
use crate::sample::Sample;
use crate::sandbox::{Grants, Limits};
use caliper_types::outcome::{Evaluation, Status};

/// A metadata filter: the metric applies to a sample only when every key
/// matches. A value matches when the metadata value (as text) equals it; a
/// list matches any of its values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct When(pub BTreeMap<String, WhenValue>);

/// One condition of a [`When`] filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WhenValue {
    /// Equal to this scalar.
    One(Scalar),
    /// Equal to any of these.
    Any(Vec<Scalar>),
}

/// A scalar in a filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    /// A string.
    Text(String),
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
}

impl Scalar {
    fn matches(&self, text: &str) -> bool {
        match self {
            Scalar::Text(s) => s == text,
            Scalar::Bool(b) => text == if *b { "true" } else { "false" },
            Scalar::Int(i) => text.parse::<f64>().is_ok_and(|v| v == *i as f64),
            Scalar::Float(f) => text.parse::<f64>().is_ok_and(|v| v == *f),
        }
    }
}

impl When {
    /// Whether a sample passes the filter. An empty filter passes all.
    pub fn matches(&self, sample: &Sample) -> bool {
        self.0.iter().all(|(key, cond)| {
            let Some(text) = sample.metadata_text(key) else {
                return false;
            };
            match cond {
                WhenValue::One(s) => s.matches(&text),
                WhenValue::Any(list) => list.iter().any(|s| s.matches(&text)),
            }
        })
    }

    /// Whether the filter has no conditions.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A configured metric instance, shared by all workers.
#[derive(Debug)]
pub struct MetricSpec {
    /// The instance name (unique within a config).
    pub name: String,
    /// The component.
    pub plugin: Arc<Plugin>,
    /// The configuration passed to `configure`, as JSON text.
    pub config: String,
    /// Resource limits.
    pub limits: Limits,
    /// Granted capabilities.
    pub grants: Grants,
    /// Which samples the metric applies to.
    pub when: When,
    /// How many of its failures were logged so far.
    pub failure_log: FailureLog,
}

impl MetricSpec {
    /// A metric instance of `plugin` with this config (JSON text), limits,
    /// grants and filter; no failure logged yet.
    pub fn new(
        name: String,
        plugin: Arc<Plugin>,
        config: String,
        limits: Limits,
        grants: Grants,
        when: When,
    ) -> Self {
        MetricSpec {
            name,
            plugin,
            config,
            limits,
            grants,
            when,
            failure_log: FailureLog::default(),
        }
    }

    /// The instance a resolved `[[metric]]` entry describes, of `plugin`.
    pub fn planned(plugin: Arc<Plugin>, m: &crate::resolve::PlannedMetric) -> Self {
        MetricSpec::new(
            m.name.clone(),
            plugin,
            m.config_json.clone(),
            m.limits.clone(),
            m.entry.grants.clone(),
            m.entry.when.clone(),
        )
    }

    /// The same component, name, limits and grants with another config and
    /// no filter (to run examples under the config they name).
    pub fn with_config(&self, config: String) -> Self {
        MetricSpec::new(
            self.name.clone(),
            self.plugin.clone(),
            config,
            self.limits.clone(),
            self.grants.clone(),
            When::default(),
        )
    }
}

/// Failures of one metric (timeout, trap, ...) logged one by one before the
/// rest are only counted: a metric broken on every sample of a large run
/// must not bury the log. Every failure is still an outcome, counted in the
/// summary and the Prometheus series.
pub const LOGGED_FAILURES: u64 = 10;

/// Counts the failures of one configured metric that were logged.
#[derive(Debug, Default)]
pub struct FailureLog(AtomicU64);

/// What to do with one failure's log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureLogging {
    /// Log it as a warning.
    Warn,
    /// Log it as a warning, and say that later ones go to the debug level.
    WarnLast,
    /// Log it at debug level only.
    Quiet,
}

impl FailureLog {
    /// Records one failure and says how to log it.
    pub fn next(&self) -> FailureLogging {
        match self.0.fetch_add(1, Ordering::Relaxed) + 1 {
            n if n < LOGGED_FAILURES => FailureLogging::Warn,
            LOGGED_FAILURES => FailureLogging::WarnLast,
            _ => FailureLogging::Quiet,
        }
    }
}

impl MetricSpec {
    /// An evaluation of this metric with only a status and an optional
    /// reason (no value, no labels, no duration yet): the start of every
    /// evaluation, and the whole of one the metric could not give.
    pub fn evaluation(
        &self,
        sample_id: &str,
        status: Status,
        reason: Option<String>,
    ) -> Evaluation {
        let plugin = &self.plugin;
        Evaluation {
            sample_id: sample_id.to_owned(),
            metric: self.name.clone(),
            name: plugin.descriptor.name.clone(),
            version: plugin.descriptor.version.clone(),
            digest: plugin.digest.clone(),
            outcome: status,
            value: None,
            reason,
            labels: Default::default(),
            duration_us: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_warned_about_up_to_the_budget_then_quietly() {
        let log = FailureLog::default();
        let got: Vec<FailureLogging> = (0..LOGGED_FAILURES + 2).map(|_| log.next()).collect();
        let warned = (LOGGED_FAILURES - 1) as usize;
        assert!(got[..warned].iter().all(|l| *l == FailureLogging::Warn));
        assert_eq!(got[warned], FailureLogging::WarnLast);
        assert!(
            got[warned + 1..]
                .iter()
                .all(|l| *l == FailureLogging::Quiet)
        );
    }

    fn sample(meta: serde_json::Value) -> Sample {
        Sample {
            metadata: meta.as_object().unwrap().clone().into(),
            ..Sample::default()
        }
    }

    #[test]
    fn when_matches_scalars_lists_and_missing_keys() {
        let when: When = toml::from_str(
            r#"
            lang = ["de", "fr"]
            premium = true
            tier = 2
            "#,
        )
        .unwrap();
        assert!(when.matches(&sample(
            serde_json::json!({"lang": "de", "premium": true, "tier": 2})
        )));
        assert!(!when.matches(&sample(
            serde_json::json!({"lang": "en", "premium": true, "tier": 2})
        )));
        assert!(!when.matches(&sample(serde_json::json!({"lang": "de", "tier": 2}))));
        assert!(when.matches(&sample(
            serde_json::json!({"lang": "fr", "premium": true, "tier": "2"})
        )));
        assert!(When::default().matches(&Sample::default()));
    }
}
