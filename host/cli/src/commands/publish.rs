//! `caliper publish`: push a metric package to an OCI registry.

use std::path::PathBuf;

use anyhow::Result;
use caliper_engine::plugin::Plugin;
use caliper_oci::{OciRef, PackageInfo, Store};
use clap::Args;

use crate::common::{Exit, Global, compile_cache, default_runtime};

/// Push a metric package to an OCI registry, as a Wasm OCI artifact
///
/// Other Wasm tools (wkg, oci-wasm) read the artifact too.
///
/// The component is loaded first (it must be a working Caliper metric); the
/// artifact's annotations (org.opencontainers.image.title, version,
/// description, authors, created) come from its package manifest (`caliper
/// pack`), else from what the metric says of itself. Without a tag, the
/// package version is the tag. Prints the manifest digest and the reference
/// by digest, which is what to pin in caliper.toml.
///
/// Credentials: CALIPER_REGISTRY_USER and CALIPER_REGISTRY_PASSWORD for the
/// registry named by CALIPER_REGISTRY_HOST, else the Docker config
/// ($DOCKER_CONFIG/config.json or ~/.docker/config.json: `docker login`
/// writes it; credential helpers work), else anonymous. Registries on
/// loopback are reached over plain HTTP, as are the host:port entries of
/// CALIPER_INSECURE_REGISTRIES (comma-separated); credentials go over plain
/// HTTP only to the host:port entries of CALIPER_PLAIN_HTTP_AUTH.
///
/// Examples:
///
///   caliper publish dist/keyword-1.0.0.wasm oci://ghcr.io/acme/metrics/keyword:1.0.0
///   caliper publish keyword.wasm oci://localhost:5000/metrics/keyword   # tag = version
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct PublishCommand {
    /// The component (.wasm), packed or not.
    #[arg(value_name = "FILE.wasm")]
    file: PathBuf,
    /// Where to push it: oci://HOST/REPOSITORY[:TAG].
    #[arg(value_name = "REFERENCE")]
    reference: String,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

impl PublishCommand {
    pub fn execute(self, global: &Global) -> Result<Exit> {
        let reference = OciRef::parse_untagged(&self.reference)?;
        let bytes = caliper_engine::plugin::read_component_file(&self.file)?;
        let runtime = default_runtime()?;
        let cache = compile_cache(global, None);
        let plugin = Plugin::from_bytes(
            &runtime,
            &cache,
            &self.file,
            &bytes,
            std::time::Instant::now(),
        )?;
        let info = match &plugin.manifest {
            Some(manifest) => PackageInfo::from_manifest(manifest),
            None => {
                tracing::info!(
                    "{} has no package manifest (`caliper pack`); annotating from its description",
                    self.file.display()
                );
                PackageInfo::from_descriptor(&plugin.descriptor)
            }
        };
        if let Some(tag) = reference.tag()
            && tag != info.version
        {
            tracing::warn!(
                "publishing {} {} under tag `{tag}`, which is not its version",
                info.name,
                info.version
            );
        }
        let store = Store::open_default()?;
        let published = caliper_oci::publish(&bytes, &reference, &info, &store)?;
        if self.json {
            let out = serde_json::json!({
                "reference": published.reference.to_string(),
                "pinned": published.pinned.to_string(),
                "digest": published.manifest_digest,
                "component_digest": published.component_digest,
                "size": published.size,
                "name": info.name,
                "version": info.version,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        } else {
            println!(
                "published {} {} as {} ({} bytes)",
                info.name, info.version, published.reference, published.size
            );
            println!("digest: {}", published.manifest_digest);
            println!("pinned: {}", published.pinned);
        }
        Ok(Exit::Success)
    }
}
