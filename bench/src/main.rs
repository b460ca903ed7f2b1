//! `caliper-bench`: how much does running a metric as a sandboxed
//! WebAssembly component cost, against the same Rust code compiled natively?
//!
//! See `--help` and `bench/run.sh`.

mod calls;
mod clock;
mod languages;
mod measure;
mod native;
mod report;
mod samples;
mod serve;
mod wasm;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

/// Benchmark Caliper's standard metrics: the same metric code compiled
/// natively (linked in as Rust libraries and called in-process) against the
/// same code as WebAssembly components run by caliper-engine (sandboxed
/// instances, the parallel runner, a sink that discards the results).
///
/// Both sides get the same samples (the dataset is read and parsed before
/// any clock starts), the same metric configs (from caliper.toml) and the
/// same number of worker threads. Each measurement is repeated --repeat
/// times, sides interleaved, and the median wall time is reported: per
/// metric (a run with that metric alone) and for all metrics together.
///
/// Examples:
///
///   caliper-bench compare target/bench/bench.jsonl -c bench/caliper.toml
///
///   caliper-bench wasm target/bench/bench.jsonl -c bench/caliper.toml --json wasm.json
///
///   caliper-bench serve target/bench/bench.jsonl -c bench/caliper.toml
///
///   caliper-bench languages target/bench/bench.jsonl --component rust=conformance_rust.wasm --component python=py.wasm
///
/// `bench/run.sh` builds everything, generates the dataset and runs this
/// next to `caliper run` and the Python baseline.
#[derive(Parser)]
#[command(
    name = "caliper-bench",
    version,
    about,
    long_about,
    max_term_width = 100
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Native and Wasm side by side in one process (the headline ratio).
    Compare(Opts),
    /// Only the native side.
    Native(Opts),
    /// Only the Wasm side (through caliper-engine and caliper-run).
    Wasm(Opts),
    /// The live service: guardrail latency, throughput, hot-reload time.
    Serve(serve::ServeOpts),
    /// One metric written in every SDK language: size, load, call cost, throughput.
    Languages(languages::LanguagesOpts),
}

/// What every subcommand takes.
#[derive(Args, Clone)]
pub struct Opts {
    /// Dataset in Caliper's native JSONL shape (one sample per line).
    #[arg(value_name = "DATASET")]
    pub dataset: PathBuf,
    /// Config naming the metrics (`[[metric]]` paths to .wasm components and
    /// their configs); the native side uses the same configs.
    #[arg(short, long, default_value = "caliper.toml", value_name = "FILE")]
    pub config: PathBuf,
    /// Worker threads on both sides [default: number of cores].
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// Repetitions of every measurement; the median is reported.
    #[arg(short, long, default_value_t = 3)]
    pub repeat: usize,
    /// Measure only these metric instances (repeatable) [default: all].
    #[arg(short, long = "metric", value_name = "NAME")]
    pub metrics: Vec<String>,
    /// Skip the per-metric runs; measure all metrics together only.
    #[arg(long)]
    pub total_only: bool,
    /// Also measure the single-threaded cost of one call per metric, without
    /// the runner (native `evaluate` vs one sandboxed component call), and
    /// of the host's per-sample conversion. Needs both sides (`compare`).
    #[arg(long)]
    pub calls: bool,
    /// Also write the results (every run's time, medians, ratios) as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// Which sides to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sides {
    /// Native and Wasm.
    Both,
    /// Native only.
    Native,
    /// Wasm only.
    Wasm,
}

impl Sides {
    /// Whether the native side runs.
    pub fn native(self) -> bool {
        matches!(self, Sides::Both | Sides::Native)
    }

    /// Whether the Wasm side runs.
    pub fn wasm(self) -> bool {
        matches!(self, Sides::Both | Sides::Wasm)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (opts, sides) = match cli.command {
        Command::Compare(o) => (o, Sides::Both),
        Command::Native(o) => (o, Sides::Native),
        Command::Wasm(o) => (o, Sides::Wasm),
        Command::Languages(o) => {
            return match languages::run(&o) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::from(2)
                }
            };
        }
        Command::Serve(o) => {
            return match serve::run(&o) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::from(2)
                }
            };
        }
    };
    match execute(&opts, sides) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn execute(opts: &Opts, sides: Sides) -> Result<()> {
    let results = measure::measure(opts, sides)?;
    print!("{}", report::table(&results));
    if let Some(path) = &opts.json {
        let text = serde_json::to_string_pretty(&report::json(&results))?;
        std::fs::write(path, text + "\n")?;
    }
    Ok(())
}
