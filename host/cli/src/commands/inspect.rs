//! `caliper inspect`: what a component says about itself.

use std::path::PathBuf;

use anyhow::Result;
use caliper_engine::plugin::Plugin;
use clap::Args;
use serde_json::json;

use crate::common::{Exit, Global, compile_cache, component_file, default_runtime};

/// Show what a metric component says it is: descriptor, manifest, digest
///
/// Its self-description, package manifest, contract version and digest.
///
/// Loads the component in the sandbox (compiling it, or taking it from the
/// compile cache), checks that it implements the Caliper metric contract, and
/// prints what its `describe` export returns.
///
/// Examples:
///
///   caliper inspect builtin:language-match
///   caliper inspect target/wasm32-wasip2/plugin/language_match.wasm
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct InspectCommand {
    /// The component (.wasm), a built-in metric (`builtin:pii-leak`), or an
    /// `oci://` reference to pull.
    #[arg(value_name = "FILE.wasm")]
    file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

impl InspectCommand {
    pub fn execute(self, global: &Global) -> Result<Exit> {
        let runtime = default_runtime()?;
        let cache = compile_cache(global, None);
        let plugin = Plugin::load(&runtime, &cache, &component_file(&self.file)?)?;
        let d = &plugin.descriptor;
        if self.json {
            let value = json!({
                "path": plugin.path,
                "digest": plugin.digest,
                "size": plugin.size,
                "contract": plugin.contract,
                "descriptor": d,
                "load_ms": plugin.load_time.as_secs_f64() * 1e3,
                "cache": format!("{:?}", plugin.cache).to_lowercase(),
                "manifest": plugin.manifest,
            });
            println!("{}", serde_json::to_string_pretty(&value)?);
            return Ok(Exit::Success);
        }
        println!("{} {}", d.name, d.version);
        println!("  {}", d.description);
        println!("  owner:     {}", or_dash(&d.owner));
        println!("  goal:      {}", or_dash(&d.goal));
        println!("  tags:      {}", or_dash(&d.tags.join(", ")));
        let better = if d.higher_is_better {
            "higher is better"
        } else {
            "lower is better"
        };
        println!("  value:     {} ({better})", or_dash(&d.unit));
        println!("  contract:  caliper:metric@{}", plugin.contract);
        println!("  digest:    {}", plugin.digest);
        println!("  size:      {} bytes", plugin.size);
        println!(
            "  loaded in: {:.1} ms (cache {:?})",
            plugin.load_time.as_secs_f64() * 1e3,
            plugin.cache
        );
        match &plugin.manifest {
            None => println!("  package:   none (not packed; `caliper pack` embeds a manifest)"),
            Some(m) => {
                println!("  package:");
                println!("    owner:      {}", or_dash(&m.owner));
                println!("    goal:       {}", or_dash(&m.goal));
                let stage = m.stage.map_or("-", |s| s.as_str());
                println!("    stage:      {stage}");
                println!("    created:    {}", m.created.as_deref().unwrap_or("-"));
                println!("    review by:  {}", m.review_by.as_deref().unwrap_or("-"));
                println!("    min host:   {}", m.min_host);
                println!("    config:     {}", m.config);
                println!("    examples:   {}", m.examples.len());
            }
        }
        println!("  config schema:");
        for line in serde_json::to_string_pretty(&d.config_schema)?.lines() {
            println!("    {line}");
        }
        Ok(Exit::Success)
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}
