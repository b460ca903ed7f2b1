//! `caliper history`: the trend of each metric across recorded runs, and
//! `caliper history prune`.

use std::path::{Path, PathBuf};

use anyhow::Result;
use caliper_config::Config;
use caliper_history::History;
use caliper_history::retention::Retention;
use caliper_types::fmt::mib;
use clap::{Args, Subcommand};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use crate::common::{ConfigChoice, Exit};

/// Show the recorded runs, newest first, with each metric's pass rate and version
///
/// The trend across prompt and model changes.
///
/// Every `caliper run` records itself in the run history ([history] path in
/// the config, default .caliper/history.db beside it; --no-history skips
/// it). Compare two stored runs with `caliper compare --baseline last~1 last`.
/// The last line gives the database's size; [history] keep_runs and
/// max_size_mib bound it after every run, `caliper history prune` on demand.
///
/// Examples:
///
///   caliper history
///   caliper history --metric language-match --limit 50
///   caliper history --json
///   caliper history prune --keep-runs 30
#[derive(Args)]
#[command(verbatim_doc_comment, args_conflicts_with_subcommands = true)]
pub struct HistoryCommand {
    #[command(subcommand)]
    action: Option<HistoryAction>,
    /// Config file, for the history's location and limits [default:
    /// caliper.toml; without one, the built-in default set's].
    #[arg(short, long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
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

#[derive(Subcommand)]
enum HistoryAction {
    Prune(PruneArgs),
}

/// Delete the oldest runs beyond the limits, then shrink the file (VACUUM)
///
/// Limits come from [history] keep_runs and max_size_mib in the config; the
/// flags override them. The newest run is always kept; a run's sample texts
/// go only when no kept run shares them. Runs that started over a day ago
/// and never finished (their process died) are deleted too; runs still
/// recording are not touched. Prints what went and the size before and
/// after.
///
/// Examples:
///
///   caliper history prune                     # the config's limits
///   caliper history prune --keep-runs 30
///   caliper history prune --max-size-mib 500 --json
#[derive(Args)]
#[command(verbatim_doc_comment)]
struct PruneArgs {
    /// Keep at most this many runs (the newest).
    #[arg(long, value_name = "N")]
    keep_runs: Option<usize>,
    /// Keep at most this much data, in MiB (the newest run stays even if larger).
    #[arg(long, value_name = "MIB")]
    max_size_mib: Option<u64>,
    /// Skip the VACUUM: freed pages stay in the file for later runs.
    #[arg(long)]
    no_vacuum: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// The history database of a config, which must exist.
fn history_path(config: &Config) -> Result<PathBuf> {
    let path = config.history.path.clone().unwrap_or_default();
    if !path.exists() {
        anyhow::bail!(
            "no run history at {} yet: `caliper run` records one",
            path.display()
        );
    }
    Ok(path)
}

/// The limits `[history]` sets.
pub fn retention(config: &caliper_config::HistoryConfig) -> Retention {
    Retention {
        keep_runs: config.keep_runs,
        max_size: config.max_size_mib.map(|m| m.saturating_mul(1 << 20)),
    }
}

impl HistoryCommand {
    pub fn execute(self) -> Result<Exit> {
        let config = ConfigChoice::from_flag(self.config.as_deref()).config()?;
        let path = history_path(&config)?;
        if let Some(HistoryAction::Prune(args)) = self.action {
            return prune(&path, &config, args);
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
        let size = history.size()?;
        println!(
            "{} of {} runs shown from {} ({} of data, {} on disk)",
            runs.len(),
            size.runs,
            path.display(),
            mib(size.used_bytes),
            mib(size.file_bytes)
        );
        Ok(Exit::Success)
    }
}

fn prune(path: &Path, config: &Config, args: PruneArgs) -> Result<Exit> {
    let mut limits = retention(&config.history);
    if args.keep_runs.is_some() {
        limits.keep_runs = args.keep_runs;
    }
    if let Some(m) = args.max_size_mib {
        limits.max_size = Some(m.saturating_mul(1 << 20));
    }
    let mut history = History::open(path)?;
    let before = history.size()?;
    let pruned = history.prune(&limits)?;
    if !args.no_vacuum {
        history.vacuum()?;
    }
    let after = history.size()?;
    if args.json {
        let out = serde_json::json!({
            "path": path,
            "deleted_runs": pruned.runs,
            "abandoned_runs": pruned.abandoned,
            "before": before,
            "after": after,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(Exit::Success);
    }
    if !limits.is_set() {
        println!(
            "no limit set ([history] keep_runs / max_size_mib, or --keep-runs / --max-size-mib): \
             no finished run deleted"
        );
    }
    let ids = |ids: &[i64]| {
        ids.iter()
            .map(|id| format!("run:{id}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match pruned.runs.len() {
        0 => println!("deleted no run; {} runs kept", after.runs),
        n => println!(
            "deleted {n} runs ({}); {} runs kept",
            ids(&pruned.runs),
            after.runs
        ),
    }
    if !pruned.abandoned.is_empty() {
        println!(
            "deleted {} abandoned runs ({})",
            pruned.abandoned.len(),
            ids(&pruned.abandoned)
        );
    }
    println!(
        "{}: {} of data, {} on disk (before: {}, {}){}",
        path.display(),
        mib(after.used_bytes),
        mib(after.file_bytes),
        mib(before.used_bytes),
        mib(before.file_bytes),
        if args.no_vacuum { "; not vacuumed" } else { "" }
    );
    Ok(Exit::Success)
}
