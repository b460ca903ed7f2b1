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

use wasmtime::component::ResourceAny;
use wasmtime::{Store, Trap};

use crate::bindings::{MetricComponent, wit};
use crate::engine::Runtime;
use crate::metric::{FailureLogging, LOGGED_FAILURES, MetricSpec};
use crate::outcome::{Evaluation, Status};
use crate::sample::PreparedSample;
use crate::sandbox::{Grants, Limits, StoreState};

/// Longest reason a metric may return, in bytes.
pub const MAX_REASON_BYTES: usize = 4096;
/// Most labels a metric may return per sample.
pub const MAX_LABELS: usize = 32;
/// Longest label key or value, in bytes.
pub const MAX_LABEL_BYTES: usize = 256;

/// A new sandboxed store for one instance.
pub(crate) fn new_store(
    runtime: &Runtime,
    instance: Arc<str>,
    limits: &Limits,
    grants: &Grants,
) -> Store<StoreState> {
    let mut store = Store::new(runtime.engine(), StoreState::new(instance, limits, grants));
    store.limiter(|s| &mut s.limiter);
    store.epoch_deadline_trap();
    store.set_epoch_deadline(Runtime::ticks_for(limits.timeout_ms));
    refuel(runtime, &mut store, limits, 1);
    store
}

/// Gives a store its fuel budget for `samples` evaluations. When the engine
/// counts fuel (because some metric has a budget), metrics without one get
/// unlimited fuel.
fn refuel(runtime: &Runtime, store: &mut Store<StoreState>, limits: &Limits, samples: u64) {
    if runtime.options().fuel {
        let fuel = limits.fuel.map_or(u64::MAX, |f| f.saturating_mul(samples));
        // Cannot fail: the engine counts fuel.
        let _ = store.set_fuel(fuel);
    }
}

/// Turns a wasmtime error from a guest call into an outcome and a cause.
pub(crate) fn classify_failure(
    err: &wasmtime::Error,
    store: &mut Store<StoreState>,
    limits: &Limits,
) -> (Status, String) {
    let stderr = store.data().stderr.take();
    if store.data().limiter.exceeded {
        return (
            Status::Memory,
            format!("exceeded its memory cap of {} MiB", limits.memory_mib),
        );
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => {
            return (
                Status::Timeout,
                format!("exceeded its deadline of {} ms", limits.timeout_ms),
            );
        }
        Some(Trap::OutOfFuel) => {
            return (
                Status::Timeout,
                format!(
                    "exhausted its fuel budget of {}",
                    limits.fuel.unwrap_or_default()
                ),
            );
        }
        _ => {}
    }
    let mut cause = match err.downcast_ref::<Trap>() {
        Some(trap) => format!("trapped: {trap}"),
        None => format!("trapped: {}", err.root_cause()),
    };
    if let Some(panic) = panic_message(&stderr) {
        cause = format!("panicked: {panic} ({cause})");
    } else if let Some(tail) = stderr_tail(&stderr) {
        // C's abort(), a JS or Python runtime's fatal error: what the guest
        // said last before the trap.
        cause = format!("{cause}; stderr: {tail}");
    }
    (Status::Trap, cause)
}

/// The last non-empty lines of captured stderr (at most 4, 500 bytes).
fn stderr_tail(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let tail = &lines[lines.len().saturating_sub(4)..];
    (!tail.is_empty()).then(|| truncate(&tail.join(" "), 500))
}

/// Extracts a Rust-style panic message from captured stderr.
fn panic_message(stderr: &str) -> Option<String> {
    let start = stderr.find("panicked at")?;
    let text: Vec<&str> = stderr[start..]
        .lines()
        .filter(|l| !l.starts_with("note: run with"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(4)
        .collect();
    Some(truncate(&text.join(" "), 500))
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

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
        }
    }

    /// The configured metric this instance runs.
    pub fn spec(&self) -> &Arc<MetricSpec> {
        &self.spec
    }

    /// Instantiates and configures the component now (at load time, to
    /// report a bad config before any sample is read).
    pub fn start(&mut self) -> Result<(), StartFailure> {
        if self.live.is_none() {
            self.live = Some(self.instantiate()?);
        }
        Ok(())
    }

    fn instantiate(&self) -> Result<Live, StartFailure> {
        let plugin = &self.spec.plugin;
        let limits = Limits {
            timeout_ms: self
                .spec
                .limits
                .timeout_ms
                .max(crate::plugin::LOAD_TIMEOUT_MS),
            ..self.spec.limits.clone()
        };
        let mut store = new_store(
            &plugin.runtime,
            self.name.clone(),
            &limits,
            &self.spec.grants,
        );
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
                message: format!("rejected its config: {}", e.message),
            }),
            Err(e) => {
                let (status, message) = classify_failure(&e, &mut store, &limits);
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
        let started = Instant::now();
        let mut eval = self.evaluate_inner(sample);
        eval.duration_us = started.elapsed().as_micros() as u64;
        if self.spec.limits.fresh_instance {
            self.live = None;
        }
        eval
    }

    fn evaluate_inner(&mut self, sample: &PreparedSample) -> Evaluation {
        let id = sample.id();
        if let Err(failure) = self.start() {
            return self.failed(id, failure.status, failure.message);
        }
        let limits = &self.spec.limits;
        let live = self.live.as_mut().expect("started above");
        live.store
            .set_epoch_deadline(Runtime::ticks_for(limits.timeout_ms));
        refuel(&self.spec.plugin.runtime, &mut live.store, limits, 1);
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
                let limits = limits.clone();
                let mut live = self.live.take().expect("live above");
                let (status, cause) = classify_failure(&e, &mut live.store, &limits);
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
        let limits = self.spec.limits.clone();
        if samples.len() <= 1 || limits.batch_size <= 1 || limits.fresh_instance {
            return samples.iter().map(|s| self.evaluate(s)).collect();
        }
        let started = Instant::now();
        if let Err(failure) = self.start() {
            return samples
                .iter()
                .map(|s| self.failed(s.id(), failure.status, failure.message.clone()))
                .collect();
        }
        let n = samples.len() as u64;
        let live = self.live.as_mut().expect("started above");
        live.store
            .set_epoch_deadline(Runtime::ticks_for(limits.timeout_ms.saturating_mul(n)));
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
                let (status, cause) = classify_failure(&e, &mut live.store, &limits);
                tracing::debug!(metric = %self.name, outcome = %status, "batch failed ({cause}); retrying sample by sample");
                samples.iter().map(|s| self.evaluate(s)).collect()
            }
        }
    }

    /// Checks a guest's answer against the contract's rules.
    fn accept(&self, id: &str, result: Result<wit::Outcome, wit::EvalError>) -> Evaluation {
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(e) => {
                return self.failed(id, Status::Error, truncate(&e.message, MAX_REASON_BYTES));
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
                truncate(reason, 80)
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
                truncate(k, 40)
            ));
        }
        let mut eval = self.evaluation(id, status);
        eval.value = outcome.value;
        eval.reason = outcome.reason;
        eval.labels = outcome.labels.into_iter().collect();
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
            tracing::debug!(metric = name, stream, "{}", text.trim_end());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_message_is_extracted_from_rust_stderr() {
        let stderr = "\nthread '<unnamed>' panicked at src/lib.rs:9:9:\nboom: 42\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            panic_message(stderr).as_deref(),
            Some("panicked at src/lib.rs:9:9: boom: 42")
        );
        assert_eq!(panic_message("nothing here"), None);
    }

    #[test]
    fn other_crashes_report_the_last_lines_of_stderr() {
        assert_eq!(
            stderr_tail("a\n\nb\nc\nd\nasked to crash\n").as_deref(),
            Some("b c d asked to crash")
        );
        assert_eq!(stderr_tail("  \n"), None);
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("Grüße", 3), "Gr…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
