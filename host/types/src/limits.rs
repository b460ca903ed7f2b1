//! What an operator allows a metric: resource [`Limits`] and granted
//! capabilities ([`Grants`]). The engine enforces them; this is the data.

use serde::{Deserialize, Serialize};

/// Resource limits for one metric instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Wall-clock deadline for one evaluation, in milliseconds (enforced by
    /// epoch interruption).
    pub timeout_ms: u64,
    /// Cap on the instance's total linear memory, in MiB.
    pub memory_mib: u64,
    /// Optional fuel budget per evaluation: a deterministic CPU limit
    /// (roughly one unit per Wasm instruction).
    pub fuel: Option<u64>,
    /// Instantiate a fresh instance for every sample instead of reusing one
    /// per worker (slower; for metrics that keep state between calls).
    pub fresh_instance: bool,
    /// Samples per `evaluate-batch` call (1: one `evaluate` call per
    /// sample). Batches amortise the call cost of Python and JavaScript
    /// components; the deadline and fuel scale with the batch size, and a
    /// batch that traps is retried sample by sample to find the culprit.
    pub batch_size: usize,
    /// Deadline for starting an instance (instantiate and `configure`) the
    /// first time, in milliseconds: generous, since Python and JavaScript
    /// runtimes warm up then. Re-creating an instance after a trap (or for
    /// `fresh_instance`) is part of an evaluation and counts against that
    /// evaluation's `timeout_ms` instead.
    pub start_timeout_ms: u64,
}

/// Default [`Limits::start_timeout_ms`]: generous, since Python and
/// JavaScript runtimes warm up on their first call.
pub const DEFAULT_START_TIMEOUT_MS: u64 = 10_000;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout_ms: 1_000,
            memory_mib: 64,
            fuel: None,
            fresh_instance: false,
            batch_size: 1,
            start_timeout_ms: DEFAULT_START_TIMEOUT_MS,
        }
    }
}

impl Limits {
    /// The limits for running a component's start-up code (`describe` at
    /// load time): its memory and fuel caps, with the start deadline as the
    /// deadline.
    pub fn for_start(&self) -> Limits {
        Limits {
            timeout_ms: self.start_timeout_ms,
            ..self.clone()
        }
    }

    /// The tighter of each cap of `self` and `other`: one component file
    /// used by several metrics is described once, under every one of their
    /// limits.
    pub fn strictest(&self, other: &Limits) -> Limits {
        Limits {
            timeout_ms: self.timeout_ms.min(other.timeout_ms),
            memory_mib: self.memory_mib.min(other.memory_mib),
            fuel: match (self.fuel, other.fuel) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            fresh_instance: self.fresh_instance || other.fresh_instance,
            batch_size: self.batch_size.min(other.batch_size),
            start_timeout_ms: self.start_timeout_ms.min(other.start_timeout_ms),
        }
    }
}

/// Capabilities an operator grants a metric. All default to denied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Grants {
    /// Real wall and monotonic clocks instead of a frozen one.
    pub clock: bool,
    /// Real entropy instead of a fixed seed.
    pub random: bool,
}
