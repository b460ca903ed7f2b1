//! # caliper-report: what people and CI read about a run
//!
//! Built from plain data only ([`figures::Figures`], gate results,
//! evaluations): the run summary as a table and JSON ([`run_report`]), CI
//! gates ([`gate`]), JUnit XML ([`junit`]), and `caliper compare`
//! ([`compare`]: matching, statistics ([`stats`]), flips, regression gates,
//! table, Markdown and a self-contained HTML report).
//!
//! It never sees a wasmtime type, never loads a metric and never reads a
//! dataset: the runner hands it numbers and evaluations.

pub mod compare;
pub mod figures;
pub mod gate;
pub mod junit;
mod markup;
pub mod run_report;
pub mod stats;
