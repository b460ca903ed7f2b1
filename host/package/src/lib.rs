//! # caliper-package: metric packages as data
//!
//! What a package carries and how it is checked, without running it: the
//! manifest embedded in a component ([`manifest`]), its signatures
//! ([`signing`]), the lock file that pins digests ([`lockfile`]), labelled
//! examples ([`cases`]), the custom sections they ride in ([`sections`]),
//! and the bounded read of a component file ([`component`]).
//!
//! It never compiles or instantiates a component and never contacts a
//! registry: the engine runs what this crate has admitted, and the OCI
//! client moves the bytes.

pub mod cases;
pub mod component;
pub mod lockfile;
pub mod manifest;
pub mod sections;
pub mod signing;

pub use manifest::*;
