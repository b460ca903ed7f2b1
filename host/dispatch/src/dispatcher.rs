//! `caliper run --dispatch`: a run's samples published as jobs, their
//! results collected, as a [`Remote`] the runner calls from each of its
//! lanes.
//!
//! A lane's chunk (16 samples) becomes one job, or several when it does not
//! fit the server's `max_payload`; a job is named by the run and the
//! position of its first sample, published with that as its message id,
//! retried on any failure (a server restart, a lost ack) until
//! `stall_timeout_ms`, and stored once. One task reads the run's results
//! (an ordered consumer from the start of the run's subject, started again
//! after a reconnect) and hands each to the lane waiting for it; a second
//! answer for a job (redelivered and scored again) finds nobody waiting and
//! is dropped. A refusal (a worker with another lock) fails the run at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use async_nats::jetstream::consumer;
use caliper_config::DispatchConfig;
use caliper_engine::metric::MetricSpec;
use caliper_run::runner::Remote;
use caliper_types::outcome::Evaluation;
use caliper_types::sample::Sample;
use futures::StreamExt;
use tokio::sync::oneshot;

use crate::DispatchError;
use crate::protocol::{self, Job, JobResult};
use crate::queue::{self, Connection};

type Waiters = Arc<Mutex<HashMap<u64, oneshot::Sender<JobResult>>>>;

/// A run being scored by the worker pool.
pub struct Dispatcher {
    rt: tokio::runtime::Runtime,
    conn: Connection,
    settings: DispatchConfig,
    run: String,
    lock: String,
    next: AtomicU64,
    waiters: Waiters,
    /// Answers that found nobody waiting (duplicates).
    duplicates: Arc<AtomicU64>,
}

impl Dispatcher {
    /// Connects to `url` for a run of `specs` with id `run` (unique per run:
    /// it names the subjects and the message ids).
    pub fn start(
        url: &str,
        settings: &DispatchConfig,
        specs: &[Arc<MetricSpec>],
        run: &str,
    ) -> Result<Dispatcher, DispatchError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("caliper-dispatch")
            .enable_all()
            .build()
            .map_err(DispatchError::Runtime)?;
        let conn = rt.block_on(queue::connect(url, settings))?;
        let lock = protocol::lock_digest(&protocol::lock(specs));
        let waiters: Waiters = Arc::default();
        let duplicates = Arc::new(AtomicU64::new(0));
        let subject = protocol::result_subject(&settings.subject_prefix, run);
        // Fails early when the results stream cannot be read at all.
        rt.block_on(conn.results.clone().info())
            .map_err(|e| DispatchError::JetStream {
                what: format!("reading {subject}"),
                message: e.to_string(),
            })?;
        {
            let waiters = waiters.clone();
            let duplicates = duplicates.clone();
            let stream = conn.results.clone();
            let reconnected = conn.reconnected.clone();
            let handle = move |result: JobResult| {
                let waiter = waiters
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&result.index);
                match waiter {
                    Some(tx) => {
                        let _ = tx.send(result);
                    }
                    None => {
                        duplicates.fetch_add(1, Ordering::Relaxed);
                    }
                }
            };
            rt.spawn(read_results(stream, subject, reconnected, handle));
        }
        Ok(Dispatcher {
            rt,
            conn,
            settings: settings.clone(),
            run: run.to_owned(),
            lock,
            next: AtomicU64::new(0),
            waiters,
            duplicates,
        })
    }

    /// Answers that arrived for a sample already answered.
    pub fn duplicates(&self) -> u64 {
        self.duplicates.load(Ordering::Relaxed)
    }

    /// Removes what is left of the run from both streams (its results, and
    /// jobs of a run that failed or was interrupted).
    pub fn finish(&self) {
        let prefix = &self.settings.subject_prefix;
        let jobs = protocol::job_subject(prefix, &self.run);
        let results = protocol::result_subject(prefix, &self.run);
        self.rt.block_on(async {
            for (stream, subject) in [(&self.conn.jobs, jobs), (&self.conn.results, results)] {
                if let Err(e) = stream.purge().filter(subject.clone()).await {
                    tracing::warn!("could not purge {subject}: {e}");
                }
            }
        });
    }

    fn publisher(&self) -> Publisher<'_> {
        Publisher {
            conn: &self.conn,
            settings: &self.settings,
            run: &self.run,
            lock: &self.lock,
        }
    }
}

/// Publishes the jobs of one run (or of the live traffic).
pub(crate) struct Publisher<'a> {
    pub(crate) conn: &'a Connection,
    pub(crate) settings: &'a DispatchConfig,
    pub(crate) run: &'a str,
    pub(crate) lock: &'a str,
}

impl Publisher<'_> {
    /// The jobs of `samples` (positions from `first`): consecutive samples
    /// each, as many as fit the server's `max_payload`.
    pub(crate) fn jobs(
        &self,
        first: u64,
        samples: &[&Sample],
    ) -> Result<Vec<(u64, bytes::Bytes)>, String> {
        let max = self.conn.max_payload().unwrap_or(1 << 20);
        let encode = |index: u64, part: &[&Sample]| {
            serde_json::to_vec(&Job {
                run: self.run.to_owned(),
                index,
                samples: part.iter().map(|s| (*s).clone()).collect(),
            })
            .map_err(|e| e.to_string())
        };
        let mut jobs = Vec::new();
        let mut start = 0;
        while start < samples.len() {
            // The longest run of samples from `start` that fits.
            let mut end = samples.len();
            loop {
                let index = first + start as u64;
                let payload = encode(index, &samples[start..end])?;
                if payload.len() <= max {
                    jobs.push((index, payload.into()));
                    break;
                }
                if end - start == 1 {
                    return Err(format!(
                        "sample {index} ({}) is {} bytes as a job, more than the NATS server's \
                         max_payload of {max} bytes (raise max_payload in its config)",
                        samples[start].id,
                        payload.len(),
                    ));
                }
                end = start + (end - start) / 2;
            }
            start = end;
        }
        Ok(jobs)
    }

    /// Publishes `jobs`: all sent at once, their acks awaited together; a
    /// job whose publish failed (a server restart, a lost ack) is sent again
    /// with the same message id, until `stall_timeout_ms`.
    pub(crate) async fn publish(
        &self,
        mut pending: Vec<(u64, bytes::Bytes)>,
    ) -> Result<(), String> {
        let subject = protocol::job_subject(&self.settings.subject_prefix, self.run);
        let until = Instant::now() + Duration::from_millis(self.settings.stall_timeout_ms);
        let mut wait = Duration::from_millis(50);
        loop {
            let mut acks = Vec::with_capacity(pending.len());
            for (index, payload) in &pending {
                let mut headers = HeaderMap::new();
                headers.insert(
                    protocol::MSG_ID,
                    protocol::job_id(self.run, *index).as_str(),
                );
                headers.insert(protocol::LOCK_HEADER, self.lock);
                let sent = self
                    .conn
                    .js
                    .publish_with_headers(subject.clone(), headers, payload.clone())
                    .await;
                acks.push(sent);
            }
            let mut failed = Vec::new();
            let mut last = String::new();
            for (ack, job) in acks.into_iter().zip(pending) {
                let stored = match ack {
                    Ok(future) => future.await.map(|_| ()).map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                if let Err(e) = stored {
                    last = e;
                    failed.push(job);
                }
            }
            if failed.is_empty() {
                return Ok(());
            }
            if Instant::now() >= until {
                return Err(format!(
                    "cannot publish {} jobs to {subject} (the first: {}): {last}",
                    failed.len(),
                    failed[0].0
                ));
            }
            tracing::debug!("publishing {} jobs again: {last}", failed.len());
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(2));
            pending = failed;
        }
    }
}

/// Hands every result on `subject` to `handle`, for as long as the runtime
/// lives. An ordered consumer from the start of the subject; when it ends
/// or fails (the server restarted and lost the ephemeral consumer), a new
/// one starts after the last result seen.
pub(crate) async fn read_results(
    stream: async_nats::jetstream::stream::Stream,
    subject: String,
    reconnected: Arc<tokio::sync::Notify>,
    handle: impl Fn(JobResult) + Send + 'static,
) {
    let mut after: Option<u64> = None;
    loop {
        let deliver_policy = match after {
            None => consumer::DeliverPolicy::All,
            Some(seq) => consumer::DeliverPolicy::ByStartSequence {
                start_sequence: seq + 1,
            },
        };
        let messages = async {
            stream
                .create_consumer(consumer::pull::OrderedConfig {
                    filter_subject: subject.clone(),
                    deliver_policy,
                    ..Default::default()
                })
                .await
                .map_err(|e| e.to_string())?
                .messages()
                .await
                .map_err(|e| e.to_string())
        };
        let mut messages = match messages.await {
            Ok(m) => m,
            Err(e) => {
                tracing::debug!("reading {subject} again: {e}");
                tokio::time::sleep(Duration::from_millis(250)).await;
                continue;
            }
        };
        loop {
            let message = tokio::select! {
                m = messages.next() => m,
                // A new connection: the server may have lost the consumer.
                () = reconnected.notified() => break,
            };
            let message = match message {
                Some(Ok(m)) => m,
                Some(Err(e)) => {
                    tracing::debug!("reading {subject}: {e}; reading again");
                    break;
                }
                None => break,
            };
            if let Ok(info) = message.info() {
                after = Some(info.stream_sequence);
            }
            let Ok(result) = serde_json::from_slice::<JobResult>(&message.payload) else {
                tracing::warn!(subject = %message.subject, "a result that is not one; ignored");
                continue;
            };
            handle(result);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

impl Remote for Dispatcher {
    fn score(&self, samples: &[&Sample]) -> Result<Vec<Vec<Option<Evaluation>>>, String> {
        self.rt.block_on(async {
            let first = self
                .next
                .fetch_add(samples.len() as u64, Ordering::Relaxed);
            let publisher = self.publisher();
            let jobs = publisher.jobs(first, samples)?;
            let mut pending = Vec::with_capacity(jobs.len());
            {
                let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
                for (index, _) in &jobs {
                    let (tx, rx) = oneshot::channel();
                    waiters.insert(*index, tx);
                    pending.push((*index, rx));
                }
            }
            publisher.publish(jobs).await?;
            let stall = Duration::from_millis(self.settings.stall_timeout_ms);
            let mut out = Vec::with_capacity(samples.len());
            for (index, rx) in pending {
                let result = match tokio::time::timeout(stall, rx).await {
                    Ok(Ok(result)) => result,
                    Ok(Err(_)) => return Err(format!("the result reader stopped (job {index})")),
                    Err(_) => {
                        return Err(format!(
                            "no result for sample {index} within {} ms (dispatch.stall_timeout_ms): \
                             is a `caliper worker` with this config running against this server?",
                            self.settings.stall_timeout_ms
                        ));
                    }
                };
                if let Some(why) = result.refused {
                    return Err(format!("worker {} refused the run: {why}", result.worker));
                }
                out.extend(result.evaluations);
            }
            if out.len() != samples.len() {
                return Err(format!(
                    "the workers answered {} of {} samples from {first}",
                    out.len(),
                    samples.len()
                ));
            }
            Ok(out)
        })
    }
}
