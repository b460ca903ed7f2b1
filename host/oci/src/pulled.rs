//! What a pull found and what a publish pushed.

use std::path::PathBuf;

use caliper_types::oci_ref::OciRef;

/// A component fetched (or found) in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    /// The reference by digest (`oci://HOST/REPO@sha256:…`).
    pub pinned: OciRef,
    /// The manifest digest.
    pub manifest_digest: String,
    /// The component's own digest (the layer).
    pub component_digest: String,
    /// The component file in the store.
    pub path: PathBuf,
    /// Size of the component in bytes.
    pub size: u64,
    /// Whether it was already in the store (no download).
    pub cached: bool,
}

/// What `publish` pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The reference pushed to, with the tag used.
    pub reference: OciRef,
    /// The same artifact by digest.
    pub pinned: OciRef,
    /// The manifest digest.
    pub manifest_digest: String,
    /// The component's own digest (the layer).
    pub component_digest: String,
    /// Size of the component in bytes.
    pub size: u64,
}
