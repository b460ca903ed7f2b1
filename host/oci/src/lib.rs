//! # caliper-oci: metric packages in OCI registries
//!
//! `caliper publish`, `caliper pull`, and `oci://` metrics in `caliper.toml`
//! (as the [`RegistrySource`] the resolve step asks). It moves and verifies
//! bytes; it never compiles or runs a component.
//!
//! A package is pushed as a **Wasm OCI artifact** (the CNCF TAG Runtime
//! layout that wkg, wasm-pkg-tools and `oci-wasm` use): an OCI image manifest
//! whose config has media type `application/vnd.wasm.config.v0+json` and
//! whose one layer, `application/wasm`, is the component itself. So a
//! Caliper package can be pulled by other Wasm tools, and `caliper pull`
//! reads what they push.
//!
//! Pulled components live in a content-addressed [`Store`]; a reference by
//! digest that is already there needs no network at all.
//!
//! Architecture invariants:
//! - every byte taken from a registry is verified before it is used: the
//!   manifest against the digest the registry (or the reference) names, the
//!   component against the layer digest in that manifest, and again when it
//!   is written to the store;
//! - store files are written to a temporary file and renamed into place;
//! - registry credentials (`auth`) are never logged nor put in an error,
//!   go only to the registry they belong to (`CALIPER_REGISTRY_HOST` for the
//!   environment's), and never over plain HTTP unless
//!   `CALIPER_PLAIN_HTTP_AUTH` lists the registry;
//! - what a registry sends is bounded while it streams in: a manifest by
//!   [`MAX_MANIFEST_BYTES`], a component by the size its manifest declares
//!   (itself at most [`MAX_COMPONENT_BYTES`]); more is
//!   [`OciError::Oversized`].
//!
//! Plain HTTP is used for loopback registries (`localhost`, `127.0.0.0/8`,
//! `[::1]`), as docker does, and for the `host[:port]` entries of
//! `CALIPER_INSECURE_REGISTRIES` (comma-separated); HTTPS everywhere else.

mod artifact;
mod auth;
mod client;
mod error;
mod fetch;
mod pulled;
mod store;

pub use artifact::{PackageInfo, WASM_CONFIG_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE, component_world};
pub use caliper_types::oci_ref::{InvalidReference, OciRef, SCHEME};
pub use client::{MAX_COMPONENT_BYTES, MAX_MANIFEST_BYTES};
pub use error::OciError;
pub use fetch::{RegistrySource, publish, pull, resolve};
pub use pulled::{Published, Pulled};
pub use store::{Store, TagRecord};
