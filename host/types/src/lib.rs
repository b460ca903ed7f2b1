//! # caliper-types: the plain data every Caliper crate shares
//!
//! What crosses crate boundaries and needs no engine, no config file and no
//! network: the [`sample`] every metric scores, an evaluation's
//! [`outcome`], guest [`text`] made inert,
//! calendar [`date`]s, content [`digest`]s, how numbers read ([`fmt`]), and
//! [`atomic_file`] writes.
//!
//! It never runs a metric, reads a config or opens a socket: every other
//! host crate depends on it, and it depends on none of them (serde, digests,
//! thiserror and a temporary-file crate only).

pub mod atomic_file;
pub mod audit;
pub mod contract;
pub mod date;
pub mod descriptor;
pub mod digest;
pub mod dirs;
pub mod fmt;
pub mod history;
pub mod input;
pub mod limits;
pub mod oci_ref;
pub mod outcome;
pub mod record;
pub mod sample;
pub mod source;
pub mod stage;
pub mod stewardship;
pub mod text;
pub mod thresholds;
pub mod when;
