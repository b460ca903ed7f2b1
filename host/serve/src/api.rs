//! The HTTP routes of `caliper serve` and their JSON shapes.
//!
//! | route              | what                                              |
//! |--------------------|---------------------------------------------------|
//! | `POST /v1/evaluate`| score samples now; guardrail verdict              |
//! | `POST /v1/ingest`  | queue samples for background scoring (202 / 429)  |
//! | `POST /v1/traces`  | OTLP/HTTP traces: LLM spans queued like ingest (200 / 429) |
//! | `GET /v1/metrics`  | loaded metrics, versions, digests, reload status  |
//! | `GET /metrics`     | Prometheus text exposition                        |
//! | `GET /healthz`     | the process is up                                 |
//! | `GET /readyz`      | it serves metrics, every `fail_closed` gate serves, and it is not shutting down |
//!
//! Every error is a JSON body `{"error": {"code": ..., "message": ...}}`
//! with a 4xx/5xx status. Responses carry no absolute host path and no
//! internal error text: paths are cut to their file name, and internal
//! failures are logged and answered with the metric name and a short cause.
//!
//! **Auth.** With a token configured (`serve.auth_token_file` or
//! `CALIPER_SERVE_TOKEN`), every route but `/healthz` and `/readyz` needs
//! `Authorization: Bearer <token>` (compared in constant time), else 401.
//!
//! **Admission.** `/v1/evaluate` spreads its metrics over at most
//! `max_concurrency` evaluation threads and takes, before any guest runs,
//! each thread (`concurrency`), one slot of each metric
//! (`metric_concurrency`) and, per thread, the `memory_mib` of its largest
//! metric (`memory`) — all or nothing. A full bound answers **503** `overloaded` with `Retry-After: 1`,
//! naming the bound (and the metric) in `error.bound` / `error.metric`, and
//! counts `caliper_shed_total{reason}`: it is this replica's capacity that
//! is exhausted, not a quota of the client (that would be 429), and a load
//! balancer may retry another replica. A shed request is never answered
//! `allow`. The request deadline is the guests' deadline: a batch stops when
//! it passes, and the evaluation thread ends within a tick of it.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::admission::{Bound, Budget, Grant};
use crate::ingest::{IngestQueue, Receipt};
use crate::registry::{LiveMetric, MetricEntry, MetricStatus, Registry, ReloadRecord, Snapshot};
use crate::telemetry::Telemetry;
use caliper_dataset::{MapError, Mapper};
use caliper_types::outcome::{Evaluation, Status};
use caliper_types::sample::Sample;
use caliper_types::stage::{FailureMode, Stage};

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
    /// Evaluation threads of the request path (`serve.max_concurrency`).
    pub concurrency: Arc<Budget>,
    /// Guest memory, in MiB (`serve.memory_budget_mib`).
    pub memory: Arc<Budget>,
    /// The bearer token requests must carry, if any.
    pub auth: Option<AuthToken>,
    /// Time a client has to send a body.
    pub body_timeout: Duration,
}

/// A bearer token, kept as its SHA-256 so that comparing takes the same
/// time whatever the guess.
pub struct AuthToken([u8; 32]);

impl AuthToken {
    /// The token `secret`.
    pub fn new(secret: &str) -> AuthToken {
        AuthToken(sha256(secret.as_bytes()))
    }

    /// Whether `candidate` is the token (constant time in its content).
    fn matches(&self, candidate: &[u8]) -> bool {
        let digest = sha256(candidate);
        let diff = digest
            .iter()
            .zip(self.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(diff) == 0
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// The router, with auth, body limits and request accounting.
pub fn router(state: Arc<AppState>, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/v1/evaluate", post(evaluate))
        .route("/v1/ingest", post(ingest))
        .route("/v1/traces", post(traces))
        .route("/v1/metrics", get(list_metrics))
        .route("/metrics", get(prometheus))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), authorize))
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
}

/// Refuses (401) a request without the bearer token, when one is
/// configured; `/healthz` and `/readyz` stay open for probes.
async fn authorize(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let Some(token) = &state.auth else {
        return next.run(request).await;
    };
    if matches!(request.uri().path(), "/healthz" | "/readyz") {
        return next.run(request).await;
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
    if presented.is_some_and(|p| token.matches(p)) {
        return next.run(request).await;
    }
    let mut response = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "this service needs `Authorization: Bearer <token>`",
    )
    .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"caliper\""),
    );
    response
}

/// Reads a request body within the body timeout (408 after it) and the
/// body limit (413).
async fn read_body(state: &AppState, request: Request) -> Result<Bytes, ApiError> {
    match tokio::time::timeout(state.body_timeout, Bytes::from_request(request, &())).await {
        Ok(body) => body_or_error(body),
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            format!(
                "the body did not arrive within {} ms (serve.body_timeout_ms)",
                state.body_timeout.as_millis()
            ),
        )),
    }
}

fn body_or_error(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        let status = e.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "body_too_large"
        } else {
            "bad_body"
        };
        ApiError::new(status, code, e.body_text())
    })
}

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// For a shed request: the bound, and the metric whose bound it is.
    shed: Option<(Bound, Option<String>)>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            shed: None,
        }
    }

    /// 503 `overloaded`: `bound` is full.
    fn overloaded(bound: Bound, metric: Option<&str>, message: String) -> Self {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "overloaded",
            message: format!("{message} ({}); retry later", bound.setting()),
            shed: Some((bound, metric.map(str::to_owned))),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({"error": {"code": self.code, "message": self.message}});
        if let Some((bound, metric)) = &self.shed {
            body["error"]["bound"] = bound.as_str().into();
            if let Some(m) = metric {
                body["error"]["metric"] = m.as_str().into();
            }
        }
        let mut response = (self.status, json_body(&body)).into_response();
        if self.shed.is_some() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// Text safe to show a client: every absolute path cut to its file name
/// (the full text goes to the log).
pub fn public_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut prev: Option<char> = None;
    let mut i = 0;
    while let Some(c) = text[i..].chars().next() {
        let boundary = prev.is_none_or(|p| p.is_whitespace() || "\"'`([{=,".contains(p));
        if c == '/' && boundary {
            let rest = &text[i..];
            let end = rest
                .find(|c: char| c.is_whitespace() || "\"'`)]},;".contains(c))
                .unwrap_or(rest.len());
            // A trailing `:` (as in `path: error`) is not part of the name.
            let (path, tail) = match rest[..end].strip_suffix(':') {
                Some(p) => (p, ":"),
                None => (&rest[..end], ""),
            };
            out.push_str(path.rsplit('/').find(|s| !s.is_empty()).unwrap_or(""));
            out.push_str(tail);
            prev = Some('x');
            i += end;
            continue;
        }
        out.push(c);
        prev = Some(c);
        i += c.len_utf8();
    }
    out
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
        "no such route; see /v1/evaluate, /v1/ingest, /v1/traces, /v1/metrics, /metrics, /healthz, /readyz",
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
    body: Bytes,
    snapshot: &Snapshot,
    stem: &str,
) -> Result<(SamplesRequest, Vec<Sample>), ApiError> {
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
    let serve = &snapshot.config().serve;
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
    let mapper = Mapper::new(Path::new(stem), snapshot.config().input.clone());
    // The limit counts samples after `expand_turns`, and mapping stops there.
    let samples = mapper
        .map_bounded(records, serve.max_samples_per_request)
        .map_err(|e| match e {
            MapError::Record { .. } => ApiError::bad_request(e.to_string()),
            MapError::TooMany { .. } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_samples",
                format!("{e} (serve.max_samples_per_request)"),
            ),
        })?;
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

/// How long past a request's deadline the handler waits for an evaluation
/// thread to report (it ends within a tick of the deadline; this covers
/// scheduling on a busy machine).
const DEADLINE_GRACE: Duration = Duration::from_millis(250);

/// What one evaluation thread of a request holds while it runs: the
/// thread, a slot of each of its metrics, and the memory of the largest
/// (its metrics run one after the other). Dropped by the thread when it
/// ends.
struct Admitted {
    _thread: Grant,
    _slots: Vec<Grant>,
    _memory: Grant,
}

/// The metrics of a request, spread over at most `threads` evaluation
/// threads (round robin, so a request never needs more threads than the
/// service has): indices into `metrics` per thread.
fn spread(metrics: usize, threads: usize) -> Vec<Vec<usize>> {
    let threads = metrics.min(threads).max(1);
    let mut groups = vec![Vec::new(); threads];
    for i in 0..metrics {
        groups[i % threads].push(i);
    }
    groups
}

/// Takes everything the threads of a request need, or nothing (the bound
/// that was full).
fn admit(
    state: &AppState,
    metrics: &[Arc<LiveMetric>],
    groups: &[Vec<usize>],
) -> Result<Vec<Admitted>, ApiError> {
    let shed = |bound: Bound, metric: Option<&str>, message: String| {
        state.telemetry.shed(bound);
        ApiError::overloaded(bound, metric, message)
    };
    let mut admitted = Vec::with_capacity(groups.len());
    for group in groups {
        let Some(thread) = state.concurrency.try_take(1) else {
            return Err(shed(
                Bound::Concurrency,
                None,
                format!(
                    "all {} evaluation threads are busy",
                    state.concurrency.capacity()
                ),
            ));
        };
        let mut slots = Vec::with_capacity(group.len());
        for &i in group {
            let metric = &metrics[i];
            let Some(slot) = metric.slots().try_take(1) else {
                return Err(shed(
                    Bound::MetricConcurrency,
                    Some(&metric.spec.name),
                    format!(
                        "metric `{}` is running {} evaluations, its limit",
                        metric.spec.name,
                        metric.slots().capacity()
                    ),
                ));
            };
            slots.push(slot);
        }
        let largest = group
            .iter()
            .map(|&i| &metrics[i])
            .max_by_key(|m| m.spec.limits.memory_mib)
            .expect("groups are not empty");
        let mib = largest.spec.limits.memory_mib;
        let Some(memory) = state.memory.try_take(mib) else {
            return Err(shed(
                Bound::Memory,
                Some(&largest.spec.name),
                format!(
                    "metric `{}` needs {mib} MiB of guest memory; {} of {} MiB are reserved",
                    largest.spec.name,
                    state.memory.in_use(),
                    state.memory.capacity()
                ),
            ));
        };
        admitted.push(Admitted {
            _thread: thread,
            _slots: slots,
            _memory: memory,
        });
    }
    Ok(admitted)
}

async fn evaluate(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let body = read_body(&state, request).await?;
    let snapshot = state.registry.snapshot();
    let (request, samples) = parse_samples(body, &snapshot, "request")?;
    let Selection { metrics, closed } = select_metrics(&snapshot, request.metrics.as_deref())?;
    let timeout_ms = request
        .deadline_ms
        .unwrap_or(u64::MAX)
        .min(snapshot.config().serve.request_timeout_ms);
    let deadline = Instant::now() + Duration::from_millis(timeout_ms);
    let groups = spread(metrics.len(), state.concurrency.capacity() as usize);
    let admitted = if metrics.is_empty() {
        Vec::new()
    } else {
        admit(&state, &metrics, &groups)?
    };

    let samples = Arc::new(samples);
    let tasks: Vec<_> = groups
        .iter()
        .zip(admitted)
        .map(|(group, admitted)| {
            let group: Vec<Arc<LiveMetric>> = group.iter().map(|&i| metrics[i].clone()).collect();
            let samples = samples.clone();
            tokio::task::spawn_blocking(move || {
                let evaluations: Vec<Vec<Evaluation>> = group
                    .iter()
                    .map(|metric| metric.evaluate(&samples, Some(deadline)))
                    .collect();
                // The thread's budgets are given back when it ends, not
                // when the request stops waiting for it.
                drop(admitted);
                evaluations
            })
        })
        .collect();

    // Per metric, in request order.
    let mut answers: Vec<Option<Vec<Evaluation>>> = vec![None; metrics.len()];
    let wait_until = tokio::time::Instant::from_std(deadline + DEADLINE_GRACE);
    for (group, task) in groups.iter().zip(tasks) {
        match tokio::time::timeout_at(wait_until, task).await {
            Ok(Ok(evaluations)) => {
                for (&i, e) in group.iter().zip(evaluations) {
                    answers[i] = Some(e);
                }
            }
            Ok(Err(join_error)) => {
                for &i in group {
                    let metric = &metrics[i];
                    tracing::error!(metric = %metric.spec.name, "evaluation task failed: {join_error}");
                    answers[i] = Some(unanswered(
                        metric,
                        &samples,
                        Status::Error,
                        "internal error while evaluating (logged)".into(),
                        started,
                    ));
                }
            }
            Err(_) => {
                for &i in group {
                    let metric = &metrics[i];
                    tracing::warn!(
                        metric = %metric.spec.name,
                        "evaluation thread still running {} ms after the request's deadline",
                        DEADLINE_GRACE.as_millis()
                    );
                    answers[i] = Some(unanswered(
                        metric,
                        &samples,
                        Status::Timeout,
                        format!("no answer within the request deadline of {timeout_ms} ms"),
                        started,
                    ));
                }
            }
        }
    }

    let mut results = Vec::new();
    let mut blocked_by = Vec::new();
    for (metric, evaluations) in metrics.iter().zip(answers) {
        for mut evaluation in evaluations.unwrap_or_default() {
            state.telemetry.record(&evaluation, "evaluate");
            // A failure's cause is the host's text: no host paths in it.
            if evaluation.outcome.is_error() {
                evaluation.reason = evaluation.reason.as_deref().map(public_text);
            }
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
    // A fail_closed gate that does not serve blocks every sample.
    for (name, cause) in &closed {
        for sample in samples.iter() {
            blocked_by.push(Blocked {
                metric: name.clone(),
                sample_id: sample.id.clone(),
                outcome: Status::Error,
                reason: Some(cause.clone()),
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

/// The metrics a request runs, and the `fail_closed` gates among those it
/// asked for that cannot answer (each with a short cause).
struct Selection {
    metrics: Vec<Arc<LiveMetric>>,
    closed: Vec<(String, String)>,
}

/// Why a metric does not serve, for a client: its status and a short cause
/// without host paths.
fn down_cause(entry: &MetricEntry) -> String {
    let status = match entry.status {
        MetricStatus::Removed => "its file was removed",
        MetricStatus::Failed => "no version passed loading",
        MetricStatus::Serving | MetricStatus::Stale => "no version loaded",
    };
    format!(
        "metric `{}` is not serving: {status} (fail_closed); see GET /v1/metrics",
        entry.name
    )
}

/// The metrics a request asked for (all serving ones by default); a
/// `fail_closed` gate that does not serve is not skipped but blocks.
fn select_metrics(snapshot: &Snapshot, names: Option<&[String]>) -> Result<Selection, ApiError> {
    let Some(names) = names else {
        let metrics: Vec<_> = snapshot.serving().cloned().collect();
        let closed: Vec<_> = snapshot
            .metrics
            .iter()
            .filter(|m| m.closed_and_down())
            .map(|m| (m.name.clone(), down_cause(m)))
            .collect();
        if metrics.is_empty() && closed.is_empty() {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "no_metrics",
                "no metric is serving; see GET /v1/metrics",
            ));
        }
        return Ok(Selection { metrics, closed });
    };
    let mut selection = Selection {
        metrics: Vec::with_capacity(names.len()),
        closed: Vec::new(),
    };
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
                format!(
                    "no metric named `{}`; known: {}",
                    caliper_types::text::inert(name, 100),
                    known.join(", ")
                ),
            ));
        };
        match &entry.live {
            Some(live) => selection.metrics.push(live.clone()),
            None if entry.closed_and_down() => selection
                .closed
                .push((entry.name.clone(), down_cause(entry))),
            None => {
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "metric_unavailable",
                    format!(
                        "metric `{name}` is not serving ({}); see GET /v1/metrics",
                        match entry.status {
                            MetricStatus::Removed => "removed",
                            _ => "failed",
                        }
                    ),
                ));
            }
        }
    }
    Ok(selection)
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
    request: Request,
) -> Result<Response, ApiError> {
    let body = read_body(&state, request).await?;
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
    let rate = snapshot.config().serve.ingest_sample_rate;
    if state.ingest.live().is_some() {
        let receipt = offer_live(&state, samples, rate).await?;
        let body = IngestResponse {
            receipt,
            queue_depth: state.ingest.live().map_or(0, |l| l.lag() as usize),
        };
        return Ok((StatusCode::ACCEPTED, json_body(&body)).into_response());
    }
    match state.ingest.offer(samples, rate) {
        Ok(receipt) => {
            let body = IngestResponse {
                receipt,
                queue_depth: state.ingest.depth(),
            };
            Ok((StatusCode::ACCEPTED, json_body(&body)).into_response())
        }
        Err(full) => refused_by_queue(full),
    }
}

/// The answer to samples the ingest queue refused, all of them: 503 while
/// shutting down, else 429 with `Retry-After` (nothing was queued, so the
/// client may retry the whole request).
fn refused_by_queue(full: crate::ingest::QueueFull) -> Result<Response, ApiError> {
    if full.capacity == 0 {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the service is shutting down and accepts no more samples",
        ));
    }
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "queue_full",
        format!(
            "ingest queue holds {} of {} samples and {} of {} bytes \
             (serve.queue_capacity, serve.queue_max_bytes); nothing was queued, retry later",
            full.depth, full.capacity, full.bytes, full.max_bytes
        ),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    Ok(response)
}

/// `POST /v1/traces`: an OTLP/HTTP trace export (protobuf or JSON, gzip or
/// not). Its LLM spans become samples (`caliper_otel::mapping`) and go
/// through the ingest queue like `/v1/ingest`'s, sampled by trace; the
/// answer is an `ExportTraceServiceResponse` in the request's encoding,
/// with a partial success naming the spans that could not be read. 415 for
/// another media type, 400 for a body that is not a trace request, 413 for
/// more LLM spans than `max_samples_per_request`, 429 with `Retry-After`
/// when the queue is full (nothing queued: the exporter retries the whole
/// request).
async fn traces(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Response, ApiError> {
    use caliper_otel::decode::{self, DecodeError, Media};
    // (Read before the body: the request is not `Sync`, a borrow of it
    // must not live across an await.)
    let (content_type, encoding) = {
        let header = |name: header::HeaderName| {
            request
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap_or("(not text)").to_owned())
        };
        (
            header(header::CONTENT_TYPE),
            header(header::CONTENT_ENCODING),
        )
    };
    let media = Media::from_content_type(&content_type.unwrap_or_default()).map_err(|e| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            e.to_string(),
        )
    })?;
    let body = read_body(&state, request).await?;
    let snapshot = state.registry.snapshot();
    let serve = &snapshot.config().serve;
    let decoded =
        decode::traces(&body, media, encoding.as_deref(), serve.max_body_bytes).map_err(|e| {
            let status = match e {
                DecodeError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                DecodeError::Encoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                _ => StatusCode::BAD_REQUEST,
            };
            ApiError::new(status, "bad_otlp", e.to_string())
        })?;
    let mapped = caliper_otel::mapping::samples(&decoded);
    let spans = &state.telemetry.otlp_spans;
    spans
        .with_label_values(&["ignored"])
        .inc_by(mapped.ignored as u64);
    spans
        .with_label_values(&["rejected"])
        .inc_by(mapped.rejected.len() as u64);
    spans
        .with_label_values(&["sample"])
        .inc_by(mapped.samples.len() as u64);
    if mapped.samples.len() > serve.max_samples_per_request {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_samples",
            format!(
                "{} LLM spans in one request, more than serve.max_samples_per_request = {}; \
                 export smaller batches",
                mapped.samples.len(),
                serve.max_samples_per_request
            ),
        ));
    }
    if !mapped.samples.is_empty() && state.ingest.live().is_some() {
        offer_live(&state, mapped.samples, serve.ingest_sample_rate).await?;
    } else if !mapped.samples.is_empty()
        && let Err(full) = state.ingest.offer(mapped.samples, serve.ingest_sample_rate)
    {
        return refused_by_queue(full);
    }
    let partial_success = (!mapped.rejected.is_empty()).then(|| {
        let mut message = mapped
            .rejected
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
        if mapped.rejected.len() > 5 {
            message.push_str(&format!("; and {} more", mapped.rejected.len() - 5));
        }
        caliper_otel::ExportTracePartialSuccess {
            rejected_spans: mapped.rejected.len() as i64,
            error_message: caliper_types::text::inert(&message, 2048),
        }
    });
    let reply = caliper_otel::ExportTraceServiceResponse { partial_success };
    let body = match media {
        Media::Protobuf => prost_encode(&reply),
        Media::Json => serde_json::to_vec(&reply).unwrap_or_default(),
    };
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, media.content_type())],
        body,
    )
        .into_response())
}

/// Publishes accepted samples to the worker pool (`[dispatch] ingest`), off
/// the async runtime; 503 when the queue cannot take them (nothing of the
/// request is counted as accepted then, and the client may retry).
async fn offer_live(
    state: &Arc<AppState>,
    samples: Vec<Sample>,
    rate: f64,
) -> Result<crate::ingest::Receipt, ApiError> {
    let ingest = state.ingest.clone();
    let published = tokio::task::spawn_blocking(move || ingest.offer_live(samples, rate))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    published.map_err(|e| {
        tracing::warn!("publishing ingested samples to the worker pool: {e}");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "dispatch_unavailable",
            "the worker pool's queue did not take the samples; nothing was queued, retry later",
        )
    })
}

fn prost_encode(reply: &caliper_otel::ExportTraceServiceResponse) -> Vec<u8> {
    caliper_otel::encode_response(reply)
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
    last_reload: Value,
}

/// A [`ReloadRecord`] as clients see it: the error without host paths.
fn reload_view(record: &ReloadRecord) -> Value {
    let mut v = serde_json::to_value(record).unwrap_or_default();
    if let Some(error) = &record.error {
        v["error"] = public_text(error).into();
    }
    v
}

/// A file as clients see it: its name, not where it lives on the host.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

#[derive(Debug, Serialize)]
struct MetricsList<'a> {
    metrics: Vec<MetricView<'a>>,
    config: ConfigView,
    generation: u64,
}

#[derive(Debug, Serialize)]
struct ConfigView {
    path: String,
    last_reload: Value,
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
                path: file_name(&m.path),
                status: m.status,
                name: d.map(|d| d.name.as_str()),
                version: d.map(|d| d.version.as_str()),
                digest: live.map(|l| l.spec.plugin.digest.as_str()),
                stage: m.stage(),
                failure_mode: m.failure_mode(),
                owner: d.map(|d| d.owner.as_str()),
                goal: d.map(|d| d.goal.as_str()),
                loaded_at: live.map(|l| humantime::format_rfc3339_millis(l.loaded_at).to_string()),
                last_reload: reload_view(&m.last_reload),
            }
        })
        .collect();
    let list = MetricsList {
        metrics,
        config: ConfigView {
            path: file_name(state.registry.config_path()),
            last_reload: reload_view(&snapshot.config_reload),
        },
        generation: snapshot.generation,
    };
    json_body(&list).into_response()
}

async fn prometheus(State(state): State<Arc<AppState>>) -> Response {
    let t = &state.telemetry;
    t.in_flight.set(state.concurrency.in_use() as i64);
    t.memory_reserved.set(state.memory.in_use() as i64);
    if let Some(live) = state.ingest.live() {
        t.dispatch_lag.set(live.lag() as i64);
    }
    let text = state.telemetry.render(&state.registry.snapshot());
    ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], text).into_response()
}

async fn healthz() -> Response {
    json_body(&serde_json::json!({"status": "ok"})).into_response()
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let snapshot = state.registry.snapshot();
    let serving = snapshot.serving().count();
    let shutting_down = !state.ready.load(Ordering::SeqCst);
    let mut reasons: Vec<String> = Vec::new();
    if shutting_down {
        reasons.push("shutting down".into());
    }
    if serving == 0 {
        reasons.push("no metric is serving".into());
    }
    reasons.extend(
        snapshot
            .metrics
            .iter()
            .filter(|m| m.closed_and_down())
            .map(down_cause),
    );
    let ready = reasons.is_empty();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "not_ready" },
        "metrics_serving": serving,
        "shutting_down": shutting_down,
        "reasons": reasons,
    });
    (status, json_body(&body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_text_keeps_file_names_and_drops_where_they_live() {
        assert_eq!(
            public_text("/srv/caliper/plugins/len.wasm was deleted"),
            "len.wasm was deleted"
        );
        assert_eq!(
            public_text("cannot read `/etc/caliper/x.toml`: denied (path=/tmp/k/key.pem, ok)"),
            "cannot read `x.toml`: denied (path=key.pem, ok)"
        );
        assert_eq!(public_text("/a/b.wasm: not valid"), "b.wasm: not valid");
        // Not paths: fractions, digests, relative names.
        assert_eq!(
            public_text("1/2 of sha256:ab, plugins/x.wasm"),
            "1/2 of sha256:ab, plugins/x.wasm"
        );
    }

    #[test]
    fn tokens_match_exactly() {
        let t = AuthToken::new("s3cret");
        assert!(t.matches(b"s3cret"));
        for wrong in [&b""[..], b"s3cre", b"s3crett", b"S3cret"] {
            assert!(!t.matches(wrong));
        }
    }

    #[test]
    fn metrics_spread_over_at_most_the_threads_there_are() {
        assert_eq!(spread(3, 8), vec![vec![0], vec![1], vec![2]]);
        assert_eq!(spread(5, 2), vec![vec![0, 2, 4], vec![1, 3]]);
        assert_eq!(spread(0, 4), vec![Vec::<usize>::new()]);
    }
}
