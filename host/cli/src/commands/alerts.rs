//! `caliper alerts`: Prometheus alerting rules from caliper.toml.

use std::path::PathBuf;

use anyhow::{Context, Result};
use caliper_serve::alerts;
use caliper_types::atomic_file;
use clap::Args;

use crate::common::{Exit, plan_offline};

/// Write Prometheus alerting rules for the metrics of a config
///
/// For every metric at stage `alert` or `gate`: an alert when the share of
/// its outcomes that are not `pass` exceeds `alert.max_fail_rate` (default:
/// 1 - gate.min_pass_rate), and one when its error share (error, timeout,
/// memory, trap, invalid) exceeds `alert.max_error_rate` (default:
/// gate.max_error_rate), both over `alert.window` (5m) for `alert.for`
/// (10m). Plus service alerts: refused reloads, metrics down, ingest
/// backpressure. The rules read the series of `caliper serve`'s /metrics.
///
/// Check the result with `promtool check rules FILE`.
///
/// Examples:
///
///   caliper alerts -o caliper-rules.yml
///   caliper alerts -c prod.toml > /etc/prometheus/rules/caliper.yml
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct AlertsCommand {
    /// Config file.
    #[arg(short, long, default_value = "caliper.toml", value_name = "FILE")]
    config: PathBuf,
    /// Write the rules here instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

impl AlertsCommand {
    pub fn execute(self) -> Result<Exit> {
        let plan = plan_offline(&self.config)?;
        let (rules, skipped) = alerts::rules(&plan);
        for s in &skipped {
            eprintln!("note: no alert for `{}`: {}", s.metric, s.why);
        }
        let yaml = alerts::to_yaml(&rules, &self.config.display().to_string());
        match &self.output {
            Some(path) => atomic_file::write(path, yaml.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?,
            None => print!("{yaml}"),
        }
        Ok(Exit::Success)
    }
}
