//! Admission control of `caliper serve`: counted budgets that work is
//! admitted against, and the bound a refused request names.
//!
//! Three budgets bound the guest work of the service:
//!
//! | bound | unit | taken by |
//! |---|---|---|
//! | `concurrency` (`serve.max_concurrency`) | one evaluation thread | every metric of a `/v1/evaluate` request |
//! | `metric_concurrency` (`serve.metric_concurrency`) | one evaluation of that metric = one live instance | requests and ingest workers |
//! | `memory` (`serve.memory_budget_mib`) | MiB of the metric's `memory_mib` | requests and ingest workers |
//!
//! A request takes everything it needs up front or nothing (and is shed with
//! 503, naming the bound); ingest workers wait instead. A [`Grant`] gives
//! its share back when dropped, which the blocking thread that runs the
//! evaluation does when it ends, not when the request gives up waiting: the
//! budgets count the threads that really run.

use caliper_config::ServeConfig;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A bound a request can be shed by (the `reason` label of
/// `caliper_shed_total`, and `error.bound` of the 503 body).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// Evaluations running at once, all metrics together.
    Concurrency,
    /// Evaluations of one metric at once (its instance pool).
    MetricConcurrency,
    /// Guest memory reserved by running evaluations.
    Memory,
    /// Open client connections.
    Connections,
    /// The ingest queue (samples or bytes).
    IngestQueue,
}

impl Bound {
    /// Every bound, for counters that exist at 0 from the start.
    pub const ALL: [Bound; 5] = [
        Bound::Concurrency,
        Bound::MetricConcurrency,
        Bound::Memory,
        Bound::Connections,
        Bound::IngestQueue,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Bound::Concurrency => "concurrency",
            Bound::MetricConcurrency => "metric_concurrency",
            Bound::Memory => "memory",
            Bound::Connections => "connections",
            Bound::IngestQueue => "ingest_queue",
        }
    }

    /// The `[serve]` key that sets it.
    pub fn setting(self) -> &'static str {
        match self {
            Bound::Concurrency => "serve.max_concurrency",
            Bound::MetricConcurrency => "serve.metric_concurrency",
            Bound::Memory => "serve.memory_budget_mib",
            Bound::Connections => "serve.max_connections",
            Bound::IngestQueue => "serve.queue_capacity / serve.queue_max_bytes",
        }
    }
}

/// A counted budget (threads, instances or MiB).
#[derive(Debug)]
pub struct Budget {
    capacity: u64,
    used: Mutex<u64>,
    freed: Condvar,
}

impl Budget {
    /// A budget of `capacity` units (at least 1).
    pub fn new(capacity: u64) -> Arc<Budget> {
        Arc::new(Budget {
            capacity: capacity.max(1),
            used: Mutex::new(0),
            freed: Condvar::new(),
        })
    }

    /// Its capacity.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Units taken now.
    pub fn in_use(&self) -> u64 {
        *self.used.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A share larger than the whole budget takes the whole budget (so it
    /// can run alone rather than never).
    fn clamp(&self, units: u64) -> u64 {
        units.min(self.capacity)
    }

    /// Takes `units` if they are free now.
    pub fn try_take(self: &Arc<Self>, units: u64) -> Option<Grant> {
        let units = self.clamp(units);
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        if *used + units > self.capacity {
            return None;
        }
        *used += units;
        Some(Grant {
            budget: self.clone(),
            units,
        })
    }

    /// Takes `units`, waiting for them; gives up (`None`) once `give_up`
    /// says so (checked every 50 ms).
    pub fn take(self: &Arc<Self>, units: u64, give_up: &dyn Fn() -> bool) -> Option<Grant> {
        let units = self.clamp(units);
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if *used + units <= self.capacity {
                *used += units;
                return Some(Grant {
                    budget: self.clone(),
                    units,
                });
            }
            if give_up() {
                return None;
            }
            used = self
                .freed
                .wait_timeout(used, Duration::from_millis(50))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits until nothing is taken, or `until`; whether it got there.
    pub fn wait_idle(&self, until: Instant) -> bool {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        while *used > 0 {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            used = self
                .freed
                .wait_timeout(used, left.min(Duration::from_millis(50)))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }
}

/// Units taken from a [`Budget`]; given back when dropped.
#[derive(Debug)]
pub struct Grant {
    budget: Arc<Budget>,
    units: u64,
}

impl Drop for Grant {
    fn drop(&mut self) {
        let mut used = self.budget.used.lock().unwrap_or_else(|e| e.into_inner());
        *used -= self.units;
        drop(used);
        self.budget.freed.notify_all();
    }
}

/// The settings of `[serve]` that default to a share of this machine: its
/// cores and its memory (or its cgroup's), read when the service starts.
pub trait MachineDefaults {
    /// `max_concurrency` in effect [default: 4 per core].
    fn concurrency(&self) -> usize;
    /// `metric_concurrency` in effect [default: 2 per core, at most
    /// [`MachineDefaults::concurrency`]].
    fn per_metric_concurrency(&self) -> usize;
    /// `memory_budget_mib` in effect [default: half the memory of the
    /// machine or cgroup, at least 256].
    fn memory_budget(&self) -> u64;
}

/// Cores available to this process.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

impl MachineDefaults for ServeConfig {
    fn concurrency(&self) -> usize {
        self.max_concurrency.unwrap_or_else(|| 4 * cores()).max(1)
    }

    fn per_metric_concurrency(&self) -> usize {
        self.metric_concurrency
            .unwrap_or_else(|| 2 * cores())
            .clamp(1, self.concurrency())
    }

    fn memory_budget(&self) -> u64 {
        self.memory_budget_mib
            .unwrap_or_else(|| (machine_memory_mib().unwrap_or(4096) / 2).max(256))
    }
}

/// The memory of the machine, or of the cgroup (v2) when it is limited, in
/// MiB.
fn machine_memory_mib() -> Option<u64> {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kib| kib / 1024)
    });
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok())
        .map(|bytes| bytes >> 20);
    match (total, cgroup) {
        (Some(t), Some(c)) => Some(t.min(c)),
        (t, c) => t.or(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_are_bounded_and_given_back() {
        let b = Budget::new(3);
        let two = b.try_take(2).unwrap();
        assert!(b.try_take(2).is_none());
        let one = b.try_take(1).unwrap();
        assert_eq!(b.in_use(), 3);
        drop(two);
        // Larger than the budget: takes all of it, once free.
        assert!(b.try_take(10).is_none());
        drop(one);
        let all = b.try_take(10).unwrap();
        assert_eq!(b.in_use(), 3);
        assert!(b.take(1, &|| true).is_none());
        drop(all);
        assert!(b.wait_idle(Instant::now()));
        assert!(b.take(1, &|| false).is_some());
    }
}
