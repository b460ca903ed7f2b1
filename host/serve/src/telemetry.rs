//! The Prometheus metrics of `caliper serve` (`GET /metrics`, text format).
//!
//! Names follow Prometheus conventions (`_total` counters, `_seconds`
//! durations); `caliper alerts` writes rules against these names, so they are
//! part of Caliper's interface.
//!
//! Every counter a rule or dashboard rates exists at 0 from the first
//! scrape ([`Telemetry::declare`], at start and after every reload): each
//! configured metric × version × outcome × source, each reload result, each
//! shed reason, so `rate()` sees the first burst after a restart.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::admission::Bound;
use crate::registry::{MetricStatus, ReloadEvent, ReloadResult, Snapshot};
use caliper_types::outcome::{Evaluation, Status};

/// Counter of evaluations, by metric, version and outcome.
pub const EVALUATIONS: &str = "caliper_evaluations_total";
/// Counter of reloads, by metric and result.
pub const RELOADS: &str = "caliper_reloads_total";
/// Counter of requests and connections refused by a bound, by bound.
pub const SHED: &str = "caliper_shed_total";

/// Buckets of evaluation latency: 10 µs to 2.5 s.
const LATENCY_BUCKETS: &[f64] = &[
    1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5,
    1.0, 2.5,
];
/// Buckets of metric values: fractions, counts and milliseconds alike.
const VALUE_BUCKETS: &[f64] = &[
    0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0, 2.0, 5.0, 10.0, 50.0, 100.0, 500.0, 1e3, 5e3,
    1e4, 1e5,
];

/// All series of the service.
pub struct Telemetry {
    registry: Registry,
    /// Serialises [`Telemetry::render`], which resets and refills gauges.
    render_lock: std::sync::Mutex<()>,
    evaluations: IntCounterVec,
    values: HistogramVec,
    latency: HistogramVec,
    reloads: IntCounterVec,
    config_reloads: IntCounterVec,
    metric_info: IntGaugeVec,
    metric_up: IntGaugeVec,
    last_reload_success: IntGaugeVec,
    last_reload_time: IntGaugeVec,
    /// Samples currently queued for ingest.
    pub queue_depth: IntGauge,
    /// Capacity of the ingest queue.
    pub queue_capacity: IntGauge,
    /// Ingested samples by result: accepted, rejected, sampled_out, scored.
    pub ingest: IntCounterVec,
    /// Jobs waiting for a worker (`[dispatch] ingest`).
    pub dispatch_lag: IntGauge,
    /// Spans received at `/v1/traces`, by result.
    pub otlp_spans: IntCounterVec,
    /// Evaluation events sent to `serve.otlp_endpoint`, by result.
    pub otlp_events: IntCounterVec,
    /// Guardrail verdicts.
    pub verdicts: IntCounterVec,
    /// HTTP requests by route and status code.
    pub requests: IntCounterVec,
    /// HTTP request latency by route.
    pub request_latency: HistogramVec,
    /// Requests (and connections) refused by a bound.
    shed: IntCounterVec,
    /// Evaluations running on the request path.
    pub in_flight: IntGauge,
    /// Guest memory reserved by running evaluations, in MiB.
    pub memory_reserved: IntGauge,
    /// Open client connections.
    pub connections: IntGauge,
    idle_instances: IntGaugeVec,
}

impl Telemetry {
    /// Registers every series.
    pub fn new() -> Telemetry {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter");
            registry.register(Box::new(c.clone())).expect("unique");
            c
        };
        let gauge_vec = |name: &str, help: &str, labels: &[&str]| {
            let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid gauge");
            registry.register(Box::new(g.clone())).expect("unique");
            g
        };
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("valid gauge");
            registry.register(Box::new(g.clone())).expect("unique");
            g
        };
        let histogram = |name: &str, help: &str, labels: &[&str], buckets: &[f64]| {
            let h = HistogramVec::new(
                HistogramOpts::new(name, help).buckets(buckets.to_vec()),
                labels,
            )
            .expect("valid histogram");
            registry.register(Box::new(h.clone())).expect("unique");
            h
        };
        Telemetry {
            evaluations: counter(
                EVALUATIONS,
                "Evaluations by metric instance, version, outcome and source (evaluate or ingest).",
                &["metric", "version", "outcome", "source"],
            ),
            values: histogram(
                "caliper_metric_value",
                "Values returned by metrics.",
                &["metric", "version"],
                VALUE_BUCKETS,
            ),
            latency: histogram(
                "caliper_evaluation_duration_seconds",
                "Time to evaluate one sample with one metric, inside the sandbox.",
                &["metric"],
                LATENCY_BUCKETS,
            ),
            reloads: counter(
                RELOADS,
                "Metric (re)loads by result: loaded, reloaded, failed, removed.",
                &["metric", "result"],
            ),
            config_reloads: counter(
                "caliper_config_reloads_total",
                "Reloads of caliper.toml by result.",
                &["result"],
            ),
            metric_info: gauge_vec(
                "caliper_metric_info",
                "The version serving for each metric instance (value always 1).",
                &["metric", "name", "version", "digest", "stage", "owner"],
            ),
            metric_up: gauge_vec(
                "caliper_metric_up",
                "1 when the metric answers, 0 when it failed to load or was removed.",
                &["metric"],
            ),
            last_reload_success: gauge_vec(
                "caliper_metric_last_reload_success",
                "1 when the last (re)load of the metric succeeded.",
                &["metric"],
            ),
            last_reload_time: gauge_vec(
                "caliper_metric_last_reload_timestamp_seconds",
                "Unix time of the last (re)load attempt of the metric.",
                &["metric"],
            ),
            queue_depth: gauge(
                "caliper_ingest_queue_depth",
                "Samples waiting in the ingest queue.",
            ),
            queue_capacity: gauge(
                "caliper_ingest_queue_capacity",
                "Capacity of the ingest queue.",
            ),
            ingest: counter(
                "caliper_ingest_samples_total",
                "Ingested samples by result: accepted, rejected (queue full), sampled_out, scored, \
                 dropped (left when the shutdown drain deadline passed).",
                &["result"],
            ),
            dispatch_lag: gauge(
                "caliper_dispatch_queue_lag",
                "Jobs waiting for a worker in the dispatch work queue ([dispatch] ingest; 0 otherwise).",
            ),
            otlp_spans: counter(
                "caliper_otlp_spans_total",
                "Spans received at /v1/traces by result: sample (an LLM span, queued for scoring \
                 unless sampled out or refused), ignored (no LLM content), rejected (unreadable).",
                &["result"],
            ),
            otlp_events: counter(
                "caliper_otlp_events_total",
                "Evaluation events for serve.otlp_endpoint by result: exported, failed (the \
                 endpoint refused them after retries), dropped (export queue full, or shutdown).",
                &["result"],
            ),
            verdicts: counter(
                "caliper_guardrail_verdicts_total",
                "Verdicts of /v1/evaluate requests: allow or block.",
                &["verdict"],
            ),
            requests: counter(
                "caliper_http_requests_total",
                "HTTP requests by route and status code.",
                &["route", "code"],
            ),
            request_latency: histogram(
                "caliper_http_request_duration_seconds",
                "HTTP request latency by route, as seen by the server.",
                &["route"],
                LATENCY_BUCKETS,
            ),
            shed: counter(
                SHED,
                "Requests refused with 503 (ingest: 429) because a bound was full, by bound: \
                 concurrency, metric_concurrency, memory, connections, ingest_queue.",
                &["reason"],
            ),
            in_flight: gauge(
                "caliper_evaluations_in_flight",
                "Metric evaluations running for /v1/evaluate requests.",
            ),
            memory_reserved: gauge(
                "caliper_guest_memory_reserved_mib",
                "Guest memory reserved by running evaluations (their metrics' memory_mib), in MiB.",
            ),
            connections: gauge("caliper_http_connections", "Open client connections."),
            idle_instances: gauge_vec(
                "caliper_idle_instances",
                "Idle live instances pooled for reuse, by metric.",
                &["metric"],
            ),
            registry,
            render_lock: std::sync::Mutex::new(()),
        }
    }

    /// Counts a request or connection refused by `bound`.
    pub fn shed(&self, bound: Bound) {
        self.shed.with_label_values(&[bound.as_str()]).inc();
    }

    /// Makes every series a rule may rate exist (at 0 unless counted
    /// already) for the metrics of `snapshot`: call at start and after
    /// every reload.
    pub fn declare(&self, snapshot: &Snapshot) {
        for m in &snapshot.metrics {
            for result in [
                ReloadResult::Loaded,
                ReloadResult::Reloaded,
                ReloadResult::Failed,
                ReloadResult::Removed,
            ] {
                self.reloads
                    .with_label_values(&[m.name.as_str(), result.as_str()])
                    .inc_by(0);
            }
            if let Some(live) = &m.live {
                let version = live.spec.plugin.descriptor.version.as_str();
                for outcome in Status::ALL {
                    for source in ["evaluate", "ingest"] {
                        self.evaluations
                            .with_label_values(&[
                                m.name.as_str(),
                                version,
                                outcome.as_str(),
                                source,
                            ])
                            .inc_by(0);
                    }
                }
            }
        }
        for bound in Bound::ALL {
            self.shed.with_label_values(&[bound.as_str()]).inc_by(0);
        }
    }

    /// Counts one evaluation.
    pub fn record(&self, e: &Evaluation, source: &str) {
        self.evaluations
            .with_label_values(&[&e.metric, &e.version, e.outcome.as_str(), source])
            .inc();
        if let Some(v) = e.value {
            self.values
                .with_label_values(&[&e.metric, &e.version])
                .observe(v);
        }
        self.latency
            .with_label_values(&[&e.metric])
            .observe(e.duration_us as f64 / 1e6);
    }

    /// Counts reloads.
    pub fn record_reloads(&self, events: &[ReloadEvent]) {
        for e in events {
            match &e.metric {
                Some(m) => self
                    .reloads
                    .with_label_values(&[m.as_str(), e.record.result.as_str()])
                    .inc(),
                None => self
                    .config_reloads
                    .with_label_values(&[e.record.result.as_str()])
                    .inc(),
            }
        }
    }

    /// Declares the initial load of every metric, so that reload counters
    /// exist (at 0 failures) from the first scrape.
    pub fn record_initial(&self, snapshot: &Snapshot) {
        for m in &snapshot.metrics {
            self.reloads
                .with_label_values(&[m.name.as_str(), m.last_reload.result.as_str()])
                .inc();
        }
        self.declare(snapshot);
        for verdict in ["allow", "block"] {
            self.verdicts.with_label_values(&[verdict]).inc_by(0);
        }
        for result in ["accepted", "rejected", "sampled_out", "scored", "dropped"] {
            self.ingest.with_label_values(&[result]).inc_by(0);
        }
        for result in ["sample", "ignored", "rejected"] {
            self.otlp_spans.with_label_values(&[result]).inc_by(0);
        }
    }

    /// The text exposition, with per-metric state gauges refreshed from
    /// `snapshot`.
    pub fn render(&self, snapshot: &Snapshot) -> String {
        let _one_at_a_time = self.render_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.metric_info.reset();
        self.metric_up.reset();
        self.last_reload_success.reset();
        self.last_reload_time.reset();
        self.idle_instances.reset();
        for m in &snapshot.metrics {
            if let Some(live) = &m.live {
                self.idle_instances
                    .with_label_values(&[m.name.as_str()])
                    .set(live.idle_instances() as i64);
                let d = &live.spec.plugin.descriptor;
                self.metric_info
                    .with_label_values(&[
                        m.name.as_str(),
                        &d.name,
                        &d.version,
                        &live.spec.plugin.digest,
                        live.stage().as_str(),
                        &d.owner,
                    ])
                    .set(1);
            }
            let up = matches!(m.status, MetricStatus::Serving | MetricStatus::Stale);
            self.metric_up
                .with_label_values(&[m.name.as_str()])
                .set(i64::from(up));
            self.last_reload_success
                .with_label_values(&[m.name.as_str()])
                .set(i64::from(
                    m.last_reload.result != crate::registry::ReloadResult::Failed,
                ));
            let at = m
                .last_reload
                .at
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            self.last_reload_time
                .with_label_values(&[m.name.as_str()])
                .set(at);
        }
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding cannot fail");
        String::from_utf8(out).expect("exposition is UTF-8")
    }
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry::new()
    }
}
