//! # caliper-host: the Caliper engine, its service and its CLI
//!
//! Loads micro metrics (WebAssembly components implementing
//! `caliper:metric@0.1.0`, see `wit/metric.wit`), runs them sandboxed, and
//! scores datasets and live traffic with them. The data it works on comes
//! from the smaller crates: `caliper-types` (samples, outcomes, limits),
//! `caliper-config` (`caliper.toml`, parsed purely), `caliper-dataset`
//! (readers), `caliper-package` (manifests, signatures, the lock) and
//! `caliper-report` (summaries, gates, comparisons); their modules are
//! re-exported here under the names they had.
//!
//! In the order data flows:
//! - [`resolve`]: a parsed config to a [`resolve::LoadPlan`] (component
//!   files, `oci://` references through `caliper_oci::RegistrySource`, package
//!   defaults, the lock, trust keys).
//! - [`engine::Runtime`]: the one wasmtime `Engine` + `Linker` + epoch ticker.
//! - [`cache::CompileCache`]: compiled components on disk, keyed by digest.
//! - [`plugin::Plugin`]: a loaded, contract-checked component and its
//!   [`plugin::Descriptor`]; [`load::load_metrics`] turns a plan into
//!   [`metric::MetricSpec`]s.
//! - [`instance::MetricInstance`]: a worker's live, sandboxed
//!   ([`sandbox`]) instance; always returns an [`outcome::Evaluation`].
//! - [`runner::run`]: records × metrics on all cores, in input order;
//!   [`summary`] turns evaluations into figures.
//! - [`history`], [`audit`]: the run history in SQLite and what it says
//!   about each metric.
//! - [`registry`], [`watch`], [`serve`], [`alerts`]: the live service: the
//!   hot-reloaded metric set, the file watcher, the HTTP API with Prometheus
//!   metrics, and alert rules.
//! - [`oci`]: metric packages in OCI registries (`caliper publish` / `pull`,
//!   `oci://` metric paths) and the local store they are pulled into.
//!
//! It never formats a report itself (that is `caliper-report`) and never
//! parses `caliper.toml` itself (that is `caliper-config`).

pub mod alerts;
pub use caliper_history::audit;
pub use caliper_types::{atomic_file, date, digest, fmt, outcome, text};
mod bindings;
pub mod cache;
pub mod cases;
pub use caliper_config as config;
pub use caliper_dataset as dataset;
pub use caliper_report::compare;
pub mod engine;
pub use caliper_report::gate;
mod guest;
pub use caliper_history as history;
pub mod instance;
pub use caliper_report::junit;
pub mod load;
pub use caliper_package::lockfile;
pub mod metric;
pub use caliper_oci as oci;
pub use caliper_package as package;
pub mod plugin;
mod prepared;
pub mod registry;
pub use caliper_report::run_report as report;
pub mod resolve;
pub mod runner;
/// Samples: Caliper's own type, and the contract's form the engine passes
/// to metrics.
pub mod sample {
    pub use crate::prepared::{Prepare, PreparedSample};
    pub use caliper_types::sample::*;
}
pub mod sandbox;
pub mod serve;
pub use caliper_package::signing;
pub use caliper_report::stats;
pub mod summary;
pub mod watch;

pub use bindings::{CONTRACT_VERSION, LogLevel, METRIC_EXPORT};
