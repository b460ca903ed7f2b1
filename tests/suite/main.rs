//! Caliper's end-to-end suite: every test drives the real `caliper` binary
//! with real components built from source by `build.rs`.

mod cli;
mod compare;
mod dataset;
mod hostile;
mod python;
mod serve;
mod standard_metrics;
