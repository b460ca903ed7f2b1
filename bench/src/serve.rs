//! `caliper-bench serve`: the live service, measured from outside.
//!
//! Starts the real `caliper serve` binary on a loopback port with the
//! benchmark config, then measures, in one run:
//! 1. guardrail latency of one sample through every metric, one client at a
//!    time: end to end (HTTP client) and server side (`duration_us` of the
//!    response), next to the same evaluations in-process through
//!    `caliper_serve::registry` without HTTP (the reference for the ratios);
//! 2. throughput with several concurrent clients;
//! 3. hot reload: the time from an atomic rename of a metric's file to the
//!    new version serving (polling `GET /v1/metrics` every millisecond),
//!    with one client keeping the server busy.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use caliper_config::Config;
use caliper_engine::plugin::append_custom_section;
use caliper_serve::registry::Registry;
use caliper_types::sample::Sample;
use clap::Args;
use serde_json::{Value, json};

/// Options of `caliper-bench serve`.
#[derive(Args, Clone)]
pub struct ServeOpts {
    /// Dataset whose records become request bodies (native JSONL shape).
    #[arg(value_name = "DATASET")]
    pub dataset: PathBuf,
    /// Config naming the metrics (the standard set in bench/caliper.toml).
    #[arg(short, long, default_value = "caliper.toml", value_name = "FILE")]
    pub config: PathBuf,
    /// The `caliper` binary to serve with.
    #[arg(long, default_value = "target/release/caliper", value_name = "FILE")]
    pub caliper: PathBuf,
    /// Sequential requests for the latency figures.
    #[arg(long, default_value_t = 2000)]
    pub requests: usize,
    /// Concurrent clients for the throughput figure.
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Seconds of the throughput phase.
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Metric file replacements for the reload figure.
    #[arg(long, default_value_t = 30)]
    pub swaps: usize,
    /// Also write the figures as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// Latency quantiles in microseconds.
#[derive(Debug, Clone, Copy, serde::Serialize)]
struct Quantiles {
    p50: f64,
    p99: f64,
    max: f64,
}

fn quantiles(mut us: Vec<f64>) -> Quantiles {
    us.sort_by(f64::total_cmp);
    let at = |q: f64| us[((us.len() - 1) as f64 * q).round() as usize];
    Quantiles {
        p50: at(0.5),
        p99: at(0.99),
        max: *us.last().unwrap_or(&0.0),
    }
}

struct Server {
    child: Child,
    base: String,
    agent: ureq::Agent,
}

impl Server {
    fn start(caliper: &Path, config: &Path) -> Result<Server> {
        let mut child = Command::new(caliper)
            .args(["serve", "--bind", "127.0.0.1:0", "-q", "-c"])
            .arg(config)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", caliper.display()))?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
        let Some(base) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            bail!("caliper serve did not start: {line}");
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Server {
            base: base.to_owned(),
            child,
            agent,
        })
    }

    fn post(&self, path: &str, body: &str) -> Result<Value> {
        let mut r = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .send(body)?;
        let status = r.status().as_u16();
        let text = r.body_mut().read_to_string()?;
        if status != 200 {
            bail!("{path}: {status}: {text}");
        }
        Ok(serde_json::from_str(&text)?)
    }

    fn get(&self, path: &str) -> Result<Value> {
        let mut r = self.agent.get(format!("{}{path}", self.base)).call()?;
        Ok(serde_json::from_str(&r.body_mut().read_to_string()?)?)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Runs the service benchmark and prints a table.
pub fn run(opts: &ServeOpts) -> Result<()> {
    let scratch = tempfile::tempdir()?;
    // Absolute, so that the rewritten config in the scratch dir finds them.
    let mut config = Config::load(&std::path::absolute(&opts.config)?)?;
    let first = config
        .metrics
        .first()
        .context("the config has no metrics")?;
    // The first metric is served from a copy that the reload phase replaces.
    let original =
        std::fs::read(&first.path).with_context(|| format!("reading {}", first.path.display()))?;
    let reload_path = scratch.path().join("reloaded.wasm");
    std::fs::write(&reload_path, &original)?;
    let reload_name = first.instance_name();
    config.metrics[0].name = Some(reload_name.clone());
    config.metrics[0].path = reload_path.clone();
    let config_path = scratch.path().join("caliper.toml");
    std::fs::write(&config_path, toml::to_string(&config)?)?;

    let bodies: Vec<String> = std::fs::read_to_string(&opts.dataset)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(1000)
        .map(|l| -> Result<String> {
            let record: Value = serde_json::from_str(l)?;
            Ok(json!({ "sample": record }).to_string())
        })
        .collect::<Result<_>>()?;
    if bodies.is_empty() {
        bail!("{} has no records", opts.dataset.display());
    }

    // Reference: the same evaluations in-process, one sample at a time.
    let registry = Registry::open(
        &config_path,
        None,
        false,
        Arc::new(caliper_engine::resolve::NoRegistry),
    )?;
    let samples: Vec<Sample> = bodies
        .iter()
        .map(|b| {
            let record = serde_json::from_str::<Value>(b).expect("ours")["sample"].take();
            serde_json::from_value(record).context("a dataset record is not a native sample")
        })
        .collect::<Result<_>>()?;
    let snapshot = registry.snapshot();
    let names: Vec<String> = snapshot.serving().map(|m| m.spec.name.clone()).collect();
    let mut per_metric: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let mut in_process = |i: usize| {
        let sample = &samples[i % samples.len()];
        let started = Instant::now();
        for (m, times) in snapshot.serving().zip(per_metric.iter_mut()) {
            let t = Instant::now();
            std::hint::black_box(m.evaluate(std::slice::from_ref(sample), None));
            times.push(t.elapsed().as_secs_f64() * 1e6);
        }
        started.elapsed().as_secs_f64() * 1e6
    };
    for i in 0..200 {
        in_process(i);
    }

    let server = Arc::new(Server::start(&opts.caliper, &config_path)?);
    let metrics = server.get("/v1/metrics")?["metrics"]
        .as_array()
        .map_or(0, Vec::len);
    for body in bodies.iter().cycle().take(200) {
        server.post("/v1/evaluate", body)?;
    }

    // 1. Latency, one request at a time, interleaved with the in-process
    //    reference so both see the same machine load.
    let (mut e2e, mut server_side, mut reference) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..opts.requests {
        let body = &bodies[i % bodies.len()];
        let started = Instant::now();
        let v = server.post("/v1/evaluate", body)?;
        e2e.push(started.elapsed().as_secs_f64() * 1e6);
        server_side.push(v["duration_us"].as_f64().unwrap_or(f64::NAN));
        reference.push(in_process(i));
    }
    let per_metric: Vec<(String, Quantiles)> = names
        .into_iter()
        .zip(per_metric)
        .map(|(name, times)| (name, quantiles(times)))
        .collect();
    let (e2e, server_side, reference) =
        (quantiles(e2e), quantiles(server_side), quantiles(reference));

    // 2. Throughput.
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let clients: Vec<_> = (0..opts.clients)
        .map(|c| {
            let (server, stop, bodies) = (server.clone(), stop.clone(), bodies.clone());
            std::thread::spawn(move || -> Result<usize> {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    server.post("/v1/evaluate", &bodies[(c * 7919 + n) % bodies.len()])?;
                    n += 1;
                }
                Ok(n)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(opts.seconds));
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for c in clients {
        total += c.join().expect("client thread")?;
    }
    let rps = total as f64 / started.elapsed().as_secs_f64();

    // 3. Reload: write (atomic rename) to serving, one client busy meanwhile.
    stop.store(false, Ordering::Relaxed);
    let busy = {
        let (server, stop, body) = (server.clone(), stop.clone(), bodies[0].clone());
        std::thread::spawn(move || -> Result<()> {
            while !stop.load(Ordering::Relaxed) {
                server.post("/v1/evaluate", &body)?;
            }
            Ok(())
        })
    };
    // Cold: new code, compiled on reload. Warm: the deploy step compiled it
    // into the shared compile cache first (`caliper inspect FILE`), so the
    // reload only loads, instantiates and configures.
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for i in 0..opts.swaps * 2 {
        let precompile = i % 2 == 1;
        let bytes = append_custom_section(
            &original,
            "caliper-bench",
            format!("{}-{i}", std::process::id()).as_bytes(),
        );
        let digest = caliper_engine::plugin::digest_of(&bytes);
        let tmp = scratch.path().join("reloaded.tmp");
        std::fs::write(&tmp, &bytes)?;
        if precompile {
            let status = Command::new(&opts.caliper)
                .arg("inspect")
                .arg(&tmp)
                .stdout(Stdio::null())
                .status()?;
            if !status.success() {
                bail!("caliper inspect {} failed", tmp.display());
            }
        }
        let written = Instant::now();
        std::fs::rename(&tmp, &reload_path)?;
        loop {
            let list = server.get("/v1/metrics")?;
            let serving = list["metrics"]
                .as_array()
                .and_then(|ms| ms.iter().find(|m| m["metric"] == reload_name.as_str()))
                .is_some_and(|m| m["digest"] == digest.as_str());
            if serving {
                break;
            }
            if written.elapsed() > Duration::from_secs(10) {
                bail!("version {i} did not serve within 10 s");
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let ms = written.elapsed().as_secs_f64() * 1e3;
        if precompile {
            warm.push(ms)
        } else {
            cold.push(ms)
        }
    }
    stop.store(true, Ordering::Relaxed);
    busy.join().expect("client thread")?;
    let (cold_ms, warm_ms) = (quantiles(cold), quantiles(warm));

    println!(
        "caliper serve: {metrics} metrics per request, one sample per request ({} requests)\n",
        opts.requests
    );
    println!("| latency (µs)                     |    p50 |    p99 |    max |");
    println!("|----------------------------------|-------:|-------:|-------:|");
    for (what, q) in [
        ("in-process, no HTTP (reference)", reference),
        ("server side (`duration_us`)", server_side),
        ("end to end (HTTP client)", e2e),
    ] {
        println!(
            "| {what:<32} | {:>6.0} | {:>6.0} | {:>6.0} |",
            q.p50, q.p99, q.max
        );
    }
    println!("\nper metric, in-process (µs): ");
    for (name, q) in &per_metric {
        println!("  {name:<16} p50 {:>6.0}  p99 {:>6.0}", q.p50, q.p99);
    }
    println!(
        "\nserver side / in-process at p50: {:.2}x; end to end / server side at p50: {:.2}x",
        server_side.p50 / reference.p50,
        e2e.p50 / server_side.p50
    );
    println!(
        "throughput: {rps:.0} requests/s with {} clients ({total} requests in {:.1} s)",
        opts.clients, opts.seconds
    );
    for (what, q) in [
        ("new code, compiled on reload", cold_ms),
        ("precompiled into the cache", warm_ms),
    ] {
        println!(
            "hot reload, write to serving, {what} ({} swaps, one client busy): p50 {:.1} ms, max {:.1} ms",
            opts.swaps, q.p50, q.max
        );
    }
    if let Some(path) = &opts.json {
        let figures = json!({
            "metrics": metrics,
            "requests": opts.requests,
            "latency_us": {"in_process": reference, "server_side": server_side, "end_to_end": e2e},
            "per_metric_in_process_us": per_metric.iter().map(|(n, q)| json!({"metric": n, "latency": q})).collect::<Vec<_>>(),
            "throughput_rps": rps,
            "clients": opts.clients,
            "reload_ms": {"compiled_on_reload": cold_ms, "precompiled": warm_ms},
            "swaps": opts.swaps,
        });
        std::fs::write(path, serde_json::to_string_pretty(&figures)? + "\n")?;
    }
    Ok(())
}
