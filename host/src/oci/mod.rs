//! Metric packages in OCI registries: `caliper publish`, `caliper pull`, and
//! `oci://` metrics in `caliper.toml`.
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
//! - registry credentials ([`auth`]) are never logged nor put in an error,
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
mod store;

use std::path::PathBuf;

pub use artifact::{PackageInfo, WASM_CONFIG_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE, component_world};
pub use caliper_types::oci_ref::{InvalidReference, OciRef, SCHEME};
pub use client::{MAX_COMPONENT_BYTES, MAX_MANIFEST_BYTES};
pub use store::{Store, TagRecord};

/// What went wrong talking to a registry or the store. Messages name the
/// reference and never contain credentials.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// The reference is not of the form `oci://HOST/REPO:TAG` or
    /// `oci://HOST/REPO@sha256:HEX`.
    #[error("invalid OCI reference `{reference}`: {reason}")]
    InvalidReference {
        /// The text as given.
        reference: String,
        /// Why.
        reason: String,
    },
    /// The registry has no such repository.
    #[error("{reference}: repository `{repository}` not found in {registry}")]
    RepositoryNotFound {
        /// The reference asked for.
        reference: String,
        /// Its registry.
        registry: String,
        /// Its repository.
        repository: String,
    },
    /// The repository has no such tag or digest.
    #[error("{reference}: {what} not found in {registry}/{repository}{known}")]
    NotFound {
        /// The reference asked for.
        reference: String,
        /// "tag `x`" or "manifest sha256:…".
        what: String,
        /// Its registry.
        registry: String,
        /// Its repository.
        repository: String,
        /// The tags it has, when the registry said ("; it has tags: …").
        known: String,
    },
    /// The registry refused the request for want of (valid) credentials.
    #[error("{reference}: authentication to {registry} failed ({credentials}): {detail}")]
    Unauthorized {
        /// The reference asked for.
        reference: String,
        /// The registry.
        registry: String,
        /// Where the credentials came from (never the credentials).
        credentials: String,
        /// What to do about it.
        detail: String,
    },
    /// The registry could not be reached (connection refused, DNS, timeout).
    #[error("{reference}: cannot reach registry {registry}: {message}")]
    Unreachable {
        /// The reference asked for.
        reference: String,
        /// The registry.
        registry: String,
        /// The transport error.
        message: String,
    },
    /// Content did not hash to the digest that names it: the registry (or
    /// something between) served tampered or corrupt bytes.
    #[error(
        "{reference}: {what} digest mismatch: expected {expected}, got {actual} \
         (tampered or corrupt content; nothing was stored)"
    )]
    DigestMismatch {
        /// The reference asked for.
        reference: String,
        /// "component layer", "manifest", …
        what: String,
        /// The digest that names the content.
        expected: String,
        /// The digest of what was received.
        actual: String,
    },
    /// The manifest is not a Wasm component artifact Caliper can run.
    #[error("{reference}: not a Wasm component artifact: {reason}")]
    NotWasm {
        /// The reference asked for.
        reference: String,
        /// Why.
        reason: String,
    },
    /// The registry sent more than a limit allows: a manifest past
    /// [`MAX_MANIFEST_BYTES`], or a blob past the size its manifest declares.
    #[error(
        "{reference}: registry {registry} sent more than {limit} bytes for {what}; \
         the download was cut there and nothing was stored"
    )]
    Oversized {
        /// The reference asked for.
        reference: String,
        /// The registry.
        registry: String,
        /// "the manifest", "component layer sha256:… (its declared size)".
        what: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// Any other registry error.
    #[error("{reference}: registry error: {message}")]
    Registry {
        /// The reference asked for.
        reference: String,
        /// The error.
        message: String,
    },
    /// The local store could not be read or written.
    #[error("package store {path}: {message}")]
    Store {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

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

/// Pushes `wasm` to `reference` as a Wasm OCI artifact annotated with
/// `info`, and records it in `store` (so that resolving it on this machine
/// needs no download). A reference without a tag is pushed under
/// `info.version`; a reference by digest is refused (a digest names content,
/// it cannot be pushed to).
pub fn publish(
    wasm: &[u8],
    reference: &OciRef,
    info: &PackageInfo,
    store: &Store,
) -> Result<Published, OciError> {
    client::publish(wasm, reference, info, store)
}

/// Fetches `reference` into `store`. By digest, a component already in the
/// store is returned without any network access; by tag, the registry is
/// always asked what the tag names now.
pub fn pull(reference: &OciRef, store: &Store) -> Result<Pulled, OciError> {
    if let Some(pulled) = store.find(reference)? {
        tracing::debug!(%reference, "in the package store");
        return Ok(pulled);
    }
    client::pull(reference, store)
}

/// The local component file for `reference`, as a metric path in
/// `caliper.toml` needs it.
///
/// By digest, the store answers without network once the component was
/// pulled. By tag, the registry is asked (tags move); when it cannot be
/// *reached*, the digest the tag last resolved to on this machine is used,
/// with a warning naming it. A registry that answers "no such tag" or
/// refuses the credentials is an error, never a fallback.
pub fn resolve(reference: &OciRef, store: &Store) -> Result<PathBuf, OciError> {
    match pull(reference, store) {
        Ok(pulled) => {
            tracing::info!(
                %reference,
                digest = %pulled.manifest_digest,
                path = %pulled.path.display(),
                cached = pulled.cached,
                "resolved"
            );
            Ok(pulled.path)
        }
        Err(error @ OciError::Unreachable { .. }) => {
            let Some(offline) = store.find_by_tag(reference)? else {
                return Err(error);
            };
            tracing::warn!(
                "{error}; using {} (what the tag named when it was last resolved here, at {})",
                offline.0.pinned,
                offline.1.resolved_at
            );
            Ok(offline.0.path)
        }
        Err(e) => Err(e),
    }
}

/// The registry as the [`ComponentSource`](crate::resolve::ComponentSource)
/// of `oci://` metrics, over the default package store (opened when first
/// needed).
#[derive(Debug, Default)]
pub struct RegistrySource {
    store: std::sync::OnceLock<Result<Store, String>>,
}

impl RegistrySource {
    fn store(&self) -> Result<&Store, String> {
        self.store
            .get_or_init(|| Store::open_default().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl From<InvalidReference> for OciError {
    fn from(e: InvalidReference) -> Self {
        OciError::InvalidReference {
            reference: e.reference,
            reason: e.reason,
        }
    }
}

impl crate::resolve::ComponentSource for RegistrySource {
    fn fetch(&self, reference: &str) -> Result<PathBuf, String> {
        let reference: OciRef = reference
            .parse()
            .map_err(|e: InvalidReference| e.to_string())?;
        resolve(&reference, self.store()?).map_err(|e| e.to_string())
    }

    fn cached(&self, reference: &str) -> Option<PathBuf> {
        let reference: OciRef = reference.parse().ok()?;
        let store = self.store().ok()?;
        match store.find(&reference) {
            Ok(Some(pulled)) => Some(pulled.path),
            _ => store
                .find_by_tag(&reference)
                .ok()
                .flatten()
                .map(|(pulled, _)| pulled.path),
        }
    }
}

pub(crate) use caliper_types::digest::digest_of as sha256;
