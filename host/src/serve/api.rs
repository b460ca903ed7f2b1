//! The HTTP routes of `caliper serve` and their JSON shapes.
//!
//! | route              | what                                              |
//! |--------------------|---------------------------------------------------|
//! | `POST /v1/evaluate`| score samples now; guardrail verdict              |
//! | `POST /v1/ingest`  | queue samples for background scoring (202 / 429)  |
//! | `GET /v1/metrics`  | loaded metrics, versions, digests, reload status  |
//! | `GET /metrics`     | Prometheus text exposition                        |
//! | `GET /healthz`     | the process is up                                 |
//! | `GET /readyz`      | it serves metrics and is not shutting down        |
//!
//! Every error is a JSON body `{"error": {"code": ..., "message": ...}}`
//! with a 4xx/5xx status.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ingest::{IngestQueue, Receipt};
use super::telemetry::Telemetry;
use crate::config::{FailureMode, Stage};
use crate::dataset::Mapper;
use crate::outcome::{Evaluation, Status};
use crate::registry::{LiveMetric, MetricStatus, Registry, ReloadRecord, Snapshot};
use crate::sample::{PreparedSample, Sample};

/// Shared state of the handlers.
pub struct AppState {
    /// The live metrics.
    pub registry: Arc<Registry>,
    /// Prometheus series.
    pub telemetry: Arc<Telemetry>,
    /// Background scoring.
    pub ingest: Arc<IngestQueue>,
    /// Cleared when shutdown begins.
    pub ready: AtomicBool,
    /// Ingest requests so far (names samples that come without an id).
    pub ingest_requests: AtomicU64,
}

/// The router, with body limits and request accounting.
pub fn router(state: Arc<AppState>, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/v1/evaluate", post(evaluate))
        .route("/v1/ingest", post(ingest))
        .route("/v1/metrics", get(list_metrics))
        .route("/metrics", get(prometheus))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
}

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": {"code": self.code, "message": self.message}});
        (self.status, json_body(&body)).into_response()
    }
}

fn json_body<T: Serialize>(value: &T) -> ([(header::HeaderName, &'static str); 1], Vec<u8>) {
    let bytes = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    ([(header::CONTENT_TYPE, "application/json")], bytes)
}

async fn track(
    State(state): State<Arc<AppState>>,
    path: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = path.map_or_else(|| "other".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let t = &state.telemetry;
    t.requests
        .with_label_values(&[route.as_str(), response.status().as_str()])
        .inc();
    t.request_latency
        .with_label_values(&[route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such route; see /v1/evaluate, /v1/ingest, /v1/metrics, /metrics, /healthz, /readyz",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this route",
    )
}

/// The body of `/v1/evaluate` and `/v1/ingest`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SamplesRequest {
    /// One sample, shaped like a dataset line.
    sample: Option<Value>,
    /// Several samples, each shaped like a dataset line.
    samples: Option<Vec<Value>>,
    /// Only these metric instances (evaluate only).
    metrics: Option<Vec<String>>,
    /// A tighter deadline than the configured one, in milliseconds.
    deadline_ms: Option<u64>,
}

/// Parses a request body into samples with the config's input mapping.
/// Samples without an id get `<stem>:<n>` (n counts from 1 in the request).
fn parse_samples(
    body: Result<Bytes, BytesRejection>,
    snapshot: &Snapshot,
    stem: &str,
) -> Result<(SamplesRequest, Vec<Sample>), ApiError> {
    let body = body.map_err(|e| {
        let status = e.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "body_too_large"
        } else {
            "bad_body"
        };
        ApiError::new(status, code, e.body_text())
    })?;
    let mut request: SamplesRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    let records: Vec<Value> = match (request.sample.take(), request.samples.take()) {
        (Some(one), None) => vec![one],
        (None, Some(many)) => many,
        _ => {
            return Err(ApiError::bad_request(
                "give exactly one of `sample` (an object) or `samples` (an array)",
            ));
        }
    };
    let serve = &snapshot.config.serve;
    if records.is_empty() {
        return Err(ApiError::bad_request("`samples` is empty"));
    }
    if records.len() > serve.max_samples_per_request {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_samples",
            format!(
                "{} samples in one request; the limit is {} (serve.max_samples_per_request)",
                records.len(),
                serve.max_samples_per_request
            ),
        ));
    }
    let mapper = Mapper::new(Path::new(stem), snapshot.config.input.clone());
    let mut samples = Vec::with_capacity(records.len());
    for (i, record) in records.into_iter().enumerate() {
        let mapped = mapper
            .map(i as u64 + 1, record)
            .map_err(|e| ApiError::bad_request(format!("samples[{i}]: {}", e.message)))?;
        samples.extend(mapped);
    }
    Ok((request, samples))
}

/// One result line of `/v1/evaluate`: the evaluation plus what it meant for
/// the verdict.
#[derive(Debug, Serialize)]
struct ResultLine {
    #[serde(flatten)]
    evaluation: Evaluation,
    stage: Stage,
    blocking: bool,
}

/// A metric outcome that blocked the response.
#[derive(Debug, Serialize)]
struct Blocked {
    metric: String,
    sample_id: String,
    outcome: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

#[derive(Debug, Serialize)]
struct EvaluateResponse {
    verdict: &'static str,
    blocked_by: Vec<Blocked>,
    results: Vec<ResultLine>,
    duration_us: u64,
}

/// Whether an outcome of `metric` blocks the response: a `fail` of a metric
/// at the `gate` stage, or a failure to answer of a `fail_closed` one.
fn blocks(metric: &LiveMetric, outcome: Status) -> bool {
    metric.stage() == Stage::Gate
        && match outcome {
            Status::Fail => true,
            s if s.is_error() => metric.failure_mode() == FailureMode::FailClosed,
            _ => false,
        }
}

async fn evaluate(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let snapshot = state.registry.snapshot();
    let (request, samples) = parse_samples(body, &snapshot, "request")?;
    let metrics = select_metrics(&snapshot, request.metrics.as_deref())?;
    let timeout_ms = request
        .deadline_ms
        .unwrap_or(u64::MAX)
        .min(snapshot.config.serve.request_timeout_ms);
    let deadline = tokio::time::Instant::now() + Duration::from_millis(timeout_ms);

    let samples = Arc::new(samples);
    let prepared: Arc<Vec<PreparedSample>> =
        Arc::new(samples.iter().map(Sample::prepare).collect());
    let tasks: Vec<_> = metrics
        .iter()
        .map(|metric| {
            let (metric, samples, prepared) = (metric.clone(), samples.clone(), prepared.clone());
            tokio::task::spawn_blocking(move || {
                let pairs: Vec<(&Sample, &PreparedSample)> =
                    samples.iter().zip(prepared.iter()).collect();
                metric.evaluate(&pairs)
            })
        })
        .collect();

    let mut results = Vec::new();
    let mut blocked_by = Vec::new();
    for (metric, task) in metrics.iter().zip(tasks) {
        let evaluations = match tokio::time::timeout_at(deadline, task).await {
            Ok(Ok(evaluations)) => evaluations,
            Ok(Err(join_error)) => unanswered(
                metric,
                &samples,
                Status::Error,
                format!("evaluation task failed: {join_error}"),
                started,
            ),
            Err(_) => unanswered(
                metric,
                &samples,
                Status::Timeout,
                format!("no answer within the request deadline of {timeout_ms} ms"),
                started,
            ),
        };
        for evaluation in evaluations {
            state.telemetry.record(&evaluation, "evaluate");
            let blocking = blocks(metric, evaluation.outcome);
            if blocking {
                blocked_by.push(Blocked {
                    metric: evaluation.metric.clone(),
                    sample_id: evaluation.sample_id.clone(),
                    outcome: evaluation.outcome,
                    reason: evaluation.reason.clone(),
                });
            }
            results.push(ResultLine {
                evaluation,
                stage: metric.stage(),
                blocking,
            });
        }
    }
    let verdict = if blocked_by.is_empty() {
        "allow"
    } else {
        "block"
    };
    state.telemetry.verdicts.with_label_values(&[verdict]).inc();
    let response = EvaluateResponse {
        verdict,
        blocked_by,
        results,
        duration_us: started.elapsed().as_micros() as u64,
    };
    Ok(json_body(&response).into_response())
}

/// The metrics a request asked for (all serving ones by default).
fn select_metrics(
    snapshot: &Snapshot,
    names: Option<&[String]>,
) -> Result<Vec<Arc<LiveMetric>>, ApiError> {
    let Some(names) = names else {
        let all: Vec<_> = snapshot.serving().cloned().collect();
        if all.is_empty() {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "no_metrics",
                "no metric is serving; see GET /v1/metrics",
            ));
        }
        return Ok(all);
    };
    let mut out = Vec::with_capacity(names.len());
    let mut seen = std::collections::HashSet::new();
    for name in names {
        // A metric named twice runs once.
        if !seen.insert(name.as_str()) {
            continue;
        }
        let Some(entry) = snapshot.get(name) else {
            let known: Vec<&str> = snapshot.metrics.iter().map(|m| m.name.as_str()).collect();
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_metric",
                format!("no metric named `{name}`; known: {}", known.join(", ")),
            ));
        };
        match &entry.live {
            Some(live) => out.push(live.clone()),
            None => {
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "metric_unavailable",
                    format!(
                        "metric `{name}` is not serving ({:?}): {}",
                        entry.status,
                        entry
                            .last_reload
                            .error
                            .as_deref()
                            .unwrap_or("no version loaded")
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// Evaluations for the samples a metric applies to when it gave no answer.
fn unanswered(
    metric: &LiveMetric,
    samples: &[Sample],
    status: Status,
    reason: String,
    started: Instant,
) -> Vec<Evaluation> {
    samples
        .iter()
        .filter(|s| metric.spec.when.matches(s))
        .map(|s| {
            let mut e = metric.spec.evaluation(&s.id, status, Some(reason.clone()));
            e.duration_us = started.elapsed().as_micros() as u64;
            e
        })
        .collect()
}

#[derive(Debug, Serialize)]
struct IngestResponse {
    #[serde(flatten)]
    receipt: Receipt,
    queue_depth: usize,
}

async fn ingest(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let snapshot = state.registry.snapshot();
    // Ids for samples that come without one are unique per request, so that
    // sampling (a hash of the id) does not treat them all alike.
    let stem = format!(
        "ingest-{}",
        state.ingest_requests.fetch_add(1, Ordering::Relaxed)
    );
    let (request, samples) = parse_samples(body, &snapshot, &stem)?;
    if request.metrics.is_some() || request.deadline_ms.is_some() {
        return Err(ApiError::bad_request(
            "`metrics` and `deadline_ms` apply to /v1/evaluate only; ingest scores every metric",
        ));
    }
    match state
        .ingest
        .offer(samples, snapshot.config.serve.ingest_sample_rate)
    {
        Ok(receipt) => {
            let body = IngestResponse {
                receipt,
                queue_depth: state.ingest.depth(),
            };
            Ok((StatusCode::ACCEPTED, json_body(&body)).into_response())
        }
        Err(full) if full.capacity == 0 => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the service is shutting down and accepts no more samples",
        )),
        Err(full) => {
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "queue_full",
                format!(
                    "ingest queue holds {} of {} samples; nothing was queued, retry later",
                    full.depth, full.capacity
                ),
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            Ok(response)
        }
    }
}

/// One metric in `GET /v1/metrics`.
#[derive(Debug, Serialize)]
struct MetricView<'a> {
    metric: &'a str,
    path: String,
    status: MetricStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    digest: Option<&'a str>,
    stage: Stage,
    failure_mode: FailureMode,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    goal: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    loaded_at: Option<String>,
    last_reload: &'a ReloadRecord,
}

#[derive(Debug, Serialize)]
struct MetricsList<'a> {
    metrics: Vec<MetricView<'a>>,
    config: ConfigView<'a>,
    generation: u64,
}

#[derive(Debug, Serialize)]
struct ConfigView<'a> {
    path: String,
    last_reload: &'a ReloadRecord,
}

async fn list_metrics(State(state): State<Arc<AppState>>) -> Response {
    let snapshot = state.registry.snapshot();
    let metrics = snapshot
        .metrics
        .iter()
        .map(|m| {
            let live = m.live.as_deref();
            let d = live.map(|l| &l.spec.plugin.descriptor);
            MetricView {
                metric: &m.name,
                path: m.path.display().to_string(),
                status: m.status,
                name: d.map(|d| d.name.as_str()),
                version: d.map(|d| d.version.as_str()),
                digest: live.map(|l| l.spec.plugin.digest.as_str()),
                stage: live.map_or(Stage::default(), LiveMetric::stage),
                failure_mode: live.map_or(FailureMode::default(), LiveMetric::failure_mode),
                owner: d.map(|d| d.owner.as_str()),
                goal: d.map(|d| d.goal.as_str()),
                loaded_at: live.map(|l| humantime::format_rfc3339_millis(l.loaded_at).to_string()),
                last_reload: &m.last_reload,
            }
        })
        .collect();
    let list = MetricsList {
        metrics,
        config: ConfigView {
            path: state.registry.config_path().display().to_string(),
            last_reload: &snapshot.config_reload,
        },
        generation: snapshot.generation,
    };
    json_body(&list).into_response()
}

async fn prometheus(State(state): State<Arc<AppState>>) -> Response {
    let text = state.telemetry.render(&state.registry.snapshot());
    ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], text).into_response()
}

async fn healthz() -> Response {
    json_body(&serde_json::json!({"status": "ok"})).into_response()
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let serving = state.registry.snapshot().serving().count();
    let ready = state.ready.load(Ordering::SeqCst) && serving > 0;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "not_ready" },
        "metrics_serving": serving,
        "shutting_down": !state.ready.load(Ordering::SeqCst),
    });
    (status, json_body(&body)).into_response()
}
