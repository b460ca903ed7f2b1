//! Caliper's end-to-end suite: every test drives the real `caliper` binary
//! with real components built from source by `build.rs` (one runner test
//! drives the library, for what the binary cannot show from outside).

mod audit;
mod c_sdk;
mod cli;
mod compare;
mod conformance;
mod dataset;
mod hostile;
mod js;
mod lifecycle;
mod oci;
mod package;
mod python;
mod scaffold;
mod serve;
mod standard_metrics;
mod trust;
