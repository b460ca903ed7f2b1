//! The measurement plan: load once, warm up and cross-check both sides, then
//! time every target (each metric alone, then all together) `repeat` times
//! with the sides interleaved.

use std::sync::Arc;

use anyhow::{Result, bail};
use caliper_engine::metric::MetricSpec;
use caliper_run::runner::RunOptions;

use crate::calls::{self, CallCost};
use crate::native::{self, NativeSpec, Tally};
use crate::samples::Samples;
use crate::{Opts, Sides, wasm};

/// What one target measured.
pub struct Target {
    /// A metric instance name, or `all`.
    pub name: String,
    /// Evaluations per run (samples admitted by each metric's `when`, summed).
    pub evaluations: u64,
    /// Wall time of each native run, in seconds.
    pub native: Vec<f64>,
    /// Wall time of each Wasm run, in seconds.
    pub wasm: Vec<f64>,
    /// CPU time (all threads) of each native run, in seconds.
    pub native_cpu: Vec<f64>,
    /// CPU time (all threads) of each Wasm run, in seconds.
    pub wasm_cpu: Vec<f64>,
}

/// Cross-check of one metric's verdicts on both sides (from the warm-up).
pub struct Check {
    /// Metric instance name.
    pub metric: String,
    /// Native verdict counts.
    pub native: Tally,
    /// Wasm verdict counts (any host error kind counts as an error).
    pub wasm: Tally,
}

/// Everything a run of the benchmark measured.
pub struct Results {
    /// Dataset path.
    pub dataset: String,
    /// Samples in the dataset.
    pub samples: u64,
    /// Worker threads on each side.
    pub jobs: usize,
    /// Repetitions.
    pub repeat: usize,
    /// Which sides ran.
    pub sides: Sides,
    /// Per metric, then `all`.
    pub targets: Vec<Target>,
    /// Verdict cross-checks (empty unless both sides ran).
    pub checks: Vec<Check>,
    /// With `--calls`: ns of `prepare()` per sample, and per-call costs.
    pub calls: Option<(f64, Vec<CallCost>)>,
}

/// Runs the benchmark.
pub fn measure(opts: &Opts, sides: Sides) -> Result<Results> {
    if opts.repeat == 0 {
        bail!("--repeat must be at least 1");
    }
    let jobs = opts.jobs.unwrap_or(RunOptions::default().jobs).max(1);
    eprintln!("loading {} ...", opts.config.display());
    let loaded = wasm::load(&opts.config)?;
    let mut specs: Vec<Arc<MetricSpec>> = loaded.specs.clone();
    if !opts.metrics.is_empty() {
        for want in &opts.metrics {
            if !specs.iter().any(|s| &s.name == want) {
                bail!("no metric named `{want}` in {}", opts.config.display());
            }
        }
        specs.retain(|s| opts.metrics.contains(&s.name));
    }
    eprintln!("reading {} ...", opts.dataset.display());
    let samples = Samples::load(&opts.dataset, &loaded.config)?;
    let natives: Vec<NativeSpec> = specs
        .iter()
        .map(|s| {
            Ok(NativeSpec {
                name: s.name.clone(),
                constructor: native::constructor(&s.plugin.descriptor.name)?,
                config: s.config.clone(),
                applicable: samples.host.iter().map(|x| s.when.matches(x)).collect(),
            })
        })
        .collect::<Result<_>>()?;
    let evaluations = |ns: &[NativeSpec]| -> u64 {
        ns.iter()
            .map(|n| n.applicable.iter().filter(|a| **a).count() as u64)
            .sum()
    };

    // Targets: each metric alone (unless --total-only or a single metric), then all.
    let mut plan: Vec<(String, Vec<usize>)> = Vec::new();
    if !opts.total_only && specs.len() > 1 {
        plan.extend(
            specs
                .iter()
                .enumerate()
                .map(|(i, s)| (s.name.clone(), vec![i])),
        );
    }
    plan.push(("all".to_owned(), (0..specs.len()).collect()));
    let mut targets: Vec<Target> = plan
        .iter()
        .map(|(name, idx)| Target {
            name: name.clone(),
            evaluations: evaluations(&idx.iter().map(|&i| natives[i].clone()).collect::<Vec<_>>()),
            native: Vec::new(),
            wasm: Vec::new(),
            native_cpu: Vec::new(),
            wasm_cpu: Vec::new(),
        })
        .collect();

    // Warm-up (untimed): every metric on every sample once per side, which
    // also checks that both sides reach the same verdicts.
    eprintln!(
        "{} samples, {} metrics, {jobs} threads; warm-up ...",
        samples.len(),
        specs.len()
    );
    let native_tally = if sides.native() {
        Some(native::run(&natives, &samples.native, jobs)?.1)
    } else {
        None
    };
    let wasm_tally = if sides.wasm() {
        let (_, figures) = wasm::run(&specs, &samples.host, jobs)?;
        Some(
            figures
                .iter()
                .map(|f| Tally {
                    pass: f.pass,
                    fail: f.fail,
                    skip: f.skip,
                    errors: f.errors,
                })
                .collect::<Vec<_>>(),
        )
    } else {
        None
    };
    let mut checks = Vec::new();
    if let (Some(n), Some(w)) = (&native_tally, &wasm_tally) {
        for ((spec, n), w) in specs.iter().zip(n).zip(w) {
            checks.push(Check {
                metric: spec.name.clone(),
                native: *n,
                wasm: *w,
            });
        }
    }

    for rep in 0..opts.repeat {
        for ((_, idx), target) in plan.iter().zip(targets.iter_mut()) {
            let ns: Vec<NativeSpec> = idx.iter().map(|&i| natives[i].clone()).collect();
            let ws: Vec<Arc<MetricSpec>> = idx.iter().map(|&i| specs[i].clone()).collect();
            // Alternate which side goes first, so neither always runs on a
            // machine warmed (or heated) by the other.
            let native_first = rep % 2 == 0;
            for turn in 0..2 {
                if (turn == 0) == native_first {
                    if sides.native() {
                        let (t, _) = native::run(&ns, &samples.native, jobs)?;
                        target.native.push(t.wall);
                        target.native_cpu.push(t.cpu);
                    }
                } else if sides.wasm() {
                    let (t, _) = wasm::run(&ws, &samples.host, jobs)?;
                    target.wasm.push(t.wall);
                    target.wasm_cpu.push(t.cpu);
                }
            }
            eprintln!(
                "  round {}/{} {:<20} native {:>9} wasm {:>9}",
                rep + 1,
                opts.repeat,
                target.name,
                target
                    .native
                    .last()
                    .map_or("-".into(), |t| format!("{:.1} ms", t * 1e3)),
                target
                    .wasm
                    .last()
                    .map_or("-".into(), |t| format!("{:.1} ms", t * 1e3)),
            );
        }
    }

    let calls = if opts.calls && sides == Sides::Both {
        eprintln!("per-call costs, single-threaded ...");
        Some(calls::measure(&specs, &natives, &samples, opts.repeat)?)
    } else {
        None
    };

    Ok(Results {
        dataset: opts.dataset.display().to_string(),
        samples: samples.len() as u64,
        jobs,
        repeat: opts.repeat,
        sides,
        targets,
        checks,
        calls,
    })
}

/// The median of some times (the mean of the middle two for an even count).
pub fn median(times: &[f64]) -> Option<f64> {
    if times.is_empty() {
        return None;
    }
    let mut v = times.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }
}
