//! `caliper lock`: pin every metric of a config to its component digest.

use std::path::PathBuf;

use anyhow::{Context, Result};
use caliper_package::lockfile::{self, LockedMetric, Lockfile};
use caliper_types::atomic_file;
use clap::Args;

use crate::common::{Exit, Global, load_config};

/// Write caliper.lock: the component digest every metric resolves to
///
/// Loads every metric of the config (as `caliper run` does: a metric that
/// cannot load is an error) and records, per instance, where its component
/// came from and its sha256 digest, in caliper.lock beside the config.
/// Commit the file; `caliper run --locked` and `caliper serve --locked` then
/// refuse any component that differs, naming the metric and both digests.
/// Run it again after an intended change and review the diff.
///
/// Examples:
///
///   caliper lock
///   caliper lock -c prod/caliper.toml --check   # CI: exit 1 if the lock is out of date
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct LockCommand {
    /// Config file.
    #[arg(short, long, default_value = "caliper.toml", value_name = "FILE")]
    config: PathBuf,
    /// Do not write; exit 1 when the lock file is missing or out of date.
    #[arg(long)]
    check: bool,
}

impl LockCommand {
    pub fn execute(self, global: &Global) -> Result<Exit> {
        let loaded = load_config(
            global,
            &crate::common::ConfigChoice::File(self.config.clone()),
            &[],
            false,
        )?;
        let base = self.config.parent().unwrap_or(std::path::Path::new(""));
        let lock = Lockfile {
            version: lockfile::VERSION,
            metrics: loaded
                .plan
                .metrics
                .iter()
                .zip(&loaded.specs)
                .map(|(m, spec)| LockedMetric {
                    name: spec.name.clone(),
                    source: m.reference.clone().unwrap_or_else(|| {
                        let path = &m.entry.path;
                        path.strip_prefix(base)
                            .unwrap_or(path)
                            .display()
                            .to_string()
                    }),
                    digest: spec.plugin.digest.clone(),
                    component: format!(
                        "{} {}",
                        spec.plugin.descriptor.name, spec.plugin.descriptor.version
                    ),
                })
                .collect(),
        };
        let path = lockfile::path_for(&self.config);
        if self.check {
            let current = Lockfile::read(&path).ok();
            if current.as_ref() == Some(&lock) {
                println!("{} is up to date", path.display());
                return Ok(Exit::Success);
            }
            eprintln!(
                "{} is {}; run `caliper lock`",
                path.display(),
                if current.is_some() {
                    "out of date"
                } else {
                    "missing"
                }
            );
            return Ok(Exit::GateFailed);
        }
        atomic_file::write(&path, lock.to_text().as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        for m in &lock.metrics {
            println!("  {:<24} {}  {}", m.name, m.digest, m.component);
        }
        println!("wrote {} ({} metrics)", path.display(), lock.metrics.len());
        Ok(Exit::Success)
    }
}
