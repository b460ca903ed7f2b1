//! `caliper pull`: fetch a metric package into the local store.

use anyhow::Result;
use caliper_oci::{OciRef, Store};
use clap::Args;

use crate::common::{Exit, Global};

/// Fetch a metric package from an OCI registry into the local store
///
/// The store is content-addressed; pull prints where the package is.
///
/// Every byte is verified: the manifest against its digest, the component
/// against the digest the manifest names (a tampered component is refused
/// and nothing is stored). By digest, a package already in the store needs
/// no network; by tag, the registry is always asked what the tag names now.
///
/// The store is `store/` in the cache directory ($CALIPER_CACHE_DIR, else
/// $XDG_CACHE_HOME/caliper, else ~/.cache/caliper). caliper.toml may name a
/// metric by reference directly (`path = "oci://…"`); it is pulled on load.
/// Credentials and plain-HTTP registries: see `caliper publish --help`.
///
/// Examples:
///
///   caliper pull oci://ghcr.io/acme/metrics/keyword:1.0.0
///   caliper pull oci://ghcr.io/acme/metrics/keyword@sha256:4f0c…
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct PullCommand {
    /// oci://HOST/REPOSITORY:TAG or oci://HOST/REPOSITORY@sha256:HEX.
    #[arg(value_name = "REFERENCE")]
    reference: String,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

impl PullCommand {
    pub fn execute(self, _global: &Global) -> Result<Exit> {
        let reference: OciRef = self.reference.parse()?;
        let store = Store::open_default()?;
        let pulled = caliper_oci::pull(&reference, &store)?;
        if self.json {
            let out = serde_json::json!({
                "reference": reference.to_string(),
                "pinned": pulled.pinned.to_string(),
                "digest": pulled.manifest_digest,
                "component_digest": pulled.component_digest,
                "path": pulled.path,
                "size": pulled.size,
                "cached": pulled.cached,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        } else {
            println!("path: {}", pulled.path.display());
            println!("digest: {}", pulled.manifest_digest);
            println!("pinned: {}", pulled.pinned);
            if pulled.cached {
                println!("(already in the store)");
            }
        }
        Ok(Exit::Success)
    }
}
