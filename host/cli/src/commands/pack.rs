//! `caliper pack`: embed a metric's manifest (metric.toml) into its component.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use caliper_engine::load;
use caliper_engine::metric::MetricSpec;
use caliper_engine::plugin::{Plugin, digest_of};
use caliper_types::atomic_file;
use clap::Args;

use crate::common::{Exit, Global, compile_cache, default_runtime};

/// Make a metric package: embed metric.toml into the component itself
///
/// metric.toml holds the owner, goal, stage, review date, default config,
/// labelled examples...
///
/// The package is still a plain component: any Wasm tool can read its
/// standard metadata (name, version, description, authors, producers), and
/// Caliper reads the rest from the custom section `caliper:manifest`. The
/// manifest must agree with the component's self-description (name,
/// version), and the component must pass the embedded examples (with the
/// default config, or an example's own) or nothing is written. Every later
/// load and hot reload runs the examples again and checks the contract and
/// `min_host` versions.
///
/// metric.toml (every field optional; name, version, description, owner,
/// goal and tags default to what the component describes):
///
///   owner = "brand-team"
///   goal = "Never advertise a competitor"
///   stage = "alert"            # default stage in caliper.toml: shadow | alert | gate
///   created = 2026-10-01
///   review_by = 2027-04-01     # `caliper audit` flags it as stale afterwards
///   min_host = "0.1.0"         # oldest Caliper that may run it [default: this one]
///   examples = "cases.jsonl"   # labelled examples, as for `caliper test`
///   [config]                   # default config
///   competitors = ["Acme Bank"]
///
/// Examples:
///
///   caliper pack target/wasm32-wasip2/release/refund_policy.wasm -m metric.toml
///   caliper pack app.wasm -m metric.toml -o dist/competitor-mention-1.2.0.wasm
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct PackCommand {
    /// The component (.wasm).
    #[arg(value_name = "FILE.wasm")]
    file: PathBuf,
    /// The manifest source.
    #[arg(short, long, default_value = "metric.toml", value_name = "FILE")]
    manifest: PathBuf,
    /// Where to write the package [default: NAME-VERSION.wasm].
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

impl PackCommand {
    pub fn execute(self, global: &Global) -> Result<Exit> {
        let source = caliper_package::read_source(&self.manifest)?;
        let runtime = default_runtime()?;
        let cache = compile_cache(global, None);
        let bytes = caliper_engine::plugin::read_component_file(&self.file)?;
        let plugin = Arc::new(Plugin::from_bytes(
            &runtime,
            &cache,
            &self.file,
            &bytes,
            std::time::Instant::now(),
        )?);
        let manifest = caliper_package::build(
            &source,
            &self.manifest,
            &plugin.descriptor,
            &plugin.contract,
        )?;
        let spec = Arc::new(MetricSpec::new(
            manifest.name.clone(),
            plugin.clone(),
            manifest.config.to_string(),
            Default::default(),
            Default::default(),
            Default::default(),
        ));
        let examples = load::check_package_examples(&spec, &manifest)
            .map_err(|report| anyhow::anyhow!("not packed: {report}"))?;
        let packed = caliper_package::embed(&bytes, &manifest)?;
        let output = self.output.unwrap_or_else(|| {
            PathBuf::from(format!("{}-{}.wasm", manifest.name, manifest.version))
        });
        atomic_file::write(&output, &packed)
            .with_context(|| format!("writing {}", output.display()))?;
        println!(
            "packed {} {} -> {} ({} bytes, {} examples pass)",
            manifest.name,
            manifest.version,
            output.display(),
            packed.len(),
            examples
        );
        println!("digest: {}", digest_of(&packed));
        Ok(Exit::Success)
    }
}
