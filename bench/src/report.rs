//! The results as a text table (stdout) and as JSON (`--json`).

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::measure::{Results, Target, median};

/// Medians and derived figures of one target.
struct Row {
    native_s: Option<f64>,
    wasm_s: Option<f64>,
    native_cpu_s: Option<f64>,
    wasm_cpu_s: Option<f64>,
}

impl Row {
    fn of(t: &Target) -> Row {
        Row {
            native_s: median(&t.native),
            wasm_s: median(&t.wasm),
            native_cpu_s: median(&t.native_cpu),
            wasm_cpu_s: median(&t.wasm_cpu),
        }
    }

    fn ratio(&self) -> Option<f64> {
        Some(self.wasm_s? / self.native_s?)
    }

    fn cpu_ratio(&self) -> Option<f64> {
        Some(self.wasm_cpu_s? / self.native_cpu_s?)
    }
}

fn us_per_sample(seconds: Option<f64>, samples: u64) -> Option<f64> {
    seconds.map(|s| s * 1e6 / samples.max(1) as f64)
}

fn per_second(seconds: Option<f64>, n: u64) -> Option<f64> {
    seconds.filter(|s| *s > 0.0).map(|s| n as f64 / s)
}

fn cell(v: Option<f64>, decimals: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.decimals$}"))
}

/// A plain-text table of medians, ratios and the verdict cross-check.
pub fn table(r: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{} samples from {}, {} threads per side, median of {} runs \
         (µs per sample: wall-clock, and CPU of all threads)\n",
        r.samples, r.dataset, r.jobs, r.repeat
    );
    let _ = writeln!(
        out,
        "{:<18} {:>11} {:>11} {:>8} {:>11} {:>11} {:>8}",
        "metric", "native wall", "wasm wall", "ratio", "native cpu", "wasm cpu", "ratio"
    );
    for t in &r.targets {
        let row = Row::of(t);
        let _ = writeln!(
            out,
            "{:<18} {:>11} {:>11} {:>8} {:>11} {:>11} {:>8}",
            t.name,
            cell(us_per_sample(row.native_s, r.samples), 2),
            cell(us_per_sample(row.wasm_s, r.samples), 2),
            row.ratio().map_or("-".into(), |x| format!("{x:.2}x")),
            cell(us_per_sample(row.native_cpu_s, r.samples), 2),
            cell(us_per_sample(row.wasm_cpu_s, r.samples), 2),
            row.cpu_ratio().map_or("-".into(), |x| format!("{x:.2}x")),
        );
    }
    if let Some((prepare_ns, costs)) = &r.calls {
        let _ = writeln!(
            out,
            "\nsingle-threaded cost of one call, without the runner (CPU ns per evaluated sample):"
        );
        let _ = writeln!(
            out,
            "{:<22} {:>12} {:>12} {:>11} {:>12}",
            "metric", "native ns", "wasm ns", "wasm/native", "wasm-native"
        );
        for c in costs {
            let _ = writeln!(
                out,
                "{:<22} {:>12.0} {:>12.0} {:>10.2}x {:>12.0}",
                c.name,
                c.native_ns,
                c.wasm_ns,
                c.wasm_ns / c.native_ns.max(1e-9),
                c.wasm_ns - c.native_ns
            );
        }
        let _ = writeln!(
            out,
            "host conversion of a sample for all metrics (prepare): {prepare_ns:.0} ns"
        );
    }
    if !r.checks.is_empty() {
        let _ = writeln!(out, "\nverdicts (warm-up run), native vs wasm:");
        for c in &r.checks {
            let n = &c.native;
            let w = &c.wasm;
            let _ = writeln!(
                out,
                "  {:<22} pass {}/{} fail {}/{} skip {}/{} error {}/{} {}",
                c.metric,
                n.pass,
                w.pass,
                n.fail,
                w.fail,
                n.skip,
                w.skip,
                n.errors,
                w.errors,
                if n == w { "same" } else { "DIFFERENT" }
            );
        }
    }
    out
}

/// Everything as JSON, for scripts.
pub fn json(r: &Results) -> Value {
    json!({
        "dataset": r.dataset,
        "samples": r.samples,
        "jobs": r.jobs,
        "repeat": r.repeat,
        "sides": format!("{:?}", r.sides).to_lowercase(),
        "targets": r.targets.iter().map(|t| {
            let row = Row::of(t);
            json!({
                "name": t.name,
                "evaluations": t.evaluations,
                "native_s": t.native,
                "wasm_s": t.wasm,
                "native_median_s": row.native_s,
                "wasm_median_s": row.wasm_s,
                "native_us_per_sample": us_per_sample(row.native_s, r.samples),
                "wasm_us_per_sample": us_per_sample(row.wasm_s, r.samples),
                "native_evals_per_s": per_second(row.native_s, t.evaluations),
                "wasm_evals_per_s": per_second(row.wasm_s, t.evaluations),
                "ratio": row.ratio(),
                "native_cpu_s": t.native_cpu,
                "wasm_cpu_s": t.wasm_cpu,
                "native_cpu_us_per_sample": us_per_sample(row.native_cpu_s, r.samples),
                "wasm_cpu_us_per_sample": us_per_sample(row.wasm_cpu_s, r.samples),
                "cpu_ratio": row.cpu_ratio(),
            })
        }).collect::<Vec<_>>(),
        "calls": r.calls.as_ref().map(|(prepare_ns, costs)| json!({
            "prepare_ns_per_sample": prepare_ns,
            "metrics": costs.iter().map(|c| json!({
                "name": c.name,
                "native_ns": c.native_ns,
                "wasm_ns": c.wasm_ns,
                "ratio": c.wasm_ns / c.native_ns.max(1e-9),
            })).collect::<Vec<_>>(),
        })),
        "checks": r.checks.iter().map(|c| json!({
            "metric": c.metric,
            "same": c.native == c.wasm,
            "native": {"pass": c.native.pass, "fail": c.native.fail, "skip": c.native.skip, "errors": c.native.errors},
            "wasm": {"pass": c.wasm.pass, "fail": c.wasm.fail, "skip": c.wasm.skip, "errors": c.wasm.errors},
        })).collect::<Vec<_>>(),
    })
}
