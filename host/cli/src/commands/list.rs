//! `caliper list`: the metrics a config resolves to, or the built-in ones.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde_json::json;

use crate::common::{
    ConfigChoice, Exit, Global, compile_cache, component_source, default_runtime, load_config,
};

/// List the metrics a config resolves to, or the built-in ones
///
/// For each: instance, metric, version, owner, digest, limits and filter.
///
/// Loads every component and starts each metric with its config, so this is
/// also the quickest way to check a config: any metric that fails to load or
/// rejects its config is reported (exit code 2).
///
/// Without a caliper.toml (and no --config), or with --builtin: the standard
/// metrics built into caliper (`path = "builtin:NAME"` in a config), with
/// their versions and digests, and which of them a run without a config
/// uses.
///
/// Examples:
///
///   caliper list
///   caliper list --builtin --json
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct ListCommand {
    /// Config file [default: caliper.toml; without one, the built-in metrics].
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// List the metrics built into caliper, whatever the config.
    #[arg(long, conflicts_with = "config")]
    builtin: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

impl ListCommand {
    pub fn execute(self, global: &Global) -> Result<Exit> {
        let choice = ConfigChoice::from_flag(self.config.as_deref());
        if self.builtin || choice == ConfigChoice::Defaults {
            return self.builtins(global);
        }
        let loaded = load_config(global, &choice, &[], false)?;
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

impl ListCommand {
    /// Every built-in metric, described by its component (compiled through
    /// the cache like any other).
    fn builtins(&self, global: &Global) -> Result<Exit> {
        let defaults = caliper_config::Config::parse(
            caliper_builtin::DEFAULT_CONFIG,
            std::path::Path::new("."),
        )?;
        let in_defaults = |name: &str| {
            defaults
                .metrics
                .iter()
                .any(|m| caliper_types::source::builtin_in(&m.path) == Some(name))
        };
        let runtime = default_runtime()?;
        let cache = compile_cache(global, None);
        let source = component_source();
        let mut rows = Vec::new();
        for builtin in caliper_builtin::all() {
            let file = source.file(builtin.name())?;
            let plugin = caliper_engine::plugin::Plugin::load(&runtime, &cache, &file)?;
            rows.push((builtin, plugin, in_defaults(builtin.name())));
        }
        if self.json {
            let items: Vec<_> = rows
                .iter()
                .map(|(b, p, default)| {
                    json!({
                        "path": b.reference(),
                        "name": p.descriptor.name,
                        "version": p.descriptor.version,
                        "owner": p.owner(),
                        "description": p.descriptor.description,
                        "digest": b.digest(),
                        "size": p.size,
                        "default_set": default,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&items)?);
            return Ok(Exit::Success);
        }
        let mut table = Table::new();
        table.load_preset(UTF8_FULL_CONDENSED);
        table.set_header(["path", "version", "default set", "digest", "what it checks"]);
        for (b, p, default) in &rows {
            table.add_row([
                b.reference(),
                p.descriptor.version.clone(),
                if *default { "yes" } else { "-" }.to_owned(),
                b.digest().chars().take(19).collect(),
                p.descriptor.description.clone(),
            ]);
        }
        println!("{table}");
        println!(
            "{} metrics built into caliper {}; `caliper init` writes the default set as a \
             caliper.toml, `caliper inspect builtin:NAME` shows one's config schema",
            rows.len(),
            env!("CARGO_PKG_VERSION")
        );
        Ok(Exit::Success)
    }
}
