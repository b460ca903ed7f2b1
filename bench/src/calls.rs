//! Where the time goes: single-threaded cost of one call, without the
//! runner. Native: `Metric::evaluate` on an SDK sample. Wasm: one
//! [`MetricInstance::evaluate`] on a prepared sample (lowering the sample
//! into the guest, the guest's conversion and scoring, lifting and checking
//! the outcome). Plus the host's per-sample conversion
//! ([`caliper_engine::prepared::Prepare::prepare`]), paid once per sample for all
//! metrics by the runner. Timed in CPU time (the machine may be shared).

use std::sync::Arc;

use anyhow::{Result, anyhow};
use caliper_engine::instance::MetricInstance;
use caliper_engine::metric::MetricSpec;
use caliper_engine::prepared::{Prepare, PreparedSample};

use crate::clock::Clock;
use crate::measure::median;
use crate::native::NativeSpec;
use crate::samples::Samples;

/// Per-call medians of one metric, in nanoseconds per applicable sample.
pub struct CallCost {
    /// Metric instance name.
    pub name: String,
    /// Native ns per call.
    pub native_ns: f64,
    /// Wasm ns per call.
    pub wasm_ns: f64,
}

/// Measures every metric alone, single-threaded, `repeat` times each side
/// (interleaved); also returns the median ns of `prepare()` per sample.
pub fn measure(
    specs: &[Arc<MetricSpec>],
    natives: &[NativeSpec],
    samples: &Samples,
    repeat: usize,
) -> Result<(f64, Vec<CallCost>)> {
    let mut prepare_ns = Vec::new();
    let mut prepared: Vec<PreparedSample> = Vec::new();
    for _ in 0..repeat {
        let clock = Clock::start();
        prepared = samples.host.iter().map(|s| s.prepare()).collect();
        prepare_ns.push(clock.stop().cpu * 1e9 / samples.len().max(1) as f64);
    }
    let mut costs = Vec::new();
    for (spec, native) in specs.iter().zip(natives) {
        let idx: Vec<usize> = (0..samples.len())
            .filter(|&i| native.applicable[i])
            .collect();
        let n = idx.len().max(1) as f64;
        let metric = (native.constructor)(&native.config)
            .map_err(|e| anyhow!("metric `{}` rejected its config: {e}", native.name))?;
        let mut instance = MetricInstance::new(spec.clone());
        instance
            .start()
            .map_err(|f| anyhow!("metric `{}`: {}", spec.name, f.message))?;
        // Warm-up: one pass each.
        for &i in &idx {
            drop(std::hint::black_box(metric.evaluate(&samples.native[i])));
            drop(std::hint::black_box(instance.evaluate(&prepared[i])));
        }
        let (mut native_ns, mut wasm_ns) = (Vec::new(), Vec::new());
        for _ in 0..repeat {
            let clock = Clock::start();
            for &i in &idx {
                drop(std::hint::black_box(metric.evaluate(&samples.native[i])));
            }
            native_ns.push(clock.stop().cpu * 1e9 / n);
            let clock = Clock::start();
            for &i in &idx {
                drop(std::hint::black_box(instance.evaluate(&prepared[i])));
            }
            wasm_ns.push(clock.stop().cpu * 1e9 / n);
        }
        costs.push(CallCost {
            name: spec.name.clone(),
            native_ns: median(&native_ns).unwrap_or_default(),
            wasm_ns: median(&wasm_ns).unwrap_or_default(),
        });
    }
    Ok((median(&prepare_ns).unwrap_or_default(), costs))
}
