//! `caliper list`: the metrics a config resolves to.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde_json::json;

use crate::common::{Exit, Global, load_config};

/// List the metrics a config resolves to: instance, metric, version, owner,
/// digest, limits and filter.
///
/// Loads every component and starts each metric with its config, so this is
/// also the quickest way to check a config: any metric that fails to load or
/// rejects its config is reported (exit code 2).
#[derive(Args)]
pub struct ListCommand {
    /// Config file.
    #[arg(short, long, default_value = "caliper.toml", value_name = "FILE")]
    config: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

impl ListCommand {
    pub fn execute(self, global: &Global) -> Result<Exit> {
        let loaded = load_config(global, &self.config, &[], false)?;
        let stage_of = |metric: &str| {
            loaded
                .plan
                .metric(metric)
                .map_or("gate", |m| m.stage.as_str())
        };
        if self.json {
            let items: Vec<_> = loaded
                .specs
                .iter()
                .map(|s| {
                    json!({
                        "metric": s.name,
                        "name": s.plugin.descriptor.name,
                        "version": s.plugin.descriptor.version,
                        "owner": s.plugin.owner(),
                        "stage": stage_of(&s.name),
                        "digest": s.plugin.digest,
                        "path": s.plugin.path,
                        "config": serde_json::from_str::<serde_json::Value>(&s.config).unwrap_or_default(),
                        "limits": s.limits,
                        "grants": s.grants,
                        "when": s.when,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&items)?);
            return Ok(Exit::Success);
        }
        let mut table = Table::new();
        table.load_preset(UTF8_FULL_CONDENSED);
        table.set_header([
            "metric",
            "component",
            "version",
            "owner",
            "stage",
            "digest",
            "limits",
            "when",
        ]);
        for s in &loaded.specs {
            let d = &s.plugin.descriptor;
            let when = if s.when.is_empty() {
                "-".to_owned()
            } else {
                serde_json::to_string(&s.when)?
            };
            table.add_row([
                s.name.clone(),
                d.name.clone(),
                d.version.clone(),
                s.plugin.owner().to_owned(),
                stage_of(&s.name).to_owned(),
                s.plugin.digest.chars().take(19).collect(),
                format!("{} ms, {} MiB", s.limits.timeout_ms, s.limits.memory_mib),
                when,
            ]);
        }
        println!("{table}");
        Ok(Exit::Success)
    }
}
