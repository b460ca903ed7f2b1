//! Caliper's end-to-end suite: every test drives the real `caliper` binary
//! with real components built from source by `build.rs` (one runner test
//! drives the library, for what the binary cannot show from outside).

/// The suite runs the binary cargo built for it, never a stale one: the
/// helpers find `caliper` next to the test executable, which is where cargo
/// put the one it names for this test target.
#[test]
fn the_suite_runs_the_binary_cargo_built_for_it() {
    let built = std::fs::canonicalize(env!("CARGO_BIN_EXE_caliper")).unwrap();
    let used = std::fs::canonicalize(caliper_tests::caliper_bin()).unwrap();
    assert_eq!(built, used);
}

mod audit;
mod builtin;
mod c_sdk;
mod cache;
mod cli;
mod compare;
mod configmap;
mod conformance;
mod containment;
mod dataset;
mod dispatch;
mod docs;
mod files;
mod hostile;
mod js;
mod lifecycle;
mod oci;
mod otel;
mod package;
mod plugin_inputs;
mod python;
mod scaffold;
mod serve;
mod serve_limits;
mod standard_metrics;
mod trust;
