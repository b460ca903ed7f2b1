//! Publishing, pulling and resolving references, and the registry as the
//! [`ComponentSource`] of `oci://` metrics.

use std::path::PathBuf;

use crate::artifact::PackageInfo;
use crate::client;
use crate::error::OciError;
use crate::pulled::{Published, Pulled};
use crate::store::Store;
use caliper_types::oci_ref::{InvalidReference, OciRef};
use caliper_types::source::ComponentSource;

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

/// The registry as the [`ComponentSource`](caliper_types::source::ComponentSource)
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

impl ComponentSource for RegistrySource {
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
