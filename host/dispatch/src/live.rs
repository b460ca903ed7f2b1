//! Live traffic on the worker pool (`[dispatch] ingest = true`): `caliper
//! serve` publishes what `/v1/ingest` and `/v1/traces` accept as jobs of
//! its own run (`ingest-BOOT`, one per process, so message ids never clash
//! across restarts or replicas) and reads their results back into its
//! Prometheus series and OTLP events.
//!
//! A request is accepted once its jobs are stored (so a crash of the service
//! after the 202 loses nothing: the pool scores them anyway); the lock is
//! that of the metrics serving when the request came (a worker with other
//! metrics refuses, and the refusal is logged and counted, the job left for
//! another worker). The queue's lag (jobs waiting for a worker) is polled
//! every second.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use caliper_config::DispatchConfig;
use caliper_engine::metric::MetricSpec;
use caliper_types::outcome::Evaluation;
use caliper_types::sample::Sample;

use crate::DispatchError;
use crate::dispatcher::{Publisher, read_results};
use crate::protocol;
use crate::queue::{self, Connection};

/// What the service hears back: the evaluations of one sample (in the
/// order of the lock's metrics, `when`-filtered ones left out).
pub type OnResult = dyn Fn(Vec<Evaluation>) + Send + Sync;

/// The live queue of one `caliper serve` process.
pub struct LiveQueue {
    rt: tokio::runtime::Runtime,
    conn: Connection,
    settings: DispatchConfig,
    run: String,
    next: AtomicU64,
    lag: Arc<AtomicU64>,
}

impl LiveQueue {
    /// Connects to `url`; every result of this process's jobs goes to
    /// `on_result`, every refusal is logged.
    pub fn start(
        url: &str,
        settings: &DispatchConfig,
        on_result: Arc<OnResult>,
    ) -> Result<LiveQueue, DispatchError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("caliper-live")
            .enable_all()
            .build()
            .map_err(DispatchError::Runtime)?;
        // A request waits for its jobs to be stored: at most a few seconds,
        // not a batch run's stall timeout.
        let settings = &DispatchConfig {
            stall_timeout_ms: settings.stall_timeout_ms.min(5_000),
            ..settings.clone()
        };
        let conn = rt.block_on(queue::connect(url, settings))?;
        let consumer = rt.block_on(queue::workers_consumer(&conn, settings))?;
        let run = format!(
            "ingest-{:x}{:x}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis()),
            std::process::id()
        );
        let subject = protocol::result_subject(&settings.subject_prefix, &run);
        let handle = move |result: protocol::JobResult| {
            if let Some(why) = &result.refused {
                tracing::warn!(worker = %result.worker, "a worker refused live traffic: {why}");
                return;
            }
            for sample in result.evaluations {
                on_result(sample.into_iter().flatten().collect());
            }
        };
        rt.spawn(read_results(
            conn.results.clone(),
            subject,
            conn.reconnected.clone(),
            handle,
        ));
        let lag = Arc::new(AtomicU64::new(0));
        {
            let lag = lag.clone();
            let mut consumer = consumer;
            rt.spawn(async move {
                loop {
                    if let Ok(info) = consumer.info().await {
                        lag.store(info.num_pending, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
        }
        tracing::info!(url, run = %run, "ingested samples go to the worker pool");
        Ok(LiveQueue {
            rt,
            conn,
            settings: settings.clone(),
            run,
            next: AtomicU64::new(0),
            lag,
        })
    }

    /// Jobs waiting for a worker (all of the queue's, not only this
    /// process's).
    pub fn lag(&self) -> u64 {
        self.lag.load(Ordering::Relaxed)
    }

    /// Publishes `samples` for the metrics `specs` and waits until the
    /// server has stored every job. Blocking: call it off the async
    /// runtime.
    pub fn publish(&self, samples: &[Sample], specs: &[Arc<MetricSpec>]) -> Result<(), String> {
        let lock = protocol::lock_digest(&protocol::lock(specs));
        let publisher = Publisher {
            conn: &self.conn,
            settings: &self.settings,
            run: &self.run,
            lock: &lock,
        };
        let refs: Vec<&Sample> = samples.iter().collect();
        self.rt.block_on(async {
            for chunk in refs.chunks(16) {
                let first = self.next.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                let jobs = publisher.jobs(first, chunk)?;
                publisher.publish(jobs).await?;
            }
            Ok(())
        })
    }
}
