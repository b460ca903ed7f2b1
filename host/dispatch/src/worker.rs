//! `caliper worker`: scores jobs from the shared pull consumer with the
//! metrics of its config.
//!
//! Each of `lanes` tasks asks for at most `fetch_batch` jobs at a time, so
//! a slow worker holds few jobs and the others take the rest. For each job:
//! a job that is not one is terminated (it can never succeed); a job whose
//! lock differs from this worker's is refused (the refusal is published so
//! the run fails naming both, and the job is left for another worker);
//! otherwise every metric scores the sample (on a blocking thread, with a
//! pooled set of instances), the result is published with its de-duplicating
//! id and waited for, and only then is the job acked (`double_ack`, so the
//! ack itself is confirmed). A failure to publish naks the job with a delay:
//! it is redelivered, here or elsewhere. While a job is being scored for
//! longer than a third of `ack_wait_ms`, the worker says it is in progress,
//! so a long evaluation is not mistaken for a dead worker.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, AckKind};
use caliper_config::DispatchConfig;
use caliper_engine::instance::MetricInstance;
use caliper_engine::metric::MetricSpec;
use caliper_engine::prepared::Prepare;
use caliper_types::outcome::Evaluation;
use caliper_types::sample::Sample;
use futures::StreamExt;
use serde::Serialize;

use crate::DispatchError;
use crate::protocol::{self, Job, JobResult};
use crate::queue;

/// What a worker did, as counters (also its Prometheus series).
#[derive(Debug, Default, Serialize)]
pub struct WorkerStats {
    /// Jobs scored and acked.
    pub processed: AtomicU64,
    /// The samples of those jobs.
    pub samples: AtomicU64,
    /// Of those, jobs delivered before (another worker died, or took too
    /// long).
    pub redelivered: AtomicU64,
    /// Jobs terminated (not a job) or left for redelivery (a failed
    /// publish).
    pub failed: AtomicU64,
    /// Jobs refused (another lock).
    pub refused: AtomicU64,
}

impl WorkerStats {
    /// The counters in Prometheus text format, labelled with the worker.
    pub fn prometheus(&self, worker: &str, lag: Option<u64>) -> String {
        let mut out = String::new();
        let w = worker.replace(['\\', '"', '\n'], "_");
        for (name, help, value) in [
            ("processed", "Jobs scored and acked.", &self.processed),
            (
                "samples",
                "Samples of the jobs scored and acked.",
                &self.samples,
            ),
            (
                "redelivered",
                "Jobs scored that had been delivered before.",
                &self.redelivered,
            ),
            (
                "failed",
                "Jobs terminated or left for redelivery.",
                &self.failed,
            ),
            ("refused", "Jobs refused: another lock.", &self.refused),
        ] {
            out.push_str(&format!(
                "# HELP caliper_worker_jobs_{name}_total {help}\n\
                 # TYPE caliper_worker_jobs_{name}_total counter\n\
                 caliper_worker_jobs_{name}_total{{worker=\"{w}\"}} {}\n",
                value.load(Ordering::Relaxed)
            ));
        }
        if let Some(lag) = lag {
            out.push_str(&format!(
                "# HELP caliper_worker_queue_lag Jobs waiting in the work queue.\n\
                 # TYPE caliper_worker_queue_lag gauge\n\
                 caliper_worker_queue_lag{{worker=\"{w}\"}} {lag}\n"
            ));
        }
        out
    }
}

/// A worker's settings.
pub struct WorkerOptions {
    /// The NATS server.
    pub url: String,
    /// `[dispatch]`.
    pub settings: DispatchConfig,
    /// This worker's name (in results and series).
    pub name: String,
    /// Jobs scored at once.
    pub lanes: usize,
    /// Set to stop: lanes finish the job in hand and return.
    pub stop: Arc<AtomicBool>,
}

/// Scores jobs until `options.stop` is set. `stats` counts what it does;
/// `lag` is refreshed with the number of jobs waiting.
pub fn run(
    specs: Vec<Arc<MetricSpec>>,
    options: WorkerOptions,
    stats: Arc<WorkerStats>,
    lag: Arc<AtomicU64>,
) -> Result<(), DispatchError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(options.lanes.max(1) * options.settings.fetch_batch.max(1) + 2)
        .thread_name("caliper-worker")
        .enable_all()
        .build()
        .map_err(DispatchError::Runtime)?;
    // A job must outlive its slowest evaluation (in-progress pings extend
    // it, but a metric's deadline alone must not reach it).
    if let Some(slowest) = specs.iter().max_by_key(|s| s.limits.timeout_ms)
        && slowest.limits.timeout_ms >= options.settings.ack_wait_ms
    {
        return Err(DispatchError::JetStream {
            what: "settings".into(),
            message: format!(
                "dispatch.ack_wait_ms = {} is not above metric `{}`'s timeout_ms = {}: jobs \
                 would be handed to another worker while this one still scores them",
                options.settings.ack_wait_ms, slowest.name, slowest.limits.timeout_ms
            ),
        });
    }
    rt.block_on(async move {
        let conn = queue::connect(&options.url, &options.settings).await?;
        let consumer = queue::workers_consumer(&conn, &options.settings).await?;
        let lock = protocol::lock_digest(&protocol::lock(&specs));
        tracing::info!(worker = %options.name, lanes = options.lanes, lock = %lock, "waiting for jobs");
        let pool: Arc<Mutex<Vec<Vec<MetricInstance>>>> = Arc::default();
        let shared = Arc::new(Lane {
            js: conn.js.clone(),
            specs,
            lock,
            pool,
            stats,
            settings: options.settings.clone(),
            name: options.name.clone(),
        });
        let mut tasks = Vec::new();
        for _ in 0..options.lanes.max(1) {
            let consumer = consumer.clone();
            let lane = shared.clone();
            let stop = options.stop.clone();
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let batch = consumer
                        .fetch()
                        .max_messages(lane.settings.fetch_batch.max(1))
                        .expires(Duration::from_millis(500))
                        .messages()
                        .await;
                    let mut batch = match batch {
                        Ok(b) => b,
                        Err(e) => {
                            tracing::debug!("fetching jobs: {e}");
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            continue;
                        }
                    };
                    // The jobs of a batch are scored side by side (each on
                    // a blocking thread of its own).
                    let mut jobs = Vec::new();
                    while let Some(message) = batch.next().await {
                        match message {
                            Ok(message) => jobs.push(message),
                            Err(e) => {
                                tracing::debug!("receiving a job: {e}");
                                break;
                            }
                        }
                    }
                    futures::future::join_all(jobs.into_iter().map(|m| lane.handle(m))).await;
                }
            }));
        }
        // The queue's lag, for the series.
        {
            let mut consumer = consumer.clone();
            let stop = options.stop.clone();
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(info) = consumer.info().await {
                        lag.store(info.num_pending, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
        }
        for t in tasks {
            let _ = t.await;
        }
        Ok(())
    })
}

/// What every lane of a worker shares.
struct Lane {
    js: jetstream::Context,
    specs: Vec<Arc<MetricSpec>>,
    lock: String,
    pool: Arc<Mutex<Vec<Vec<MetricInstance>>>>,
    stats: Arc<WorkerStats>,
    settings: DispatchConfig,
    name: String,
}

impl Lane {
    async fn handle(&self, message: jetstream::Message) {
        let delivered = message.info().map_or(1, |i| i.delivered.max(1));
        let redelivered = delivered > 1;
        // Each redelivery waits longer before the next (1 s, 2 s, … 30 s).
        let shift = (delivered - 1).clamp(0, 5) as u32;
        let backoff = Duration::from_secs(1u64 << shift).min(Duration::from_secs(30));
        let Ok(job) = serde_json::from_slice::<Job>(&message.payload) else {
            tracing::warn!(subject = %message.subject, "not a job; terminated");
            self.stats.failed.fetch_add(1, Ordering::Relaxed);
            let _ = message.ack_with(AckKind::Term).await;
            return;
        };
        let wanted = message
            .headers
            .as_ref()
            .and_then(|h| h.get(protocol::LOCK_HEADER))
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default();
        let (count, result) = if wanted != self.lock {
            self.stats.refused.fetch_add(1, Ordering::Relaxed);
            (
                0,
                JobResult {
                    index: job.index,
                    worker: self.name.clone(),
                    evaluations: Vec::new(),
                    refused: Some(format!(
                        "its metrics (lock {}) are not this run's (lock {wanted}): start workers \
                     with the run's caliper.toml and components",
                        self.lock
                    )),
                },
            )
        } else {
            let specs = self.specs.clone();
            let pool = self.pool.clone();
            let samples = job.samples;
            let count = samples.len() as u64;
            let scoring = tokio::task::spawn_blocking(move || score(&specs, &pool, &samples));
            // A long evaluation (a model call) tells the server it is still
            // at work, every third of ack_wait, so the job is not handed to
            // another worker meanwhile.
            let every = Duration::from_millis((self.settings.ack_wait_ms / 3).max(100));
            tokio::pin!(scoring);
            let evaluations = loop {
                tokio::select! {
                    done = &mut scoring => break done,
                    () = tokio::time::sleep(every) => {
                        let _ = message.ack_with(AckKind::Progress).await;
                    }
                }
            };
            match evaluations {
                Ok(evaluations) => (
                    count,
                    JobResult {
                        index: job.index,
                        worker: self.name.clone(),
                        evaluations,
                        refused: None,
                    },
                ),
                Err(e) => {
                    tracing::warn!("scoring job {} failed: {e}; left for redelivery", job.index);
                    self.stats.failed.fetch_add(1, Ordering::Relaxed);
                    let _ = message.ack_with(AckKind::Nak(Some(backoff))).await;
                    return;
                }
            }
        };
        let refused = result.refused.is_some();
        if let Err(e) = self.publish(&job.run, &result).await {
            tracing::warn!(
                "publishing the result of job {}: {e}; left for redelivery",
                job.index
            );
            self.stats.failed.fetch_add(1, Ordering::Relaxed);
            let _ = message.ack_with(AckKind::Nak(Some(backoff))).await;
            return;
        }
        if refused {
            // Left for a worker with the run's lock (the run fails anyway).
            let _ = message.ack_with(AckKind::Nak(Some(backoff))).await;
            return;
        }
        // Acked only now that the result is stored; confirmed, so a lost ack
        // is retried rather than assumed.
        for attempt in 0..5 {
            match message.double_ack().await {
                Ok(()) => break,
                Err(e) if attempt == 4 => {
                    tracing::warn!(
                        "acking job {}: {e} (it will be redelivered; its result is stored)",
                        job.index
                    )
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
        self.stats.processed.fetch_add(1, Ordering::Relaxed);
        self.stats.samples.fetch_add(count, Ordering::Relaxed);
        if redelivered {
            self.stats.redelivered.fetch_add(1, Ordering::Relaxed);
        }
    }

    async fn publish(&self, run: &str, result: &JobResult) -> Result<(), String> {
        let payload: bytes::Bytes = serde_json::to_vec(result)
            .map_err(|e| e.to_string())?
            .into();
        let subject = protocol::result_subject(&self.settings.subject_prefix, run);
        let id = protocol::result_id(run, result.index, &self.lock);
        let mut last = String::new();
        for attempt in 0..20u32 {
            let mut headers = HeaderMap::new();
            headers.insert(protocol::MSG_ID, id.as_str());
            let sent = async {
                self.js
                    .publish_with_headers(subject.clone(), headers, payload.clone())
                    .await
                    .map_err(|e| e.to_string())?
                    .await
                    .map_err(|e| e.to_string())
            };
            match sent.await {
                Ok(_) => return Ok(()),
                Err(e) => last = e,
            }
            tokio::time::sleep(Duration::from_millis(100 << attempt.min(4))).await;
        }
        Err(last)
    }
}

/// Every metric over the samples of a job, with instances from the pool.
fn score(
    specs: &[Arc<MetricSpec>],
    pool: &Mutex<Vec<Vec<MetricInstance>>>,
    samples: &[Sample],
) -> Vec<Vec<Option<Evaluation>>> {
    let mut instances = pool
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .pop()
        .unwrap_or_else(|| specs.iter().cloned().map(MetricInstance::new).collect());
    let out = samples
        .iter()
        .map(|sample| {
            let prepared = sample.prepare();
            instances
                .iter_mut()
                .map(|instance| {
                    instance
                        .spec()
                        .when
                        .matches(sample)
                        .then(|| instance.evaluate_batch(&[&prepared]).remove(0))
                })
                .collect()
        })
        .collect();
    pool.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(instances);
    out
}
