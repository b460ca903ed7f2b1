//! Live metric instances and the evaluation of one sample.
//!
//! A [`MetricInstance`] belongs to one worker. It instantiates its component
//! lazily, configures it, and reuses the instance for every sample (a fresh
//! instance per evaluation is 5-40x slower). After a trap, timeout or memory
//! fault the instance is discarded and the next evaluation starts a new one
//! from the plugin's `InstancePre`.
//!
//! Architecture invariant: [`MetricInstance::evaluate`] always returns an
//! [`Evaluation`]; whatever the guest does becomes its outcome.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::Store;
use wasmtime::component::ResourceAny;

use crate::bindings::{MetricComponent, wit};
use crate::guest::{Deadline, arm, classify, new_store, refuel};
use crate::metric::{FailureLogging, LOGGED_FAILURES, MetricSpec};
use crate::prepared::PreparedSample;
use crate::sandbox::StoreState;
use caliper_types::outcome::{Evaluation, Status};

pub use crate::guest::{MAX_LABEL_BYTES, MAX_LABELS, MAX_REASON_BYTES};

struct Live {
    store: Store<StoreState>,
    bindings: MetricComponent,
    evaluator: ResourceAny,
}

/// A worker's instance of one configured metric.
pub struct MetricInstance {
    spec: Arc<MetricSpec>,
    name: Arc<str>,
    live: Option<Live>,
    /// Whether an instance was started before: the first start may take the
    /// load-time budget; a re-creation (after a trap, or with
    /// `fresh_instance`) is part of the evaluation that needs it and counts
    /// against that evaluation's deadline.
    started_before: bool,
}

/// Why an instance could not be started.
#[derive(Debug, Clone)]
pub struct StartFailure {
    /// `Error` for a rejected config, otherwise the trap class.
    pub status: Status,
    /// The cause.
    pub message: String,
}

impl MetricInstance {
    /// An instance of `spec`; the component is instantiated on first use.
    pub fn new(spec: Arc<MetricSpec>) -> Self {
        MetricInstance {
            name: Arc::from(spec.name.as_str()),
            spec,
            live: None,
            started_before: false,
        }
    }

    /// The configured metric this instance runs.
    pub fn spec(&self) -> &Arc<MetricSpec> {
        &self.spec
    }

    /// Whether a live guest instance is held (idle pools keep only these).
    pub fn is_live(&self) -> bool {
        self.live.is_some()
    }

    /// Instantiates and configures the component now (at load time, to
    /// report a bad config before any sample is read), with the load-time
    /// budget.
    pub fn start(&mut self) -> Result<(), StartFailure> {
        self.start_until(None)
    }

    /// Starts the instance if it is not live, within the load-time budget
    /// for a first start and within `evaluation` for a re-creation, never
    /// past `caller`.
    fn ensure_started(
        &mut self,
        evaluation: Deadline,
        caller: Option<Instant>,
    ) -> Result<(), StartFailure> {
        if self.live.is_some() {
            return Ok(());
        }
        let deadline = if self.started_before {
            evaluation
        } else {
            Deadline::after(self.spec.limits.start_timeout_ms, caller)
        };
        self.started_before = true;
        self.live = Some(self.instantiate(deadline)?);
        Ok(())
    }

    fn start_until(&mut self, caller: Option<Instant>) -> Result<(), StartFailure> {
        let budget = Deadline::after(self.spec.limits.timeout_ms, caller);
        self.ensure_started(budget, caller)
    }

    fn instantiate(&self, deadline: Deadline) -> Result<Live, StartFailure> {
        let plugin = &self.spec.plugin;
        let limits = &self.spec.limits;
        if deadline.passed() {
            return Err(StartFailure {
                status: Status::Timeout,
                message: format!("failed to start: {}", deadline.exceeded()),
            });
        }
        let mut store = new_store(
            &plugin.runtime,
            self.name.clone(),
            limits,
            &self.spec.grants,
        );
        arm(&mut store, deadline);
        let configured = plugin.pre.instantiate(&mut store).and_then(|bindings| {
            let result = bindings
                .caliper_metric_metric()
                .call_configure(&mut store, &self.spec.config)?;
            Ok((bindings, result))
        });
        match configured {
            Ok((bindings, Ok(evaluator))) => Ok(Live {
                store,
                bindings,
                evaluator,
            }),
            Ok((_, Err(e))) => Err(StartFailure {
                status: Status::Error,
                message: format!(
                    "rejected its config: {}",
                    caliper_types::text::inert(&e.message, MAX_REASON_BYTES)
                ),
            }),
            Err(e) => {
                let (status, message) = classify(&e, &mut store, limits, &deadline);
                Err(StartFailure {
                    status,
                    message: format!("failed to start: {message}"),
                })
            }
        }
    }

    fn evaluation(&self, sample_id: &str, status: Status) -> Evaluation {
        self.spec.evaluation(sample_id, status, None)
    }

    /// An evaluation that carries only a status and its cause: a failure of
    /// the metric itself.
    fn failed(&self, sample_id: &str, status: Status, cause: String) -> Evaluation {
        self.spec.evaluation(sample_id, status, Some(cause))
    }

    /// Scores one sample. Never fails: every problem becomes the outcome.
    pub fn evaluate(&mut self, sample: &PreparedSample) -> Evaluation {
        self.evaluate_until(sample, None)
    }

    /// Scores one sample, never past `caller` (a request's deadline) nor
    /// the metric's own `timeout_ms`, whatever the guest does or waits on.
    /// A sample whose deadline has already passed is not started: it is a
    /// `timeout`. Never fails.
    pub fn evaluate_until(
        &mut self,
        sample: &PreparedSample,
        caller: Option<Instant>,
    ) -> Evaluation {
        let started = Instant::now();
        let mut eval = self.evaluate_inner(sample, caller);
        eval.duration_us = started.elapsed().as_micros() as u64;
        if self.spec.limits.fresh_instance {
            self.live = None;
        }
        eval
    }

    fn evaluate_inner(&mut self, sample: &PreparedSample, caller: Option<Instant>) -> Evaluation {
        let id = sample.id();
        let limits = self.spec.limits.clone();
        let mut deadline = Deadline::after(limits.timeout_ms, caller);
        if deadline.passed() {
            return self.failed(
                id,
                Status::Timeout,
                format!("not started: {}", deadline.exceeded()),
            );
        }
        let first_start = self.live.is_none() && !self.started_before;
        if let Err(failure) = self.ensure_started(deadline, caller) {
            return self.failed(id, failure.status, failure.message);
        }
        if first_start {
            // The first start had its own budget; the evaluation gets its
            // whole one.
            deadline = Deadline::after(limits.timeout_ms, caller);
        }
        let live = self.live.as_mut().expect("started above");
        arm(&mut live.store, deadline);
        refuel(&self.spec.plugin.runtime, &mut live.store, &limits, 1);
        let result = live
            .bindings
            .caliper_metric_metric()
            .evaluator()
            .call_evaluate(&mut live.store, live.evaluator, &sample.0);
        match result {
            Ok(result) => {
                drain_output(&self.name, &mut live.store);
                self.accept(id, result)
            }
            Err(e) => {
                let mut live = self.live.take().expect("live above");
                let (status, cause) = classify(&e, &mut live.store, &limits, &deadline);
                log_failure(&self.spec, id, status, &cause);
                self.failed(id, status, cause)
            }
        }
    }

    /// Scores several samples with one `evaluate-batch` call when the metric's
    /// `batch_size` allows it (the runner passes at most `batch_size`
    /// samples). Never fails; a batch that traps is retried sample by sample
    /// so the failure is attributed to the sample that caused it.
    pub fn evaluate_batch(&mut self, samples: &[&PreparedSample]) -> Vec<Evaluation> {
        self.evaluate_batch_until(samples, None)
    }

    /// [`evaluate_batch`](Self::evaluate_batch), never past `caller`: samples
    /// not started by then are `timeout`s. Never fails.
    pub fn evaluate_batch_until(
        &mut self,
        samples: &[&PreparedSample],
        caller: Option<Instant>,
    ) -> Vec<Evaluation> {
        let limits = self.spec.limits.clone();
        if samples.len() <= 1 || limits.batch_size <= 1 || limits.fresh_instance {
            return samples
                .iter()
                .map(|s| self.evaluate_until(s, caller))
                .collect();
        }
        let started = Instant::now();
        let n = samples.len() as u64;
        let mut deadline = Deadline::after(limits.timeout_ms.saturating_mul(n), caller);
        if deadline.passed() {
            let why = format!("not started: {}", deadline.exceeded());
            return samples
                .iter()
                .map(|s| self.failed(s.id(), Status::Timeout, why.clone()))
                .collect();
        }
        let first_start = self.live.is_none() && !self.started_before;
        if let Err(failure) = self.ensure_started(deadline, caller) {
            return samples
                .iter()
                .map(|s| self.failed(s.id(), failure.status, failure.message.clone()))
                .collect();
        }
        if first_start {
            deadline = Deadline::after(limits.timeout_ms.saturating_mul(n), caller);
        }
        let live = self.live.as_mut().expect("started above");
        arm(&mut live.store, deadline);
        refuel(&self.spec.plugin.runtime, &mut live.store, &limits, n);
        let batch: Vec<wit::Sample> = samples.iter().map(|s| s.0.clone()).collect();
        let result = live
            .bindings
            .caliper_metric_metric()
            .evaluator()
            .call_evaluate_batch(&mut live.store, live.evaluator, &batch);
        match result {
            Ok(results) => {
                drain_output(&self.name, &mut live.store);
                let per_sample = started.elapsed().as_micros() as u64 / n;
                if results.len() != samples.len() {
                    let why = format!(
                        "evaluate-batch returned {} results for {} samples",
                        results.len(),
                        samples.len()
                    );
                    return samples
                        .iter()
                        .map(|s| {
                            let mut eval = self.failed(s.id(), Status::Invalid, why.clone());
                            eval.duration_us = per_sample;
                            eval
                        })
                        .collect();
                }
                samples
                    .iter()
                    .zip(results)
                    .map(|(s, r)| {
                        let mut eval = self.accept(s.id(), r);
                        eval.duration_us = per_sample;
                        eval
                    })
                    .collect()
            }
            Err(e) => {
                let mut live = self.live.take().expect("live above");
                let (status, cause) = classify(&e, &mut live.store, &limits, &deadline);
                tracing::debug!(metric = %self.name, outcome = %status, "batch failed ({cause}); retrying sample by sample");
                samples
                    .iter()
                    .map(|s| self.evaluate_until(s, caller))
                    .collect()
            }
        }
    }

    /// Checks a guest's answer against the contract's rules.
    fn accept(&self, id: &str, result: Result<wit::Outcome, wit::EvalError>) -> Evaluation {
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(e) => {
                return self.failed(
                    id,
                    Status::Error,
                    caliper_types::text::inert(&e.message, MAX_REASON_BYTES),
                );
            }
        };
        let status = match outcome.verdict {
            wit::Verdict::Pass => Status::Pass,
            wit::Verdict::Fail => Status::Fail,
            wit::Verdict::Skip => Status::Skip,
        };
        let invalid = |why: String| self.failed(id, Status::Invalid, why);
        if let Some(v) = outcome.value
            && !v.is_finite()
        {
            return invalid(format!("returned a non-finite value ({v})"));
        }
        if let Some(reason) = &outcome.reason
            && reason.len() > MAX_REASON_BYTES
        {
            return invalid(format!(
                "returned a reason of {} bytes (limit {MAX_REASON_BYTES}): {}",
                reason.len(),
                caliper_types::text::inert(reason, 80)
            ));
        }
        if outcome.labels.len() > MAX_LABELS {
            return invalid(format!(
                "returned {} labels (limit {MAX_LABELS})",
                outcome.labels.len()
            ));
        }
        if let Some((k, _)) = outcome
            .labels
            .iter()
            .find(|(k, v)| k.len() > MAX_LABEL_BYTES || v.len() > MAX_LABEL_BYTES)
        {
            return invalid(format!(
                "returned label `{}` longer than {MAX_LABEL_BYTES} bytes",
                caliper_types::text::inert(k, 40)
            ));
        }
        let mut eval = self.evaluation(id, status);
        eval.value = outcome.value;
        // Escaped here, once, so that no terminal, log or report downstream
        // ever receives a metric's raw control characters.
        eval.reason = outcome
            .reason
            .map(|r| caliper_types::text::inert(&r, MAX_REASON_BYTES));
        eval.labels = outcome
            .labels
            .into_iter()
            .map(|(k, v)| {
                (
                    caliper_types::text::inert(&k, MAX_LABEL_BYTES),
                    caliper_types::text::inert(&v, MAX_LABEL_BYTES),
                )
            })
            .collect();
        eval
    }
}

/// Logs a failed evaluation: as a warning for the first
/// [`LOGGED_FAILURES`](crate::metric::LOGGED_FAILURES) of the metric, then at
/// debug level (every failure is an outcome and counted either way).
fn log_failure(spec: &MetricSpec, sample: &str, status: Status, cause: &str) {
    let metric = spec.name.as_str();
    match spec.failure_log.next() {
        FailureLogging::Warn => {
            tracing::warn!(metric = %metric, sample, outcome = %status, "{cause}")
        }
        FailureLogging::WarnLast => {
            tracing::warn!(metric = %metric, sample, outcome = %status, "{cause}");
            tracing::warn!(
                metric = %metric,
                "{LOGGED_FAILURES} failures logged; later ones are counted in the results \
                 and the summary, and logged at debug level (-vv)"
            );
        }
        FailureLogging::Quiet => {
            tracing::debug!(metric = %metric, sample, outcome = %status, "{cause}")
        }
    }
}

/// Forwards what a guest printed during a call to the debug log, and clears
/// the per-call buffers.
fn drain_output(name: &str, store: &mut Store<StoreState>) {
    let stderr = store.data().stderr.take();
    let stdout = store.data().stdout.take();
    let logged = std::mem::take(&mut store.data_mut().logged);
    if logged > crate::sandbox::MAX_LOG_LINES {
        tracing::warn!(
            metric = name,
            "dropped {} log lines over the limit of {} per call",
            logged - crate::sandbox::MAX_LOG_LINES,
            crate::sandbox::MAX_LOG_LINES
        );
    }
    for (stream, text) in [("stdout", stdout), ("stderr", stderr)] {
        if !text.is_empty() {
            let text = caliper_types::text::inert(text.trim_end(), crate::sandbox::CAPTURE_BYTES);
            tracing::debug!(metric = name, stream, "{text}");
        }
    }
}
