//! `caliper-bench languages`: the same metric (the conformance metric of
//! `tests/conformance/SPEC.md`) written in each SDK language, measured side
//! by side in one run, as ratios to the Rust component: size, first load
//! (compile), cached load, instance start, per-evaluation cost (one call per
//! sample, and the batch call), and throughput through the parallel runner.
//! The native Rust build of the same code is the floor.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use caliper_config::Config;
use caliper_engine::cache::{CacheStatus, CompileCache};
use caliper_engine::engine::{Runtime, RuntimeOptions};
use caliper_engine::instance::MetricInstance;
use caliper_engine::metric::MetricSpec;
use caliper_engine::plugin::Plugin;
use caliper_engine::prepared::{Prepare, PreparedSample};
use caliper_sdk::Metric;
use caliper_types::outcome::Evaluation;
use clap::Args;
use conformance_rust::Conformance;
use serde_json::json;

use crate::clock::Clock;
use crate::measure::median;
use crate::samples::Samples;

/// Options of `caliper-bench languages`.
#[derive(Args, Clone)]
pub struct LanguagesOpts {
    /// Dataset in Caliper's native JSONL shape.
    #[arg(value_name = "DATASET")]
    pub dataset: PathBuf,
    /// A component to measure, as LANG=FILE (repeatable). The first is the
    /// reference every ratio is relative to (use the Rust one).
    #[arg(long = "component", value_name = "LANG=FILE", required = true)]
    pub components: Vec<String>,
    /// Config of the conformance metric (JSON).
    #[arg(
        long,
        default_value = r#"{"banned": ["Acme", "globex"], "min_words": 3}"#
    )]
    pub config: String,
    /// Repetitions of every measurement; the median is reported.
    #[arg(short, long, default_value_t = 3)]
    pub repeat: usize,
    /// Samples per batch call.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Worker threads for the throughput run [default: number of cores].
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// Also write the results as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// One language's figures (medians).
struct Figures {
    lang: String,
    size: u64,
    cold_load: Duration,
    cached_load: Duration,
    start: Duration,
    /// CPU ns per sample, one call each.
    call_ns: f64,
    /// CPU ns per sample, batch calls.
    batch_ns: f64,
    /// Samples per second through the runner with all workers.
    throughput: f64,
    /// Samples whose outcome differs from the reference's.
    disagreements: usize,
}

/// Runs the benchmark and prints a Markdown table.
pub fn run(opts: &LanguagesOpts) -> Result<()> {
    if opts.repeat == 0 || opts.batch == 0 {
        bail!("--repeat and --batch must be at least 1");
    }
    let components: Vec<(String, PathBuf)> = opts
        .components
        .iter()
        .map(|c| {
            c.split_once('=')
                .map(|(l, p)| (l.to_owned(), PathBuf::from(p)))
                .ok_or_else(|| anyhow!("--component takes LANG=FILE, got `{c}`"))
        })
        .collect::<Result<_>>()?;
    let config_toml = format!(
        "[[metric]]\nname = \"conformance\"\npath = {}\n",
        toml::Value::String(components[0].1.display().to_string())
    );
    let config = Config::parse(&config_toml, Path::new("."))?;
    let samples = Samples::load(&opts.dataset, &config)?;
    let prepared: Vec<PreparedSample> = samples.host.iter().map(|s| s.prepare()).collect();
    let jobs = opts.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    eprintln!(
        "{} samples, {} repeats, batch {}, {jobs} workers",
        prepared.len(),
        opts.repeat,
        opts.batch
    );

    let native_ns = native_cost(&samples, &opts.config, opts.repeat)?;
    let mut reference: Option<Vec<Evaluation>> = None;
    let mut figures = Vec::new();
    for (lang, path) in &components {
        eprintln!("measuring {lang} ({})", path.display());
        let (f, evaluations) = measure(lang, path, opts, &samples, &prepared, jobs)?;
        let disagreements = match &reference {
            None => 0,
            Some(r) => r
                .iter()
                .zip(&evaluations)
                .filter(|(a, b)| {
                    a.outcome != b.outcome
                        || a.value != b.value
                        || a.reason != b.reason
                        || a.labels != b.labels
                })
                .count(),
        };
        if reference.is_none() {
            reference = Some(evaluations);
        }
        figures.push(Figures { disagreements, ..f });
    }
    print!("{}", table(&figures, native_ns, prepared.len()));
    if let Some(path) = &opts.json {
        let rows: Vec<_> = figures
            .iter()
            .map(|f| {
                json!({
                    "lang": f.lang, "size_bytes": f.size,
                    "cold_load_ms": ms(f.cold_load), "cached_load_ms": ms(f.cached_load),
                    "start_ms": ms(f.start), "call_ns": f.call_ns, "batch_ns": f.batch_ns,
                    "throughput_per_s": f.throughput, "disagreements": f.disagreements,
                })
            })
            .collect();
        let doc = json!({"samples": prepared.len(), "native_ns": native_ns, "languages": rows});
        std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")?;
    }
    if figures.iter().any(|f| f.disagreements > 0) {
        bail!("the languages disagree on some samples (column `differ`)");
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// CPU ns per sample of the conformance metric compiled natively.
fn native_cost(samples: &Samples, config: &str, repeat: usize) -> Result<f64> {
    let metric: Conformance = caliper_sdk::configure(config)
        .map_err(|e| anyhow!("native conformance metric: {}", e.message()))?;
    let mut ns = Vec::new();
    for round in 0..=repeat {
        let clock = Clock::start();
        for s in &samples.native {
            drop(std::hint::black_box(metric.evaluate(s)));
        }
        if round > 0 {
            ns.push(clock.stop().cpu * 1e9 / samples.native.len().max(1) as f64);
        }
    }
    Ok(median(&ns).unwrap_or_default())
}

fn measure(
    lang: &str,
    path: &Path,
    opts: &LanguagesOpts,
    samples: &Samples,
    prepared: &[PreparedSample],
    jobs: usize,
) -> Result<(Figures, Vec<Evaluation>)> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    let (mut cold, mut cached, mut start) = (Vec::new(), Vec::new(), Vec::new());
    let mut spec = None;
    for _ in 0..opts.repeat {
        // A fresh cache directory: the first load compiles; a second
        // runtime (as after a restart) loads the compiled artifact.
        let dir = tempfile::tempdir()?;
        let cache = CompileCache::new(dir.path());
        let first = Runtime::new(RuntimeOptions::default())?;
        let plugin = Plugin::load(&first, &cache, path)?;
        if plugin.cache != CacheStatus::Miss {
            bail!("{lang}: a fresh cache directory was not a miss");
        }
        cold.push(plugin.load_time.as_secs_f64());
        let second = Runtime::new(RuntimeOptions::default())?;
        let plugin = Plugin::load(&second, &cache, path)?;
        if plugin.cache != CacheStatus::Hit {
            bail!("{lang}: the compiled artifact was not reused");
        }
        cached.push(plugin.load_time.as_secs_f64());
        let s = Arc::new(MetricSpec {
            name: "conformance".into(),
            plugin: Arc::new(plugin),
            config: opts.config.clone(),
            limits: Default::default(),
            grants: Default::default(),
            when: Default::default(),
            failure_log: Default::default(),
        });
        let mut instance = MetricInstance::new(s.clone());
        let began = Instant::now();
        instance
            .start()
            .map_err(|f| anyhow!("{lang}: {}", f.message))?;
        start.push(began.elapsed().as_secs_f64());
        spec = Some((s, second));
    }
    let (spec, _runtime) = spec.expect("repeat >= 1");
    let mut instance = MetricInstance::new(spec.clone());
    instance
        .start()
        .map_err(|f| anyhow!("{lang}: {}", f.message))?;
    // Warm-up pass; its results are what the languages must agree on.
    let evaluations: Vec<Evaluation> = prepared.iter().map(|p| instance.evaluate(p)).collect();
    let n = prepared.len().max(1) as f64;
    let (mut call, mut batch, mut throughput) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..opts.repeat {
        let clock = Clock::start();
        for p in prepared {
            drop(std::hint::black_box(instance.evaluate(p)));
        }
        call.push(clock.stop().cpu * 1e9 / n);
        let clock = Clock::start();
        for chunk in prepared.chunks(opts.batch) {
            let refs: Vec<&PreparedSample> = chunk.iter().collect();
            drop(std::hint::black_box(instance.evaluate_batch(&refs)));
        }
        batch.push(clock.stop().cpu * 1e9 / n);
        let (spent, _) = crate::wasm::run(std::slice::from_ref(&spec), &samples.host, jobs)?;
        throughput.push(n / spent.wall);
    }
    let secs = |v: &[f64]| Duration::from_secs_f64(median(v).unwrap_or_default());
    Ok((
        Figures {
            lang: lang.to_owned(),
            size,
            cold_load: secs(&cold),
            cached_load: secs(&cached),
            start: secs(&start),
            call_ns: median(&call).unwrap_or_default(),
            batch_ns: median(&batch).unwrap_or_default(),
            throughput: median(&throughput).unwrap_or_default(),
            disagreements: 0,
        },
        evaluations,
    ))
}

fn table(figures: &[Figures], native_ns: f64, samples: usize) -> String {
    let r = &figures[0];
    let ratio = |x: f64, base: f64| {
        if base > 0.0 {
            format!("{:.1}x", x / base)
        } else {
            "-".into()
        }
    };
    let mut out = format!(
        "The conformance metric over {samples} samples; ratios are to `{}` (times as large / as slow; \
         throughput: the reference's throughput over this one's).\n\n",
        r.lang
    );
    out.push_str(
        "| language | size | first load (compile) | cached load | instance start | µs per call | µs per sample, batch | samples/s (all workers) | differ |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for f in figures {
        out.push_str(&format!(
            "| {} | {:.0} KiB ({}) | {:.0} ms ({}) | {:.2} ms ({}) | {:.2} ms ({}) | {:.1} ({}) | {:.1} ({}) | {:.0} ({}) | {} |\n",
            f.lang,
            f.size as f64 / 1024.0,
            ratio(f.size as f64, r.size as f64),
            ms(f.cold_load),
            ratio(ms(f.cold_load), ms(r.cold_load)),
            ms(f.cached_load),
            ratio(ms(f.cached_load), ms(r.cached_load)),
            ms(f.start),
            ratio(ms(f.start), ms(r.start)),
            f.call_ns / 1e3,
            ratio(f.call_ns, r.call_ns),
            f.batch_ns / 1e3,
            ratio(f.batch_ns, r.batch_ns),
            f.throughput,
            ratio(r.throughput, f.throughput),
            f.disagreements,
        ));
    }
    out.push_str(&format!(
        "\nThe same Rust code compiled natively and called in-process: {:.2} µs per sample; \
         the `{}` component costs {} that.\n",
        native_ns / 1e3,
        r.lang,
        ratio(r.call_ns, native_ns)
    ));
    out
}
