//! A configured metric: a loaded plugin plus the instance name, config,
//! limits, grants and `when` filter an operator gave it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use caliper_types::when::{Scalar, When, WhenValue};

use crate::plugin::Plugin;
use caliper_types::limits::{Grants, Limits};
use caliper_types::outcome::{Evaluation, Status};

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
}
