//! # caliper-host: the Caliper engine
//!
//! Loads micro metrics (WebAssembly components implementing
//! `caliper:metric@0.1.0`, see `wit/metric.wit`), runs them sandboxed, and
//! scores datasets of recorded LLM interactions with them.
//!
//! Brief overview, in the order data flows:
//! - [`engine::Runtime`]: the one wasmtime `Engine` + `Linker` + epoch ticker.
//! - [`cache::CompileCache`]: compiled components on disk, keyed by digest.
//! - [`plugin::Plugin`]: a loaded, contract-checked component and its
//!   [`plugin::Descriptor`].
//! - [`config::Config`]: `caliper.toml`; [`load::load_metrics`] turns it into
//!   [`metric::MetricSpec`]s.
//! - [`dataset`]: streaming JSONL/CSV readers yielding [`sample::Sample`]s.
//! - [`instance::MetricInstance`]: a worker's live, sandboxed
//!   ([`sandbox`]) instance; always returns an [`outcome::Evaluation`].
//! - [`runner::run`]: records × metrics on all cores, in input order.
//! - [`summary`], [`gate`], [`report`]: figures, CI gates, summary output.
//! - [`registry`], [`watch`], [`serve`]: the live service: the hot-reloaded
//!   metric set, the file watcher, and the HTTP API with Prometheus metrics.
//! - [`oci`]: metric packages in OCI registries (`caliper publish` / `pull`,
//!   `oci://` metric paths) and the local store they are pulled into.
#![deny(missing_docs)]

pub mod alerts;
pub use caliper_types::{atomic_file, date, digest, fmt, outcome, text};
pub mod audit;
mod bindings;
pub mod cache;
pub mod cases;
pub mod compare;
pub use caliper_config as config;
pub use caliper_dataset as dataset;
pub mod engine;
pub mod gate;
mod guest;
pub mod history;
pub mod instance;
pub mod junit;
pub mod load;
pub use caliper_package::lockfile;
mod markup;
pub mod metric;
pub mod oci;
pub use caliper_package as package;
pub mod plugin;
mod prepared;
pub mod registry;
pub mod report;
pub mod resolve;
pub mod runner;
/// Samples: Caliper's own type, and the contract's form the engine passes
/// to metrics.
pub mod sample {
    pub use crate::prepared::{Prepare, PreparedSample};
    pub use caliper_types::sample::*;
}
pub mod sandbox;
pub mod scaffold;
pub mod serve;
pub use caliper_package::signing;
pub mod stats;
pub mod summary;
pub mod watch;

pub use bindings::{CONTRACT_VERSION, LogLevel, METRIC_EXPORT};
