//! # caliper-engine: from a parsed config to sandboxed metric instances
//!
//! The only Caliper crate that sees wasmtime. In the order data flows:
//! - [`resolve`]: a parsed `caliper.toml` to a [`resolve::LoadPlan`]
//!   (component files, `oci://` references through a
//!   [`caliper_types::source::ComponentSource`], package defaults, the lock,
//!   trust keys).
//! - [`engine::Runtime`]: the one wasmtime `Engine` + `Linker` + epoch ticker.
//! - [`cache::CompileCache`]: compiled components on disk, keyed by digest.
//! - [`plugin::Plugin`]: a loaded, contract-checked component and its
//!   [`plugin::Descriptor`]; [`load::load_metrics`] turns a plan into
//!   [`metric::MetricSpec`]s, and [`cases`] checks a package's examples.
//! - [`instance::MetricInstance`]: a worker's live, sandboxed ([`sandbox`])
//!   instance; it always returns an [`caliper_types::outcome::Evaluation`].
//!   [`prepared`] is the contract's form of a sample.
//!
//! It never reads a dataset, schedules a run, formats a report or serves
//! HTTP (that is `caliper-dataset`, `caliper-run`, `caliper-report` and
//! `caliper-serve`), and never parses `caliper.toml` itself (that is
//! `caliper-config`). It reaches no registry except through the
//! `ComponentSource` it is given.

mod bindings;
pub mod cache;
pub mod cases;
pub mod engine;
mod guest;
pub mod instance;
pub mod load;
pub mod metric;
pub mod plugin;
pub mod prepared;
pub mod resolve;
pub mod sandbox;

pub use bindings::{CONTRACT_VERSION, LogLevel, METRIC_EXPORT};
