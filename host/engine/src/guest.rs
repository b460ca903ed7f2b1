//! A guest's store: created sandboxed and armed with a deadline, refuelled,
//! and what a failed call means (timeout, memory, trap, a panic's message).
//! Shared by describing a component (`plugin`) and running it (`instance`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::{Store, Trap};

use crate::engine::Runtime;
use crate::sandbox::{DeadlineReached, StoreState};
use caliper_types::limits::{Grants, Limits};
use caliper_types::outcome::Status;

/// Longest reason a metric may return, in bytes.
pub const MAX_REASON_BYTES: usize = 4096;
/// Most labels a metric may return per sample.
pub const MAX_LABELS: usize = 32;
/// Longest label key or value, in bytes.
pub const MAX_LABEL_BYTES: usize = 256;

/// A new sandboxed store for one instance, armed with the deadline of
/// `limits` from now.
pub(crate) fn new_store(
    runtime: &Runtime,
    instance: Arc<str>,
    limits: &Limits,
    grants: &Grants,
) -> Store<StoreState> {
    let mut store = Store::new(runtime.engine(), StoreState::new(instance, limits, grants));
    store.limiter(|s| &mut s.limiter);
    store.set_hostcall_fuel(crate::sandbox::HOSTCALL_BYTES);
    store.epoch_deadline_trap();
    arm(&mut store, Deadline::after(limits.timeout_ms, None));
    refuel(runtime, &mut store, limits, 1);
    store
}

/// When a guest call must end, and why that instant.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    at: Instant,
    /// The budget of the metric's own limit, in milliseconds.
    own_ms: u64,
    /// Whether a caller's deadline (a request's) comes before the metric's
    /// own limit.
    by_caller: bool,
}

impl Deadline {
    /// `own_ms` from now, or `caller` if that is sooner.
    pub(crate) fn after(own_ms: u64, caller: Option<Instant>) -> Deadline {
        let own = Instant::now()
            .checked_add(Duration::from_millis(own_ms))
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365));
        match caller {
            Some(c) if c < own => Deadline {
                at: c,
                own_ms,
                by_caller: true,
            },
            _ => Deadline {
                at: own,
                own_ms,
                by_caller: false,
            },
        }
    }

    pub(crate) fn passed(&self) -> bool {
        Instant::now() >= self.at
    }

    /// The cause of a timeout at this deadline.
    pub(crate) fn exceeded(&self) -> String {
        if self.by_caller {
            "did not finish before the request's deadline".to_owned()
        } else {
            format!("exceeded its deadline of {} ms", self.own_ms)
        }
    }
}

/// Arms a store for a call that must end at `deadline`: the epoch deadline
/// stops guest code, the store's deadline cuts guest waits in host calls.
pub(crate) fn arm(store: &mut Store<StoreState>, deadline: Deadline) {
    let remaining = deadline.at.saturating_duration_since(Instant::now());
    let ms = u64::try_from(remaining.as_millis()).unwrap_or(u64::MAX);
    store.set_epoch_deadline(Runtime::ticks_for(ms));
    store.data_mut().deadline = Some(deadline.at);
}

/// Gives a store its fuel budget for `samples` evaluations. When the engine
/// counts fuel (because some metric has a budget), metrics without one get
/// unlimited fuel.
pub(crate) fn refuel(
    runtime: &Runtime,
    store: &mut Store<StoreState>,
    limits: &Limits,
    samples: u64,
) {
    if runtime.options().fuel {
        let fuel = limits.fuel.map_or(u64::MAX, |f| f.saturating_mul(samples));
        // Cannot fail: the engine counts fuel.
        let _ = store.set_fuel(fuel);
    }
}

/// Turns a wasmtime error from a guest call into an outcome and a cause,
/// for a call armed with the deadline of `limits`.
pub(crate) fn classify_failure(
    err: &wasmtime::Error,
    store: &mut Store<StoreState>,
    limits: &Limits,
) -> (Status, String) {
    classify(
        err,
        store,
        limits,
        &Deadline::after(limits.timeout_ms, None),
    )
}

/// Turns a wasmtime error from a guest call armed with `deadline` into an
/// outcome and a cause (made [inert](caliper_types::text::inert): it may quote the
/// guest).
pub(crate) fn classify(
    err: &wasmtime::Error,
    store: &mut Store<StoreState>,
    limits: &Limits,
    deadline: &Deadline,
) -> (Status, String) {
    let stderr = store.data().stderr.take();
    if store.data().limiter.exceeded {
        return (
            Status::Memory,
            format!("exceeded its memory cap of {} MiB", limits.memory_mib),
        );
    }
    if err.downcast_ref::<DeadlineReached>().is_some() {
        return (
            Status::Timeout,
            format!("{} (waiting in a host call)", deadline.exceeded()),
        );
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => {
            return (Status::Timeout, deadline.exceeded());
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
    (
        Status::Trap,
        caliper_types::text::inert(&cause, MAX_REASON_BYTES),
    )
}

/// The last non-empty lines of captured stderr (at most 4, 500 bytes).
fn stderr_tail(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let tail = &lines[lines.len().saturating_sub(4)..];
    (!tail.is_empty()).then(|| caliper_types::text::truncate(tail.join(" "), 500))
}

/// Extracts a Rust-style panic message from captured stderr.
fn panic_message(stderr: &str) -> Option<String> {
    let start = stderr.rfind("panicked at")?;
    let text: Vec<&str> = stderr[start..]
        .lines()
        .filter(|l| !l.starts_with("note: run with"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(4)
        .collect();
    Some(caliper_types::text::truncate(text.join(" "), 500))
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
}
