//! The Wasm side: the same samples through Caliper's library crates, exactly
//! as `caliper run` scores them (config, compile cache, sandboxed
//! instances, the parallel runner), with a sink that discards the results.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use caliper_config::Config;
use caliper_dataset::Record;
use caliper_engine::engine::Runtime;
use caliper_engine::metric::MetricSpec;
use caliper_engine::{load, resolve};
use caliper_run::runner::{self, RunOptions};
use caliper_run::summary::Figures;
use caliper_types::sample::Sample;

use crate::clock::{Clock, Spent};

/// A loaded config: its metrics as the host runs them.
pub struct Loaded {
    /// The config.
    pub config: Config,
    /// Loaded, configured metrics, in config order.
    pub specs: Vec<Arc<MetricSpec>>,
    /// Keeps the engine (and its epoch ticker) alive.
    _runtime: Arc<Runtime>,
}

/// Loads `caliper.toml` and every component it names (compiling them or
/// taking them from the compile cache); reports every failure.
pub fn load(path: &Path) -> Result<Loaded> {
    let plan = resolve::resolve(path, &Default::default(), &resolve::NoRegistry)?;
    let runtime =
        Runtime::new(load::runtime_options(&plan.config)).context("starting the Wasm runtime")?;
    let cache = load::compile_cache(&plan.config);
    let specs = load::load_metrics(&runtime, &cache, &plan).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
        anyhow!("metrics failed to load:\n{}", lines.join("\n"))
    })?;
    Ok(Loaded {
        config: plan.config,
        specs,
        _runtime: runtime,
    })
}

/// Runs `specs` over `samples` with `jobs` workers through
/// [`runner::run`]. The records are built before the clock starts; the
/// sink discards every evaluation. Returns the time spent and each metric's
/// figures.
pub fn run(
    specs: &[Arc<MetricSpec>],
    samples: &[Sample],
    jobs: usize,
) -> Result<(Spent, Vec<Figures>)> {
    let records: Vec<Record> = samples
        .iter()
        .enumerate()
        .map(|(i, s)| Record {
            line: i as u64 + 1,
            samples: Ok(vec![s.clone()]),
        })
        .collect();
    let opts = RunOptions {
        jobs,
        ..RunOptions::default()
    };
    let clock = Clock::start();
    let totals = runner::run(
        specs,
        Box::new(records.into_iter()),
        &opts,
        &mut |_: &caliper_types::outcome::Evaluation| Ok(()),
        &|_| {},
    )?;
    let spent = clock.stop();
    Ok((spent, totals.overall.iter().map(|s| s.figures()).collect()))
}
