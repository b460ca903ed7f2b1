//! Running labelled cases against a metric (the cases themselves are data:
//! `caliper_package::cases`).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::instance::MetricInstance;
use crate::metric::MetricSpec;
use crate::prepared::Prepare;
pub use caliper_package::cases::{Case, Expect, Mismatch, load, report};

/// Runs every case against `spec` (a case's own `config` replaces the
/// spec's) and returns the ones it got wrong.
pub fn check(spec: &Arc<MetricSpec>, cases: &[Case]) -> Vec<Mismatch> {
    let mut instances: BTreeMap<String, MetricInstance> = BTreeMap::new();
    let mut mismatches = Vec::new();
    for case in cases {
        let config = case
            .config
            .as_ref()
            .map_or_else(|| spec.config.clone(), |c| c.to_string());
        let instance = instances
            .entry(config.clone())
            .or_insert_with(|| MetricInstance::new(Arc::new(spec.with_config(config))));
        let evaluation = instance.evaluate(&case.sample.prepare());
        let problems = case.expect.mismatches(&evaluation);
        if !problems.is_empty() {
            mismatches.push(Mismatch {
                case: case.name.clone().unwrap_or_else(|| case.sample.id.clone()),
                problems,
            });
        }
    }
    mismatches
}
