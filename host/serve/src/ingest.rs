//! `POST /v1/ingest`: production traffic scored in the background.
//!
//! Samples go into a queue bounded in samples and in bytes (each sample's
//! JSON size), drained by worker threads. A request is accepted whole or
//! refused whole (429, nothing queued), so the queue never grows past its
//! bounds and a client knows exactly what to retry. Workers take the same
//! per-metric slots and guest-memory budget as requests (waiting for them
//! rather than shedding), so ingest cannot push the service past its
//! bounds. Every accepted sample is scored, also at shutdown, which drains
//! the queue until `serve.drain_timeout_ms`; what is left then is dropped
//! and counted (`result="dropped"`). The `accepted`, `scored` and `dropped`
//! counters show it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::admission::Budget;
use crate::otlp_export::Exporter;
use crate::registry::Registry;
use crate::telemetry::Telemetry;
use caliper_dispatch::live::LiveQueue;
use caliper_types::sample::Sample;

/// The queue refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull {
    /// Samples queued when the request came.
    pub depth: usize,
    /// The queue's capacity in samples (0: shutting down).
    pub capacity: usize,
    /// Bytes queued when the request came.
    pub bytes: usize,
    /// The queue's capacity in bytes.
    pub max_bytes: usize,
}

/// What happened to an accepted request's samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Receipt {
    /// Samples queued for scoring.
    pub queued: usize,
    /// Samples left out by the sampling rate.
    pub sampled_out: usize,
}

/// A queued sample and the bytes it counts for.
struct Queued {
    sample: Sample,
    bytes: usize,
}

/// State the workers share.
struct Shared {
    registry: Arc<Registry>,
    telemetry: Arc<Telemetry>,
    memory: Arc<Budget>,
    /// Where evaluations of spans go as OTLP events, if anywhere.
    exporter: Option<Arc<Exporter>>,
    bytes: AtomicUsize,
    /// Set when shutdown begins draining: evaluations do not run past it,
    /// and samples not started by then are dropped.
    drain_deadline: Mutex<Option<Instant>>,
}

impl Shared {
    fn drain_deadline(&self) -> Option<Instant> {
        *self
            .drain_deadline
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn past_deadline(&self) -> bool {
        self.drain_deadline().is_some_and(|d| Instant::now() >= d)
    }
}

/// The bounded ingest queue and its workers.
pub struct IngestQueue {
    tx: Mutex<Option<Sender<Queued>>>,
    rx: Receiver<Queued>,
    capacity: usize,
    max_bytes: usize,
    shared: Arc<Shared>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    /// Where accepted samples go instead of the queue (`[dispatch] ingest`).
    live: Option<Arc<LiveQueue>>,
}

/// The bounds of the queue.
#[derive(Debug, Clone, Copy)]
pub struct QueueBounds {
    /// Most samples queued.
    pub capacity: usize,
    /// Most bytes queued.
    pub max_bytes: usize,
    /// Worker threads.
    pub workers: usize,
}

impl IngestQueue {
    /// Starts worker threads scoring queued samples with the registry's
    /// current metrics, within the guest `memory` budget.
    pub fn start(
        registry: Arc<Registry>,
        telemetry: Arc<Telemetry>,
        memory: Arc<Budget>,
        bounds: QueueBounds,
        exporter: Option<Arc<Exporter>>,
        live: Option<Arc<LiveQueue>>,
    ) -> std::io::Result<Arc<IngestQueue>> {
        let (tx, rx) = bounded(bounds.capacity);
        telemetry.queue_capacity.set(bounds.capacity as i64);
        let shared = Arc::new(Shared {
            registry,
            telemetry,
            memory,
            exporter,
            bytes: AtomicUsize::new(0),
            drain_deadline: Mutex::new(None),
        });
        let mut handles = Vec::new();
        for w in 0..bounds.workers.max(1) {
            let rx: Receiver<Queued> = rx.clone();
            let shared = shared.clone();
            handles.push(
                std::thread::Builder::new()
                    .name(format!("caliper-ingest-{w}"))
                    .spawn(move || {
                        for queued in rx.iter() {
                            shared.bytes.fetch_sub(queued.bytes, Ordering::SeqCst);
                            if shared.past_deadline() {
                                shared
                                    .telemetry
                                    .ingest
                                    .with_label_values(&["dropped"])
                                    .inc();
                            } else {
                                score(&shared, &queued.sample);
                            }
                            shared.telemetry.queue_depth.set(rx.len() as i64);
                        }
                    })?,
            );
        }
        Ok(Arc::new(IngestQueue {
            tx: Mutex::new(Some(tx)),
            rx,
            capacity: bounds.capacity,
            max_bytes: bounds.max_bytes,
            shared,
            workers: Mutex::new(handles),
            live,
        }))
    }

    /// Queues the samples that pass the sampling `rate` (by a stable hash of
    /// their id), all or none.
    pub fn offer(&self, samples: Vec<Sample>, rate: f64) -> Result<Receipt, QueueFull> {
        let total = samples.len();
        let kept: Vec<Queued> = samples
            .into_iter()
            .filter(|s| sampled_in(sampling_key(s), rate))
            .map(|sample| Queued {
                bytes: json_size(&sample),
                sample,
            })
            .collect();
        let sampled_out = total - kept.len();
        let incoming: usize = kept.iter().map(|q| q.bytes).sum();
        // One producer at a time, so that the bounds checked hold until the
        // samples are in.
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        let bytes = self.shared.bytes.load(Ordering::SeqCst);
        let Some(tx) = tx.as_ref() else {
            return Err(QueueFull {
                depth: self.rx.len(),
                capacity: 0,
                bytes,
                max_bytes: self.max_bytes,
            });
        };
        let depth = tx.len();
        if depth + kept.len() > self.capacity || bytes + incoming > self.max_bytes {
            let t = &self.shared.telemetry;
            t.ingest
                .with_label_values(&["rejected"])
                .inc_by(total as u64);
            t.shed(crate::admission::Bound::IngestQueue);
            return Err(QueueFull {
                depth,
                capacity: self.capacity,
                bytes,
                max_bytes: self.max_bytes,
            });
        }
        let queued = kept.len();
        self.shared.bytes.fetch_add(incoming, Ordering::SeqCst);
        for sample in kept {
            // Cannot fail: capacity was checked under the lock and the
            // receivers live as long as the queue.
            let _ = tx.try_send(sample);
        }
        let t = &self.shared.telemetry;
        t.ingest
            .with_label_values(&["accepted"])
            .inc_by(queued as u64);
        t.ingest
            .with_label_values(&["sampled_out"])
            .inc_by(sampled_out as u64);
        t.queue_depth.set(tx.len() as i64);
        Ok(Receipt {
            queued,
            sampled_out,
        })
    }

    /// The worker pool, when live traffic goes there (`[dispatch] ingest`).
    pub fn live(&self) -> Option<&Arc<LiveQueue>> {
        self.live.as_ref()
    }

    /// Publishes the samples that pass the sampling `rate` to the worker
    /// pool, all or none; returns when the server has stored them.
    /// Blocking: call it off the async runtime.
    pub fn offer_live(&self, samples: Vec<Sample>, rate: f64) -> Result<Receipt, String> {
        let live = self.live.as_ref().ok_or("no worker pool configured")?;
        let total = samples.len();
        let kept: Vec<Sample> = samples
            .into_iter()
            .filter(|s| sampled_in(sampling_key(s), rate))
            .collect();
        let specs: Vec<Arc<caliper_engine::metric::MetricSpec>> = self
            .shared
            .registry
            .snapshot()
            .serving()
            .map(|m| m.spec.clone())
            .collect();
        let ingest = &self.shared.telemetry.ingest;
        if let Err(e) = live.publish(&kept, &specs) {
            ingest
                .with_label_values(&["rejected"])
                .inc_by(kept.len() as u64);
            return Err(e);
        }
        ingest
            .with_label_values(&["accepted"])
            .inc_by(kept.len() as u64);
        ingest
            .with_label_values(&["sampled_out"])
            .inc_by((total - kept.len()) as u64);
        Ok(Receipt {
            queued: kept.len(),
            sampled_out: total - kept.len(),
        })
    }

    /// Samples waiting.
    pub fn depth(&self) -> usize {
        self.rx.len()
    }

    /// Stops accepting, scores what is queued until `deadline`, drops the
    /// rest, and waits for the workers (an evaluation in progress at the
    /// deadline ends within its metric's `timeout_ms`). Returns whether
    /// everything queued was scored.
    pub fn drain(&self, deadline: Instant) -> bool {
        drop(self.tx.lock().unwrap_or_else(|e| e.into_inner()).take());
        *self
            .shared
            .drain_deadline
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(deadline);
        let workers = std::mem::take(&mut *self.workers.lock().unwrap_or_else(|e| e.into_inner()));
        for w in workers {
            let _ = w.join();
        }
        if let Some(exporter) = &self.shared.exporter {
            exporter.flush(deadline);
        }
        self.shared.telemetry.queue_depth.set(0);
        Instant::now() < deadline
    }
}

/// Bytes of a sample's JSON form (what it costs to hold, roughly).
fn json_size(sample: &Sample) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = serde_json::to_writer(&mut count, sample);
    count.0
}

/// Scores one sample with every serving metric, each under one of its slots
/// and its memory reservation (waited for).
fn score(shared: &Shared, sample: &Sample) {
    let snapshot = shared.registry.snapshot();
    let give_up = || shared.past_deadline();
    for metric in snapshot.serving() {
        let Some(_slot) = metric.slots().take(1, &give_up) else {
            continue;
        };
        let Some(_memory) = shared.memory.take(metric.spec.limits.memory_mib, &give_up) else {
            continue;
        };
        let evaluations = metric.evaluate(std::slice::from_ref(sample), shared.drain_deadline());
        for eval in &evaluations {
            shared.telemetry.record(eval, "ingest");
        }
        if let Some(exporter) = &shared.exporter {
            exporter.offer(&sample.metadata, &evaluations);
        }
    }
    shared.telemetry.ingest.with_label_values(&["scored"]).inc();
}

/// What sampling hashes: the sample's `trace_id` metadata when it has one
/// (every span of a trace is kept or left out together), else its id.
fn sampling_key(sample: &Sample) -> &str {
    sample
        .metadata
        .get("trace_id")
        .and_then(|v| v.as_str())
        .unwrap_or(&sample.id)
}

/// Whether a sample is kept at sampling `rate`: a mixed FNV-1a of its id, so the
/// decision is the same on every replica and for every retry.
fn sampled_in(id: &str, rate: f64) -> bool {
    if rate >= 1.0 {
        return true;
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // Finalise (murmur3's mixer) so that the high bits depend on every byte.
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    (hash as f64 / u64::MAX as f64) < rate
}

#[cfg(test)]
mod tests {
    use super::{sampled_in, sampling_key};
    use caliper_types::sample::Sample;

    #[test]
    fn sampling_is_stable_and_close_to_the_rate() {
        let kept = (0..10_000)
            .filter(|i| sampled_in(&format!("req-{i}"), 0.25))
            .count();
        assert!((2200..2800).contains(&kept), "{kept}");
        assert_eq!(sampled_in("abc", 0.5), sampled_in("abc", 0.5));
        assert!(!sampled_in("abc", 0.0));
        assert!(sampled_in("abc", 1.0));
    }

    #[test]
    fn the_spans_of_one_trace_are_sampled_together() {
        let span = |trace: &str, span: &str| Sample {
            id: format!("{trace}:{span}"),
            metadata: serde_json::json!({"trace_id": trace})
                .as_object()
                .unwrap()
                .clone()
                .into(),
            ..Sample::default()
        };
        let mut kept_traces = 0;
        for t in 0..200 {
            let trace = format!("{t:032x}");
            let kept: Vec<bool> = (0..5)
                .map(|s| sampled_in(sampling_key(&span(&trace, &format!("{s:016x}"))), 0.5))
                .collect();
            assert!(
                kept.iter().all(|k| *k == kept[0]),
                "trace {trace}: {kept:?}"
            );
            kept_traces += usize::from(kept[0]);
        }
        assert!((60..140).contains(&kept_traces), "{kept_traces}");
        let plain = Sample {
            id: "req-1".into(),
            ..Sample::default()
        };
        assert_eq!(sampling_key(&plain), "req-1");
    }
}
