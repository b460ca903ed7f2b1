//! `caliper history`: the trend of each metric across recorded runs.

use std::path::PathBuf;

use anyhow::Result;
use caliper_config::Config;
use caliper_history::History;
use clap::Args;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use crate::common::Exit;

/// Show the recorded runs, newest first, with each metric's pass rate and version
///
/// The trend across prompt and model changes.
///
/// Every `caliper run` records itself in the run history ([history] path in
/// the config, default .caliper/history.db beside it; --no-history skips
/// it). Compare two stored runs with `caliper compare --baseline last~1 last`.
///
/// Examples:
///
///   caliper history
///   caliper history --metric language-match --limit 50
///   caliper history --json
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct HistoryCommand {
    /// Config file (for the history's location).
    #[arg(short, long, default_value = "caliper.toml", value_name = "FILE")]
    config: PathBuf,
    /// Only these metric instances (repeatable).
    #[arg(short, long = "metric", value_name = "NAME")]
    metrics: Vec<String>,
    /// Most runs shown.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

impl HistoryCommand {
    pub fn execute(self) -> Result<Exit> {
        let config = Config::load(&self.config)?;
        let path = config.history.path.clone().unwrap_or_default();
        if !path.exists() {
            anyhow::bail!(
                "no run history at {} yet: `caliper run` records one",
                path.display()
            );
        }
        let history = History::open(&path)?;
        let mut runs = history.runs(self.limit)?;
        if !self.metrics.is_empty() {
            for run in &mut runs {
                run.metrics.retain(|m| self.metrics.contains(&m.metric));
            }
        }
        if self.json {
            println!("{}", serde_json::to_string_pretty(&runs)?);
            return Ok(Exit::Success);
        }
        // Columns: every metric seen, in first-seen order (newest run first).
        let mut names: Vec<String> = Vec::new();
        for run in &runs {
            for m in &run.metrics {
                if !names.contains(&m.metric) {
                    names.push(m.metric.clone());
                }
            }
        }
        let mut table = Table::new();
        let mut header = vec![
            "run".to_owned(),
            "started".to_owned(),
            "dataset".to_owned(),
            "samples".to_owned(),
            "gates".to_owned(),
        ];
        header.extend(names.iter().cloned());
        table.load_preset(UTF8_FULL_CONDENSED).set_header(header);
        for (i, run) in runs.iter().enumerate() {
            let older = runs.get(i + 1);
            let mut row = vec![
                run.id.to_string(),
                run.started_at.clone(),
                run.dataset.clone(),
                run.samples.to_string(),
                if run.passed { "ok" } else { "FAIL" }.to_owned(),
            ];
            for name in &names {
                let cell = run.metrics.iter().find(|m| &m.metric == name).map(|m| {
                    let rate = m.figures["pass_rate"]
                        .as_f64()
                        .map_or("-".to_owned(), caliper_types::fmt::pct);
                    // Mark a new version of the metric since the older run.
                    let changed = older
                        .and_then(|o| o.metrics.iter().find(|p| &p.metric == name))
                        .is_some_and(|p| p.digest != m.digest);
                    if changed {
                        format!("{rate} (v{} new)", m.version)
                    } else {
                        rate
                    }
                });
                row.push(cell.unwrap_or_default());
            }
            table.add_row(row);
        }
        println!("{table}");
        println!("{} runs shown from {}", runs.len(), path.display());
        Ok(Exit::Success)
    }
}
