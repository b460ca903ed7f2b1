//! The contract every metric component implements (`wit/metric.wit`).

/// The contract version this host speaks.
pub const CONTRACT_VERSION: &str = "0.1.0";

/// The interface a metric component exports.
pub const METRIC_EXPORT: &str = "caliper:metric/metric@0.1.0";
