//! # caliper-run: a dataset scored by loaded metrics, on all cores
//!
//! [`runner::run`] streams a dataset's records through `jobs` workers (each
//! with its own [`caliper_engine::instance::MetricInstance`] per metric),
//! hands every evaluation to a sink in input order, and folds them into
//! [`summary::Stats`], which [`summary`] turns into the figures of a
//! `caliper_report` run report.
//!
//! It never loads a component (that is `caliper-engine`), never parses a
//! record itself (that is `caliper-dataset`) and never renders a report
//! (that is `caliper-report`).

pub mod runner;
pub mod summary;
