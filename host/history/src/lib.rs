//! # caliper-history: what Caliper remembers about runs, and what it says
//! about each metric
//!
//! The run history in SQLite ([`runs`], re-exported at the root: `History`,
//! `Recorder`, `RunRef`; [`chunks`], how a run's samples and evaluations are
//! stored; [`retention`], what is kept) and the audit over it ([`audit`]: stale, silent,
//! noisy, erroring, redundant, slow and ownerless metrics, with evidence).
//!
//! It never loads a metric and never reads `caliper.toml`: the runner hands
//! it evaluations, the CLI hands it the `[audit]` settings and today's
//! stewardship.

pub mod audit;
pub mod chunks;
mod db;
mod error;
mod record;
pub mod retention;
pub mod runs;

pub use runs::*;
