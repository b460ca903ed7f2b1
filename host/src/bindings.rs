//! Private bindings generated from `wit/metric.wit`.
//!
//! Only this module (and [`crate::instance`], which drives the calls) sees
//! generated types; everything public in the crate uses Caliper's own types.

#[allow(missing_docs)]
mod generated {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "metric-component",
    });
}

pub(crate) use generated::caliper;
pub use generated::caliper::metric::host::LogLevel;
pub(crate) use generated::caliper::metric::types as wit;
pub(crate) use generated::{MetricComponent, MetricComponentPre};

pub use caliper_types::contract::{CONTRACT_VERSION, METRIC_EXPORT};

impl caliper::metric::host::Host for crate::sandbox::StoreState {
    fn log(&mut self, level: LogLevel, message: String) {
        crate::sandbox::StoreState::log(self, level, message);
    }
}

impl caliper::metric::types::Host for crate::sandbox::StoreState {}
