//! The native side: the standard metrics' own Rust code (the plugin crates,
//! linked as rlibs), called in-process on the same samples with the same
//! number of threads as the Wasm side.
//!
//! To add a metric: add its crate to `Cargo.toml` (renamed `metric-<name>`)
//! and one line to [`REGISTRY`].

use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Result, anyhow};
use caliper_sdk::{Error, Metric, Outcome, Sample, Verdict};

use crate::clock::{Clock, Spent};

/// A configured metric behind a trait object.
pub trait DynMetric {
    /// Scores one sample.
    fn evaluate(&self, sample: &Sample) -> Result<Outcome, Error>;
}

impl<M: Metric> DynMetric for M {
    fn evaluate(&self, sample: &Sample) -> Result<Outcome, Error> {
        Metric::evaluate(self, sample)
    }
}

/// Builds a metric from its JSON config, as the component's `configure` does.
pub type Constructor = fn(&str) -> Result<Box<dyn DynMetric>, Error>;

fn build<M: Metric>(config: &str) -> Result<Box<dyn DynMetric>, Error> {
    Ok(Box::new(caliper_sdk::configure::<M>(config)?))
}

/// Descriptor name (what the component's `describe` returns) to the native
/// constructor of the same code.
pub const REGISTRY: &[(&str, Constructor)] = &[
    (
        "response-length",
        build::<metric_response_length::ResponseLength>,
    ),
    ("json", build::<metric_json::Json>),
    ("pii-leak", build::<metric_pii_leak::PiiLeak>),
    ("similarity", build::<metric_similarity::Similarity>),
    ("budget", build::<metric_budget::Budget>),
    (
        "language-match",
        build::<metric_language_match::LanguageMatch>,
    ),
    ("refusal", build::<metric_refusal::Refusal>),
    ("keyword", build::<metric_keyword::Keyword>),
    ("regex", build::<metric_regex::RegexMatch>),
];

/// The constructor for a descriptor name.
pub fn constructor(name: &str) -> Result<Constructor> {
    REGISTRY
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| *c)
        .ok_or_else(|| {
            let known: Vec<&str> = REGISTRY.iter().map(|(n, _)| *n).collect();
            anyhow!(
                "no native build of metric `{name}` in caliper-bench (it has: {}); \
                 add it to bench/src/native.rs",
                known.join(", ")
            )
        })
}

/// One metric instance to run natively.
#[derive(Clone)]
pub struct NativeSpec {
    /// Instance name (from caliper.toml).
    pub name: String,
    /// Builds the metric.
    pub constructor: Constructor,
    /// JSON config, exactly what the component receives.
    pub config: String,
    /// Per sample: whether the metric's `when` filter admits it.
    pub applicable: Vec<bool>,
}

/// Verdict counts of one metric over a run (for checking that both sides
/// did the same work).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Pass verdicts.
    pub pass: u64,
    /// Fail verdicts.
    pub fail: u64,
    /// Skip verdicts.
    pub skip: u64,
    /// `Err` returns (the host's `error` outcome).
    pub errors: u64,
}

impl Tally {
    fn add(&mut self, result: &Result<Outcome, Error>) {
        match result {
            Ok(o) => match o.verdict {
                Verdict::Pass => self.pass += 1,
                Verdict::Fail => self.fail += 1,
                Verdict::Skip => self.skip += 1,
            },
            Err(_) => self.errors += 1,
        }
    }

    fn merge(&mut self, other: &Tally) {
        self.pass += other.pass;
        self.fail += other.fail;
        self.skip += other.skip;
        self.errors += other.errors;
    }
}

/// Samples per work item, as in the host's runner.
const CHUNK: usize = 16;

/// Runs `specs` over `samples` on `jobs` threads: each thread builds its own
/// instance of every metric (as each host worker instantiates its own
/// component) and takes chunks of samples from a shared counter. Returns the
/// time spent and per-metric tallies.
pub fn run(specs: &[NativeSpec], samples: &[Sample], jobs: usize) -> Result<(Spent, Vec<Tally>)> {
    let next = AtomicUsize::new(0);
    let clock = Clock::start();
    let per_thread: Vec<Result<Vec<Tally>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs.max(1))
            .map(|_| {
                scope.spawn(|| -> Result<Vec<Tally>> {
                    let metrics = specs
                        .iter()
                        .map(|s| {
                            (s.constructor)(&s.config).map_err(|e| {
                                anyhow!("metric `{}` rejected its config: {e}", s.name)
                            })
                        })
                        .collect::<Result<Vec<_>>>()?;
                    let mut tallies = vec![Tally::default(); specs.len()];
                    loop {
                        let start = next.fetch_add(CHUNK, Ordering::Relaxed);
                        if start >= samples.len() {
                            break;
                        }
                        let end = (start + CHUNK).min(samples.len());
                        for ((metric, spec), tally) in
                            metrics.iter().zip(specs).zip(tallies.iter_mut())
                        {
                            for (sample, _) in samples[start..end]
                                .iter()
                                .zip(&spec.applicable[start..end])
                                .filter(|(_, ok)| **ok)
                            {
                                let result = metric.evaluate(sample);
                                tally.add(&result);
                                drop(std::hint::black_box(result));
                            }
                        }
                    }
                    Ok(tallies)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow!("a native worker panicked")))
            })
            .collect()
    });
    let spent = clock.stop();
    let mut total = vec![Tally::default(); specs.len()];
    for tallies in per_thread {
        for (t, x) in total.iter_mut().zip(tallies?) {
            t.merge(&x);
        }
    }
    Ok((spent, total))
}
