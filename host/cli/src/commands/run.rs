//! `caliper run`: score a dataset with the metrics of a config.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use caliper_dataset::ReadStats;
use caliper_history::audit::Stewardship;
use caliper_history::{History, Recorder};
use caliper_report::gate::{self, GateResult};
use caliper_report::run_report::RunReport;
use caliper_run::runner::{self, RunOptions, Stop};
use caliper_run::summary;
use caliper_serve::watch::FileWatcher;
use caliper_types::atomic_file::{self, AtomicFile};
use caliper_types::outcome::Evaluation;
use caliper_types::sample::Sample;
use clap::{Args, ValueEnum};

use crate::common::{ConfigChoice, DEFAULT_CONFIG_FILE, Exit, Global, load_config, plan_offline};
use crate::progress::Progress;

/// Quiet time after a change before `--watch` runs again (an editor or a
/// build may write several files).
const WATCH_DEBOUNCE: Duration = Duration::from_millis(100);

/// Score a dataset (JSONL or CSV) with every metric in the config
///
/// Each record becomes a sample (see [input] in caliper.toml for other
/// shapes); every metric scores every sample its `when` filter admits, in
/// parallel, sandboxed. Per-sample results go to --output as JSONL, figures
/// to --summary as JSON, and a table to the terminal. A metric that crashes,
/// hangs or exceeds its memory is reported as such and never stops the run.
///
/// Without a caliper.toml (and no --config), the standard metrics built
/// into caliper score the dataset: pii-leak, refusal, language-match, json
/// (for records with metadata expects_json = true), response-length and
/// similarity, with no gates. `caliper init` writes that set as a
/// caliper.toml to edit.
///
/// Exit code 1 when a gate in caliper.toml fails (or bad records exceed
/// [input] max_invalid_records), 2 when the config, a metric or the dataset
/// cannot be used at all.
///
/// Examples:
///
///   caliper run chats.jsonl
///   caliper run chats.jsonl -o results.jsonl --summary summary.json
///   caliper run chats.csv --group-by model --metric language-match
///   caliper run chats.jsonl --watch     # re-run on every rebuild of a metric
///   caliper run chats.jsonl --dispatch nats://127.0.0.1:4222  # on `caliper worker`s
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct RunCommand {
    /// Dataset: JSONL (one sample per line) or CSV; `-` reads stdin.
    #[arg(value_name = "DATASET")]
    dataset: PathBuf,
    /// Config file [default: caliper.toml; without one, the built-in
    /// default set].
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Write per-sample results as JSONL (`-` for stdout). Written
    /// atomically: the file appears complete or not at all.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Write the summary (figures, gates) as JSON.
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Do not record this run in the run history ([history] in the config).
    #[arg(long)]
    no_history: bool,
    /// Refuse any metric whose component differs from caliper.lock (see
    /// `caliper lock`).
    #[arg(long)]
    locked: bool,
    /// Write the gates as JUnit XML (one test case per gate) for CI.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Split every figure by this metadata key (e.g. model, lang).
    #[arg(long, value_name = "KEY")]
    group_by: Option<String>,
    /// Score on a pool of `caliper worker`s through this NATS server
    /// (nats://HOST:PORT) instead of here; the outputs are the same.
    #[arg(long, value_name = "URL")]
    dispatch: Option<String>,
    /// Run only these metric instances (repeatable).
    #[arg(short, long = "metric", value_name = "NAME")]
    metrics: Vec<String>,
    /// Worker threads [default: number of cores].
    #[arg(short, long)]
    jobs: Option<usize>,
    /// Stop at the first bad record (exit code 2) instead of counting it.
    #[arg(long)]
    strict: bool,
    /// How to print the summary on stdout.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Table)]
    format: SummaryFormat,
    /// Never draw a progress bar (it is drawn only on a terminal anyway).
    #[arg(long)]
    no_progress: bool,
    /// After the run, watch the config, its metric files and the dataset,
    /// and run again whenever one changes (the authoring loop; Ctrl-C ends
    /// it). A failing run is reported and watching goes on.
    #[arg(short, long)]
    watch: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum SummaryFormat {
    /// A human table.
    Table,
    /// The summary JSON.
    Json,
    /// Nothing.
    None,
}

/// Where a run's evaluations (and, when recording, samples) go.
struct RunOutputs<'a, 'r> {
    results: &'a mut ResultsSink,
    recorder: Option<&'a mut Recorder<'r>>,
}

impl runner::Sink for RunOutputs<'_, '_> {
    fn evaluation(&mut self, e: &Evaluation) -> std::io::Result<()> {
        if let Some(r) = self.recorder.as_mut() {
            r.evaluation(e).map_err(std::io::Error::other)?;
        }
        let w: &mut dyn Write = match &mut *self.results {
            ResultsSink::None => return Ok(()),
            ResultsSink::Stdout(w) => w,
            ResultsSink::File(w, _) => w,
        };
        serde_json::to_writer(&mut *w, e)?;
        w.write_all(b"\n")
    }

    fn wants_samples(&self) -> bool {
        self.recorder.is_some()
    }

    fn sample(&mut self, s: &Sample) -> std::io::Result<()> {
        match self.recorder.as_mut() {
            Some(r) => r.sample(s).map_err(std::io::Error::other),
            None => Ok(()),
        }
    }
}

enum ResultsSink {
    None,
    Stdout(BufWriter<std::io::Stdout>),
    File(BufWriter<std::fs::File>, AtomicFile),
}

impl RunCommand {
    pub fn execute(self, global: &Global) -> Result<Exit> {
        // First, so that Ctrl-C during loading also ends cleanly.
        let cancel = Arc::new(AtomicBool::new(false));
        {
            let cancel = cancel.clone();
            let _ = ctrlc::set_handler(move || {
                if cancel.swap(true, Ordering::SeqCst) {
                    // Destructors do not run on exit: remove the temporary
                    // output files here (the targets keep their old content).
                    atomic_file::remove_uncommitted();
                    std::process::exit(130);
                }
                eprintln!("\ninterrupted: finishing samples in flight (Ctrl-C again to abort)");
            });
        }
        if !self.watch {
            let choice = ConfigChoice::from_flag(self.config.as_deref());
            return self.run_once(global, &choice, &cancel);
        }
        if self.dataset == Path::new("-") {
            anyhow::bail!("--watch needs a dataset file (it re-reads it on every run), not stdin");
        }
        let mut watcher = FileWatcher::new().context("cannot watch files")?;
        loop {
            // Watch before running, so that a change during the run (or
            // right after it) triggers the next one instead of being missed.
            // Resolved offline: which files a run uses, never a registry.
            // Without a config, `caliper.toml` is watched too: the run
            // after `caliper init` (and every edit) uses it.
            let choice = ConfigChoice::from_flag(self.config.as_deref());
            let config_file = match &choice {
                ConfigChoice::File(path) => path.clone(),
                ConfigChoice::Defaults => PathBuf::from(DEFAULT_CONFIG_FILE),
            };
            let mut files = vec![config_file.clone(), self.dataset.clone()];
            if let Ok(plan) = plan_offline(&config_file) {
                files.extend(plan.watched_files());
            }
            let watched = files.len();
            watcher.set_files(files);
            let exit = match self.run_once(global, &choice, &cancel) {
                Ok(exit) => exit,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    Exit::Error
                }
            };
            if exit == Exit::Interrupted || cancel.load(Ordering::SeqCst) {
                return Ok(Exit::Interrupted);
            }
            eprintln!("watching {watched} files for changes (Ctrl-C to stop)");
            let stop = || cancel.load(Ordering::SeqCst);
            let Some(changed) = watcher.wait(WATCH_DEBOUNCE, &stop) else {
                return Ok(Exit::Interrupted);
            };
            let mut names: Vec<String> = changed.iter().map(|p| p.display().to_string()).collect();
            names.sort();
            eprintln!("changed: {}; running again", names.join(", "));
        }
    }

    /// One run: load, score, write outputs, check gates.
    fn run_once(
        &self,
        global: &Global,
        choice: &ConfigChoice,
        cancel: &Arc<AtomicBool>,
    ) -> Result<Exit> {
        // The dataset first: a missing file is named before any metric loads.
        let is_stdin = self.dataset == Path::new("-");
        let size = if is_stdin {
            None
        } else {
            Some(
                std::fs::metadata(&self.dataset)
                    .with_context(|| format!("cannot read dataset {}", self.dataset.display()))?
                    .len(),
            )
        };
        let loaded = load_config(global, choice, &self.metrics, self.locked)?;
        let plan = loaded.plan;
        let config = &plan.config;
        let specs = loaded.specs;
        if *choice == ConfigChoice::Defaults && !global.quiet {
            let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
            eprintln!(
                "no {DEFAULT_CONFIG_FILE} here: scoring with the built-in default set ({}), \
                 no gates; `caliper init` writes it as a {DEFAULT_CONFIG_FILE} to edit",
                names.join(", ")
            );
        }

        let read = Arc::new(ReadStats::default());
        let records = caliper_dataset::open(&self.dataset, &config.input, Some(read.clone()))
            .with_context(|| format!("cannot open dataset {}", self.dataset.display()))?;

        let mut sink = match &self.output {
            None => ResultsSink::None,
            Some(p) if p == Path::new("-") => {
                ResultsSink::Stdout(BufWriter::new(std::io::stdout()))
            }
            Some(p) => {
                let file = AtomicFile::create(p)
                    .with_context(|| format!("cannot create {}", p.display()))?;
                let handle = file.file().try_clone()?;
                ResultsSink::File(BufWriter::with_capacity(1 << 20, handle), file)
            }
        };
        let summary_file = self
            .summary
            .as_deref()
            .map(|p| {
                AtomicFile::create(p).with_context(|| format!("cannot create {}", p.display()))
            })
            .transpose()?;

        // --dispatch: the samples go to the worker pool; everything else is
        // this run's as always.
        let dispatcher = match &self.dispatch {
            None => None,
            Some(url) => {
                let run_id = format!(
                    "{:x}{:x}",
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis()),
                    std::process::id()
                );
                let d = caliper_dispatch::dispatcher::Dispatcher::start(
                    url,
                    &config.dispatch,
                    &specs,
                    &run_id,
                )?;
                tracing::info!(run = %run_id, url, "scoring on the worker pool");
                Some(Arc::new(d))
            }
        };
        let opts = RunOptions {
            jobs: match &dispatcher {
                Some(_) => config.dispatch.lanes.max(1),
                None => self.jobs.unwrap_or(RunOptions::default().jobs),
            },
            strict: self.strict,
            group_by: self.group_by.clone(),
            cancel: cancel.clone(),
            remote: dispatcher
                .clone()
                .map(|d| d as Arc<dyn caliper_run::runner::Remote>),
        };

        let mut history = match (
            &config.history.path,
            config.history.disabled || self.no_history,
        ) {
            (Some(path), false) => Some(History::open(path)?.with_samples(config.history.samples)),
            _ => None,
        };
        let config_path = match choice {
            ConfigChoice::File(path) => std::path::absolute(path)?,
            ConfigChoice::Defaults => choice.path().to_owned(),
        };
        let mut recorder = match history.as_mut() {
            Some(h) => Some(h.start(
                &self.dataset.display().to_string(),
                &config_path,
                &choice.text(),
            )?),
            None => None,
        };
        if let Some(r) = recorder.as_mut() {
            for spec in &specs {
                let m = plan.metric(&spec.name).map(|m| &m.entry);
                let described = Stewardship {
                    owner: Some(spec.plugin.descriptor.owner.clone()).filter(|o| !o.is_empty()),
                    ..Stewardship::default()
                };
                let effective = Stewardship::resolve(
                    m.map(|m| m.stewardship()),
                    spec.plugin.manifest.as_ref().map(|p| p.stewardship()),
                    described,
                );
                r.stewardship(&spec.name, effective);
            }
        }

        let display = Progress::new(size, self.no_progress || global.quiet);
        let bar = display.bar();
        let started = Instant::now();
        let mut outputs = RunOutputs {
            results: &mut sink,
            recorder: recorder.as_mut(),
        };
        let progress = |records: u64| {
            bar.set_position(read.bytes());
            bar.set_message(format!("{records} records"));
        };
        let totals = runner::run(&specs, records, &opts, &mut outputs, &progress);
        if let Some(d) = &dispatcher {
            d.finish();
            if d.duplicates() > 0 {
                tracing::info!(
                    duplicates = d.duplicates(),
                    "answers for samples already answered (redelivered jobs) were dropped"
                );
            }
        }
        let totals = totals?;
        drop(display);
        let elapsed = started.elapsed().as_secs_f64();

        // Gates.
        let mut gates: Vec<GateResult> = Vec::new();
        let max_invalid = config.input.max_invalid_records;
        gates.push(GateResult {
            metric: "dataset".into(),
            check: "max_invalid_records".into(),
            passed: totals.invalid_records <= max_invalid,
            message: format!(
                "{} invalid records {} max {max_invalid}",
                totals.invalid_records,
                if totals.invalid_records <= max_invalid {
                    "<="
                } else {
                    ">"
                }
            ),
        });
        for (spec, stats) in specs.iter().zip(&totals.overall) {
            let metric_config = plan.metric(&spec.name).map(|m| &m.entry);
            if let Some(g) = metric_config.and_then(|m| m.gate.as_ref()) {
                gates.extend(gate::check(&spec.name, g, &stats.figures()));
            }
        }
        let passed = gates.iter().all(|g| g.passed);

        let report = RunReport {
            dataset: self.dataset.display().to_string(),
            dataset_digest: Some(read.digest()),
            records: totals.records,
            samples: totals.samples,
            invalid_records: totals.invalid_records,
            invalid_examples: totals
                .invalid_examples
                .iter()
                .map(|e| e.to_string())
                .collect(),
            metrics: specs
                .iter()
                .zip(&totals.overall)
                .map(|(s, st)| summary::metric_report(s, st))
                .collect(),
            group_by: self.group_by.clone(),
            segments: totals
                .segments
                .iter()
                .map(|(seg, stats)| {
                    let rows = specs
                        .iter()
                        .zip(stats)
                        .map(|(s, st)| summary::metric_report(s, st))
                        .collect();
                    (seg.clone(), rows)
                })
                .collect(),
            gates,
            passed,
            stopped_early: totals.stopped.as_ref().map(|s| match s {
                Stop::Cancelled => "interrupted".to_owned(),
                Stop::Strict(e) => format!("--strict: {e}"),
                Stop::Unreadable(e) => format!("unreadable: {e}"),
            }),
            elapsed_s: elapsed,
        };

        match totals.stopped {
            Some(Stop::Cancelled) => {
                eprintln!("interrupted: no output files written");
                return Ok(Exit::Interrupted);
            }
            Some(Stop::Strict(e)) => {
                anyhow::bail!("bad record (--strict): {e}; no output files written");
            }
            Some(Stop::Unreadable(e)) => {
                anyhow::bail!("cannot read the dataset: {e}; no output files written");
            }
            None => {}
        }

        match sink {
            ResultsSink::None => {}
            ResultsSink::Stdout(mut w) => w.flush()?,
            ResultsSink::File(mut w, file) => {
                w.flush()?;
                drop(w);
                let path = file.path().to_owned();
                file.commit()
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
        }
        // `map` consumes the recorder, whose borrow of `history` ends here.
        if let Some(id) = recorder.map(|r| r.finish(&report)).transpose()? {
            tracing::info!(run = id, "recorded in the run history");
        }
        // [history] keep_runs / max_size_mib: a failure to prune is not the
        // run's (its results are stored); the next run or `caliper history
        // prune` tries again.
        let limits = super::history::retention(&config.history);
        if let Some(h) = history.as_mut().filter(|_| limits.is_set())
            && let Err(e) = h.prune(&limits)
        {
            tracing::warn!("could not prune the run history: {e}");
        }
        if let Some(path) = &self.junit {
            let suite = format!("caliper run {}", self.dataset.display());
            atomic_file::write(
                path,
                caliper_report::junit::render(&suite, &report.gates, elapsed).as_bytes(),
            )
            .with_context(|| format!("cannot write {}", path.display()))?;
        }
        if let Some(file) = summary_file {
            let mut f = std::io::BufWriter::new(file.file());
            serde_json::to_writer_pretty(&mut f, &report)?;
            f.write_all(b"\n")?;
            f.flush()?;
            drop(f);
            let path = file.path().to_owned();
            file.commit()
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        let summary = match self.format {
            SummaryFormat::Table => Some(report.render()),
            SummaryFormat::Json => Some(format!("{}\n", serde_json::to_string_pretty(&report)?)),
            SummaryFormat::None => None,
        };
        if let Some(summary) = summary {
            // Results on stdout keep stdout pure JSONL; the summary moves to stderr.
            if self.output.as_deref() == Some(Path::new("-")) {
                eprint!("{summary}");
            } else {
                print!("{summary}");
            }
        }
        Ok(if passed {
            Exit::Success
        } else {
            Exit::GateFailed
        })
    }
}
