//! What can go wrong with a registry, named without credentials.

use std::path::PathBuf;

use caliper_types::oci_ref::InvalidReference;

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
    /// [`MAX_MANIFEST_BYTES`](crate::MAX_MANIFEST_BYTES), or a blob past the size its manifest declares.
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

impl From<InvalidReference> for OciError {
    fn from(e: InvalidReference) -> Self {
        OciError::InvalidReference {
            reference: e.reference,
            reason: e.reason,
        }
    }
}
