//! `caliper worker`: one of the pool that scores `caliper run --dispatch`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use caliper_dispatch::worker::{self, WorkerOptions, WorkerStats};
use clap::Args;

use crate::common::{ConfigChoice, Exit, Global, load_config};

/// Score jobs from NATS JetStream: a worker of `caliper run --dispatch`
///
/// Loads the metrics of its config (resolved, locked and trust-checked as
/// everywhere), then takes jobs from the shared pull consumer of
/// [dispatch] jobs_stream until Ctrl-C. A job is acked only after its
/// result is stored, so a worker that dies loses nothing: its jobs go to
/// another after [dispatch] ack_wait_ms. A job for other metrics (another
/// config or component digest) is refused, and the run fails naming both.
///
/// Examples:
///
///   caliper worker --nats nats://127.0.0.1:4222
///   caliper worker --nats nats://queue:4222 -c caliper.toml --jobs 4 --locked
///   caliper worker --nats nats://queue:4222 --metrics-file /var/lib/node_exporter/caliper.prom
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct WorkerCommand {
    /// The NATS server [default: [dispatch] nats in the config].
    #[arg(long, value_name = "URL")]
    nats: Option<String>,
    /// Config file [default: caliper.toml; without one, the built-in
    /// default set].
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Lanes [default: number of cores]: each asks for [dispatch]
    /// fetch_batch jobs at a time and scores them side by side.
    #[arg(short, long)]
    jobs: Option<usize>,
    /// This worker's name in results and series [default: HOST-PID].
    #[arg(long)]
    name: Option<String>,
    /// Refuse any metric whose component differs from caliper.lock.
    #[arg(long)]
    locked: bool,
    /// Write the worker's Prometheus series (processed, redelivered,
    /// failed, refused, queue lag) to this file every second, for the
    /// node_exporter textfile collector.
    #[arg(long, value_name = "FILE")]
    metrics_file: Option<PathBuf>,
}

impl WorkerCommand {
    pub fn execute(self, global: &Global) -> Result<Exit> {
        let choice = ConfigChoice::from_flag(self.config.as_deref());
        let loaded = load_config(global, &choice, &[], self.locked)?;
        let settings = loaded.plan.config.dispatch.clone();
        let url = self
            .nats
            .clone()
            .or_else(|| settings.nats.clone())
            .context("no NATS server: pass --nats nats://HOST:PORT or set [dispatch] nats")?;
        let name = self.name.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_owned())
                .unwrap_or_else(|_| "worker".into());
            format!("{host}-{}", std::process::id())
        });
        let stop = Arc::new(AtomicBool::new(false));
        {
            let stop = stop.clone();
            let _ = ctrlc::set_handler(move || {
                eprintln!("stopping: finishing the jobs in hand");
                stop.store(true, Ordering::SeqCst);
            });
        }
        let stats = Arc::new(WorkerStats::default());
        let lag = Arc::new(AtomicU64::new(0));
        let writer = self.metrics_file.clone().map(|file| {
            let (stats, lag, stop, name) = (stats.clone(), lag.clone(), stop.clone(), name.clone());
            std::thread::spawn(move || {
                loop {
                    let text = stats.prometheus(&name, Some(lag.load(Ordering::Relaxed)));
                    if let Err(e) = caliper_types::atomic_file::write(&file, text.as_bytes()) {
                        tracing::warn!("cannot write {}: {e}", file.display());
                    }
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    for _ in 0..10 {
                        std::thread::sleep(Duration::from_millis(100));
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                    }
                }
            })
        });
        eprintln!(
            "worker {name}: {} metrics, scoring jobs from {url} (Ctrl-C to stop)",
            loaded.specs.len()
        );
        let result = worker::run(
            loaded.specs,
            WorkerOptions {
                url,
                settings,
                name: name.clone(),
                lanes: self
                    .jobs
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
                stop: stop.clone(),
            },
            stats.clone(),
            lag,
        );
        stop.store(true, Ordering::SeqCst);
        if let Some(w) = writer {
            let _ = w.join();
        }
        result?;
        eprintln!(
            "worker {name}: {} samples scored in {} jobs ({} redelivered), {} failed, {} refused",
            stats.samples.load(Ordering::Relaxed),
            stats.processed.load(Ordering::Relaxed),
            stats.redelivered.load(Ordering::Relaxed),
            stats.failed.load(Ordering::Relaxed),
            stats.refused.load(Ordering::Relaxed)
        );
        Ok(Exit::Success)
    }
}
