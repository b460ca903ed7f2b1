//! `caliper compare`: before/after statistics and regression gates.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use caliper_config::Config;
use caliper_dataset::InputMapping;
use caliper_history::{History, RunRef};
use caliper_report::compare::{self, CompareOptions, ResultSet, SampleText, SampleTexts};
use caliper_types::atomic_file;
use clap::{Args, ValueEnum};

use crate::common::{ConfigChoice, Exit};

/// Compare two runs of the same metrics on the same samples: what got worse?
///
/// BASELINE and CANDIDATE are results files of `caliper run -o` (before and
/// after a prompt or model change). Evaluations are matched by metric and
/// sample id. Per metric: pass rates with Wilson intervals, the pass-rate
/// change on matched samples with a seeded paired bootstrap interval, the
/// exact McNemar test of regressed vs fixed samples, the mean value change,
/// and the flipped samples (regressions first) with their reasons, and with
/// inputs and outputs when --baseline-data/--candidate-data are given.
///
/// Regression gates come from `regression = { max_drop, alpha }` of each
/// [[metric]] in the config: a gate fails when the pass rate drops by more
/// than max_drop AND the drop is significant. Exit code 1 when one fails.
///
/// Examples:
///
///   caliper run chats.jsonl -o before.jsonl        # on main
///   caliper run chats-new.jsonl -o after.jsonl     # with the new prompt
///   caliper compare before.jsonl after.jsonl
///   caliper compare before.jsonl after.jsonl --format markdown > comment.md
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct CompareCommand {
    /// BASELINE then CANDIDATE: each a results file of `caliper run -o`, or
    /// a recorded run: `last`, `last~N` (N runs before the last), `run:ID`.
    /// With --baseline, only CANDIDATE.
    #[arg(value_name = "RUN", num_args = 1..=2, required = true)]
    runs: Vec<String>,
    /// The baseline, when given as a flag (e.g. `--baseline last`).
    #[arg(long, value_name = "RUN")]
    baseline: Option<String>,
    /// Config with the regression gates and the dataset mapping [default:
    /// caliper.toml when it exists].
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The baseline's dataset, to show inputs and outputs of flipped samples.
    #[arg(long, value_name = "FILE")]
    baseline_data: Option<PathBuf>,
    /// The candidate's dataset.
    #[arg(long, value_name = "FILE")]
    candidate_data: Option<PathBuf>,
    /// Also compare per value of this metadata key (e.g. lang, model), read
    /// from --candidate-data / --baseline-data.
    #[arg(long, value_name = "KEY")]
    group_by: Option<String>,
    /// How to print the comparison.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Also write the comparison as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Also write it as Markdown (for a pull-request comment).
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Also write a self-contained HTML report (charts, searchable flips).
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Write the regression gates as JUnit XML (one test case per gate).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Flipped samples listed per metric.
    #[arg(long, default_value_t = 20)]
    top: usize,
    /// Confidence level of the intervals.
    #[arg(long, default_value_t = 0.95)]
    confidence: f64,
    /// Seed of the bootstrap (same seed, same intervals).
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// A table for the terminal.
    Table,
    /// Markdown.
    Markdown,
    /// JSON.
    Json,
}

impl CompareCommand {
    pub fn execute(self) -> Result<Exit> {
        let started = std::time::Instant::now();
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            anyhow::bail!("--confidence must be between 0 and 1, e.g. 0.95");
        }
        // Resolved offline: the gates need each metric's stage in effect,
        // never its code, and a comparison never asks a registry.
        let plan = Some(ConfigChoice::from_flag(self.config.as_deref()).plan_offline()?);
        let config = plan.as_ref().map(|p| &p.config);
        let (baseline_ref, candidate_ref) = match (&self.baseline, self.runs.as_slice()) {
            (Some(b), [c]) => (b.clone(), c.clone()),
            (None, [b, c]) => (b.clone(), c.clone()),
            (Some(_), _) => anyhow::bail!("with --baseline, give only the candidate"),
            (None, _) => {
                anyhow::bail!("give a baseline and a candidate (or --baseline RUN CANDIDATE)")
            }
        };
        let group_by = self.group_by.as_deref();
        let (baseline, stored_baseline) = result_set(&baseline_ref, config, group_by)?;
        let (candidate, stored_candidate) = result_set(&candidate_ref, config, group_by)?;
        let mapping = config.map(|c| c.input.clone()).unwrap_or_default();
        let no_texts = stored_baseline.is_none() && stored_candidate.is_none();
        if group_by.is_some()
            && no_texts
            && self.baseline_data.is_none()
            && self.candidate_data.is_none()
        {
            anyhow::bail!(
                "--group-by reads the segment of each sample from the datasets: give --candidate-data (and/or --baseline-data), or compare stored runs"
            );
        }
        // A dataset given on the command line wins over the stored samples.
        let texts = SampleTexts {
            baseline: match self.baseline_data.as_deref() {
                Some(p) => read_texts(p, &mapping, group_by)?,
                None => stored_baseline.unwrap_or_default(),
            },
            candidate: match self.candidate_data.as_deref() {
                Some(p) => read_texts(p, &mapping, group_by)?,
                None => stored_candidate.unwrap_or_default(),
            },
        };
        let options = CompareOptions {
            confidence: self.confidence,
            seed: self.seed,
            top: self.top,
            group_by: self.group_by.clone(),
            ..CompareOptions::default()
        };
        let mut comparison = compare::compare(&baseline, &candidate, &texts, &options);
        if comparison.metrics.is_empty() {
            anyhow::bail!("{baseline_ref} and {candidate_ref} have no metric in common");
        }
        if let Some(plan) = &plan {
            compare::apply_gates(&mut comparison, &plan.regression_gates());
        }
        if let Some(path) = &self.json {
            let text = serde_json::to_string_pretty(&comparison)? + "\n";
            atomic_file::write(path, text.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        if let Some(path) = &self.junit {
            let suite = format!("caliper compare {baseline_ref} {candidate_ref}");
            let xml = caliper_report::junit::render(
                &suite,
                &comparison.gates,
                started.elapsed().as_secs_f64(),
            );
            atomic_file::write(path, xml.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        if let Some(path) = &self.html {
            atomic_file::write(path, compare::html(&comparison).as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        if let Some(path) = &self.markdown {
            atomic_file::write(path, compare::markdown(&comparison, self.top).as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        match self.format {
            Format::Table => print!("{}", compare::table(&comparison)),
            Format::Markdown => print!("{}", compare::markdown(&comparison, self.top)),
            Format::Json => println!("{}", serde_json::to_string_pretty(&comparison)?),
        }
        for g in comparison.gates.iter().filter(|g| !g.passed) {
            eprintln!("regression: {}: {}", g.metric, g.message);
        }
        Ok(if comparison.passed {
            Exit::Success
        } else {
            Exit::GateFailed
        })
    }
}

/// A side's results and, for a stored run, its samples.
type Side = (ResultSet, Option<HashMap<String, SampleText>>);

/// A results file, or a run from the history (`last`, `last~N`, `run:ID`)
/// with its stored samples.
fn result_set(reference: &str, config: Option<&Config>, group_by: Option<&str>) -> Result<Side> {
    // A file that exists wins; else anything that reads as a run
    // reference (`last`, `last~N`, `run:ID`, `ID`) is one.
    let path = Path::new(reference);
    if path.exists() || RunRef::parse(reference).is_none() {
        return Ok((ResultSet::read(path)?, None));
    }
    let Some(db) = config.and_then(|c| c.history.path.clone()) else {
        anyhow::bail!(
            "`{reference}` names a recorded run, but there is no caliper.toml (give --config) to find the run history"
        );
    };
    if !db.exists() {
        anyhow::bail!("`{reference}`: no run history at {} yet", db.display());
    }
    let history = History::open(&db)?;
    let id = history.resolve(reference)?;
    Ok((history.result_set(id)?, history.sample_texts(id, group_by)?))
}

fn read_texts(
    path: &Path,
    mapping: &InputMapping,
    group_by: Option<&str>,
) -> Result<HashMap<String, SampleText>> {
    caliper_run::runner::sample_texts(path, mapping, group_by)
        .with_context(|| format!("reading dataset {}", path.display()))
}
