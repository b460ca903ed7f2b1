//! Evaluation events to an OTLP/HTTP endpoint (`serve.otlp_endpoint`): every
//! evaluation of a sample that came from a span (it carries `trace_id` and
//! `span_id` metadata) is sent as a `gen_ai.evaluation.result` log event
//! parented to that span, so the scores appear next to the trace in the
//! user's tracing backend.
//!
//! Off the scoring path: evaluations go into a bounded queue (a full queue
//! drops the event and counts it; scoring never waits on the backend), one
//! thread sends them in batches (up to [`BATCH`] events, or what arrived
//! within [`LINGER`]) as protobuf `POST …/v1/logs`, retrying 429 and 5xx
//! (honouring `Retry-After`, at most [`RETRIES`] times). At shutdown the
//! queue is flushed within the drain deadline. Counted in
//! `caliper_otlp_events_total{result}`: `exported`, `failed`, `dropped`.

use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use caliper_otel::events::{self, SpanEvaluation};
use caliper_types::outcome::Evaluation;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};
use prometheus::IntCounterVec;

/// Most events in one request.
pub const BATCH: usize = 512;
/// How long a partial batch waits for more events.
pub const LINGER: Duration = Duration::from_millis(200);
/// Retries of a batch the endpoint refused for now (429, 5xx, no answer).
pub const RETRIES: u32 = 3;
/// Events waiting to be sent, at most.
pub const QUEUE: usize = 16_384;

/// One event waiting: the span and the evaluation.
struct Pending {
    trace_id: String,
    span_id: String,
    evaluation: Evaluation,
}

/// The background sender of evaluation events.
pub struct Exporter {
    tx: Mutex<Option<Sender<Pending>>>,
    counts: IntCounterVec,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl Exporter {
    /// Starts sending to `endpoint` (an `http://` base URL; `/v1/logs` is
    /// added unless it is already there), as `service`.
    pub fn start(
        endpoint: &str,
        service: &str,
        counts: IntCounterVec,
    ) -> std::io::Result<Exporter> {
        let url = logs_url(endpoint);
        let (tx, rx) = bounded(QUEUE);
        for result in ["exported", "failed", "dropped"] {
            counts.with_label_values(&[result]).inc_by(0);
        }
        let service = service.to_owned();
        let thread_counts = counts.clone();
        let worker = std::thread::Builder::new()
            .name("caliper-otlp-export".into())
            .spawn(move || send_loop(&rx, &url, &service, &thread_counts))?;
        Ok(Exporter {
            tx: Mutex::new(Some(tx)),
            counts,
            worker: Mutex::new(Some(worker)),
        })
    }

    /// Queues the events of `evaluations` of `sample`, if it came from a
    /// span; a full queue drops them (counted).
    pub fn offer(
        &self,
        metadata: &serde_json::Map<String, serde_json::Value>,
        evaluations: &[Evaluation],
    ) {
        let (Some(trace_id), Some(span_id)) = (
            metadata.get("trace_id").and_then(|v| v.as_str()),
            metadata.get("span_id").and_then(|v| v.as_str()),
        ) else {
            return;
        };
        let guard = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        let Some(tx) = guard.as_ref() else {
            self.counts
                .with_label_values(&["dropped"])
                .inc_by(evaluations.len() as u64);
            return;
        };
        for e in evaluations {
            let pending = Pending {
                trace_id: trace_id.to_owned(),
                span_id: span_id.to_owned(),
                evaluation: e.clone(),
            };
            if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = tx.try_send(pending)
            {
                self.counts.with_label_values(&["dropped"]).inc();
            }
        }
    }

    /// Queues the events of `evaluations`, whose sample ids are
    /// `TRACE_ID:SPAN_ID` when they came from a span (the results the
    /// worker pool sends back carry no metadata).
    pub fn offer_by_id(&self, evaluations: &[Evaluation]) {
        let Some((trace, span)) = evaluations
            .first()
            .and_then(|e| e.sample_id.split_once(':'))
        else {
            return;
        };
        let mut metadata = serde_json::Map::new();
        metadata.insert("trace_id".into(), trace.into());
        metadata.insert("span_id".into(), span.into());
        self.offer(&metadata, evaluations);
    }

    /// Stops accepting events and sends what is queued, until `deadline`
    /// (what is left then is dropped and counted).
    pub fn flush(&self, deadline: Instant) {
        drop(self.tx.lock().unwrap_or_else(|e| e.into_inner()).take());
        let Some(worker) = self.worker.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return;
        };
        while !worker.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if worker.is_finished() {
            let _ = worker.join();
        }
    }
}

/// `…/v1/logs` of an endpoint given as a base URL (or already as the logs
/// URL).
pub fn logs_url(endpoint: &str) -> String {
    let trimmed = endpoint.trim_end_matches('/');
    if trimmed.ends_with("/v1/logs") {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/v1/logs")
    }
}

fn send_loop(rx: &Receiver<Pending>, url: &str, service: &str, counts: &IntCounterVec) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut batch: Vec<Pending> = Vec::with_capacity(BATCH);
    loop {
        // Wait for the first event, then up to LINGER for more.
        match rx.recv() {
            Ok(p) => batch.push(p),
            Err(_) => return,
        }
        let until = Instant::now() + LINGER;
        while batch.len() < BATCH {
            match rx.recv_deadline(until) {
                Ok(p) => batch.push(p),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let request = events::request(
            batch.iter().map(|p| SpanEvaluation {
                trace_id: &p.trace_id,
                span_id: &p.span_id,
                evaluation: &p.evaluation,
            }),
            service,
            now,
        );
        let sent = events::len(&request) as u64;
        // Events whose ids name no span are never sent.
        let unsendable = batch.len() as u64 - sent;
        counts.with_label_values(&["dropped"]).inc_by(unsendable);
        let body = events::encode(&request);
        match post(&agent, url, &body) {
            Ok(()) => counts.with_label_values(&["exported"]).inc_by(sent),
            Err(why) => {
                tracing::warn!(endpoint = url, events = sent, "OTLP export failed: {why}");
                counts.with_label_values(&["failed"]).inc_by(sent);
            }
        }
        batch.clear();
    }
}

/// Posts one batch, retrying what the endpoint refuses for now.
fn post(agent: &ureq::Agent, url: &str, body: &[u8]) -> Result<(), String> {
    let mut attempt = 0;
    loop {
        let wait = match agent
            .post(url)
            .header("Content-Type", "application/x-protobuf")
            .send(body)
        {
            Ok(response) => {
                let status = response.status().as_u16();
                if (200..300).contains(&status) {
                    return Ok(());
                }
                let retryable = status == 429 || (500..600).contains(&status);
                if !retryable || attempt >= RETRIES {
                    return Err(format!("HTTP {status}"));
                }
                response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map_or(backoff(attempt), |s| Duration::from_secs(s.min(30)))
            }
            Err(e) if attempt >= RETRIES => return Err(e.to_string()),
            Err(_) => backoff(attempt),
        };
        std::thread::sleep(wait);
        attempt += 1;
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200 << attempt.min(5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_logs_url_is_derived_from_a_base_url() {
        assert_eq!(
            logs_url("http://127.0.0.1:4318"),
            "http://127.0.0.1:4318/v1/logs"
        );
        assert_eq!(logs_url("http://c:4318/"), "http://c:4318/v1/logs");
        assert_eq!(logs_url("http://c:4318/v1/logs"), "http://c:4318/v1/logs");
    }
}
