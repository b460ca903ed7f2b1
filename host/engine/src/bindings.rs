//! Private bindings generated from `wit/metric.wit`.
//!
//! Only this module (and [`crate::instance`], which drives the calls) sees
//! generated types; everything public in the crate uses Caliper's own types.

#[allow(missing_docs)]
mod generated {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "metric-component",
    });
}

pub(crate) use generated::caliper;
pub use generated::caliper::metric::host::LogLevel;
pub(crate) use generated::caliper::metric::types as wit;
pub(crate) use generated::{MetricComponent, MetricComponentPre};

pub use caliper_types::contract::{CONTRACT_VERSION, METRIC_EXPORT};
