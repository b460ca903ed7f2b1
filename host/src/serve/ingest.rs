//! `POST /v1/ingest`: production traffic scored in the background.
//!
//! Samples go into a bounded queue drained by worker threads. A request is
//! accepted whole or refused whole (429, nothing queued), so the queue never
//! grows past its capacity and a client knows exactly what to retry. Every
//! accepted sample is scored, also at shutdown, which drains the queue; the
//! `accepted` and `scored` counters show it.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, bounded};

use super::telemetry::Telemetry;
use crate::registry::Registry;
use crate::sample::Sample;

/// The queue refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull {
    /// Samples queued when the request came.
    pub depth: usize,
    /// The queue's capacity.
    pub capacity: usize,
}

/// What happened to an accepted request's samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Receipt {
    /// Samples queued for scoring.
    pub queued: usize,
    /// Samples left out by the sampling rate.
    pub sampled_out: usize,
}

/// The bounded ingest queue and its workers.
pub struct IngestQueue {
    tx: Mutex<Option<Sender<Sample>>>,
    rx: Receiver<Sample>,
    capacity: usize,
    telemetry: Arc<Telemetry>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl IngestQueue {
    /// Starts `workers` threads scoring queued samples with the registry's
    /// current metrics.
    pub fn start(
        registry: Arc<Registry>,
        telemetry: Arc<Telemetry>,
        capacity: usize,
        workers: usize,
    ) -> std::io::Result<Arc<IngestQueue>> {
        let (tx, rx) = bounded(capacity);
        telemetry.queue_capacity.set(capacity as i64);
        let mut handles = Vec::new();
        for w in 0..workers.max(1) {
            let rx: Receiver<Sample> = rx.clone();
            let registry = registry.clone();
            let telemetry = telemetry.clone();
            handles.push(
                std::thread::Builder::new()
                    .name(format!("caliper-ingest-{w}"))
                    .spawn(move || {
                        for sample in rx.iter() {
                            score(&registry, &telemetry, &sample);
                            telemetry.queue_depth.set(rx.len() as i64);
                        }
                    })?,
            );
        }
        Ok(Arc::new(IngestQueue {
            tx: Mutex::new(Some(tx)),
            rx,
            capacity,
            telemetry,
            workers: Mutex::new(handles),
        }))
    }

    /// Queues the samples that pass the sampling `rate` (by a stable hash of
    /// their id), all or none.
    pub fn offer(&self, samples: Vec<Sample>, rate: f64) -> Result<Receipt, QueueFull> {
        let total = samples.len();
        let kept: Vec<Sample> = samples
            .into_iter()
            .filter(|s| sampled_in(&s.id, rate))
            .collect();
        let sampled_out = total - kept.len();
        // One producer at a time, so that the capacity check holds until
        // the samples are in.
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        let Some(tx) = tx.as_ref() else {
            return Err(QueueFull {
                depth: self.rx.len(),
                capacity: 0,
            });
        };
        let depth = tx.len();
        if depth + kept.len() > self.capacity {
            self.telemetry
                .ingest
                .with_label_values(&["rejected"])
                .inc_by(total as u64);
            return Err(QueueFull {
                depth,
                capacity: self.capacity,
            });
        }
        let queued = kept.len();
        for sample in kept {
            // Cannot fail: capacity was checked under the lock and the
            // receivers live as long as the queue.
            let _ = tx.try_send(sample);
        }
        self.telemetry
            .ingest
            .with_label_values(&["accepted"])
            .inc_by(queued as u64);
        self.telemetry
            .ingest
            .with_label_values(&["sampled_out"])
            .inc_by(sampled_out as u64);
        self.telemetry.queue_depth.set(tx.len() as i64);
        Ok(Receipt {
            queued,
            sampled_out,
        })
    }

    /// Samples waiting.
    pub fn depth(&self) -> usize {
        self.rx.len()
    }

    /// Stops accepting, scores everything queued, and waits for the workers.
    pub fn drain(&self) {
        drop(self.tx.lock().unwrap_or_else(|e| e.into_inner()).take());
        let workers = std::mem::take(&mut *self.workers.lock().unwrap_or_else(|e| e.into_inner()));
        for w in workers {
            let _ = w.join();
        }
        self.telemetry.queue_depth.set(0);
    }
}

fn score(registry: &Registry, telemetry: &Telemetry, sample: &Sample) {
    let snapshot = registry.snapshot();
    let prepared = sample.prepare();
    for metric in snapshot.serving() {
        for eval in metric.evaluate(&[(sample, &prepared)]) {
            telemetry.record(&eval, "ingest");
        }
    }
    telemetry.ingest.with_label_values(&["scored"]).inc();
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
    use super::sampled_in;

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
}
