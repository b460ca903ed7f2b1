//! Caliper's end-to-end suite: every test drives the real `caliper` binary
//! with real components built from source by `build.rs` (one runner test
//! drives the library, for what the binary cannot show from outside).

mod audit;
mod c_sdk;
mod cache;
mod cli;
mod compare;
mod configmap;
mod conformance;
mod containment;
mod dataset;
mod files;
mod hostile;
mod js;
mod lifecycle;
mod oci;
mod package;
mod plugin_inputs;
mod python;
mod scaffold;
mod serve;
mod serve_limits;
mod standard_metrics;
mod trust;
