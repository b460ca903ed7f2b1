//! Aggregates of a run: per metric (and per segment with `--group-by`),
//! counts by outcome, pass and error rates, value mean and quantiles.
//!
//! Memory stays bounded on any dataset size: values are kept exactly up to
//! [`EXACT_VALUES`] per aggregate, then folded into a DDSketch (1% relative
//! error), so small runs get exact quantiles and huge ones constant memory.

use std::collections::BTreeMap;

use sketches_ddsketch::{Config as SketchConfig, DDSketch};

pub use caliper_report::figures::Figures;
use caliper_report::run_report::MetricReport;
use caliper_types::outcome::{Evaluation, Status};

/// Values kept exactly per aggregate before switching to a sketch.
pub const EXACT_VALUES: usize = 10_000;

/// A stream of values with mean and quantiles.
#[derive(Clone)]
pub struct Distribution {
    exact: Vec<f64>,
    sketch: Option<DDSketch>,
    count: u64,
    sum: f64,
}

impl Default for Distribution {
    fn default() -> Self {
        Distribution {
            exact: Vec::new(),
            sketch: None,
            count: 0,
            sum: 0.0,
        }
    }
}

impl Distribution {
    /// Adds a (finite) value.
    pub fn add(&mut self, v: f64) {
        self.count += 1;
        self.sum += v;
        match &mut self.sketch {
            Some(sketch) => sketch.add(v),
            None if self.exact.len() < EXACT_VALUES => self.exact.push(v),
            None => {
                let mut sketch = DDSketch::new(SketchConfig::defaults());
                for x in self.exact.drain(..) {
                    sketch.add(x);
                }
                sketch.add(v);
                self.sketch = Some(sketch);
            }
        }
    }

    /// Number of values.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Mean, if any values.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }

    /// The `q`-quantile (0..=1): exact (nearest rank) while small, else
    /// the sketch's estimate.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if let Some(sketch) = &self.sketch {
            return sketch.quantile(q).ok().flatten();
        }
        if self.exact.is_empty() {
            return None;
        }
        let mut sorted = self.exact.clone();
        sorted.sort_by(f64::total_cmp);
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        Some(sorted[rank - 1])
    }
}

/// Running counts for one metric (in one segment).
#[derive(Clone, Default)]
pub struct Stats {
    counts: BTreeMap<Status, u64>,
    values: Distribution,
    durations: Distribution,
    filtered: u64,
}

impl Stats {
    /// Adds one evaluation.
    pub fn add(&mut self, e: &Evaluation) {
        *self.counts.entry(e.outcome).or_default() += 1;
        if let Some(v) = e.value
            && v.is_finite()
        {
            self.values.add(v);
        }
        self.durations.add(e.duration_us as f64);
    }

    /// Counts a sample the metric's `when` filter excluded.
    pub fn add_filtered(&mut self) {
        self.filtered += 1;
    }

    fn count(&self, s: Status) -> u64 {
        self.counts.get(&s).copied().unwrap_or(0)
    }

    /// The figures for reports.
    pub fn figures(&self) -> Figures {
        let evaluated: u64 = self.counts.values().sum();
        let skip = self.count(Status::Skip);
        let errors: u64 = Status::ALL
            .iter()
            .filter(|s| s.is_error())
            .map(|s| self.count(*s))
            .sum();
        let applicable = evaluated - skip;
        let rate = |n: u64| (applicable > 0).then(|| n as f64 / applicable as f64);
        Figures {
            evaluated,
            applicable,
            filtered: self.filtered,
            pass: self.count(Status::Pass),
            fail: self.count(Status::Fail),
            skip,
            errors,
            error_kinds: Status::ALL
                .iter()
                .filter(|s| s.is_error() && self.count(**s) > 0)
                .map(|s| (s.as_str().to_owned(), self.count(*s)))
                .collect(),
            pass_rate: rate(self.count(Status::Pass)),
            error_rate: rate(errors),
            mean: self.values.mean(),
            p50: self.values.quantile(0.5),
            p95: self.values.quantile(0.95),
            duration_p50_us: self.durations.quantile(0.5),
            duration_p95_us: self.durations.quantile(0.95),
        }
    }
}

/// The report line of `spec` with `stats`.
pub fn metric_report(spec: &caliper_engine::metric::MetricSpec, stats: &Stats) -> MetricReport {
    MetricReport {
        metric: spec.name.clone(),
        name: spec.plugin.descriptor.name.clone(),
        version: spec.plugin.descriptor.version.clone(),
        digest: spec.plugin.digest.clone(),
        figures: stats.figures(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_quantiles_use_nearest_rank() {
        let mut d = Distribution::default();
        for v in 1..=20 {
            d.add(v as f64);
        }
        assert_eq!(d.quantile(0.5), Some(10.0));
        assert_eq!(d.quantile(0.95), Some(19.0));
        assert_eq!(d.mean(), Some(10.5));
    }

    #[test]
    fn large_streams_switch_to_a_sketch_within_one_percent() {
        let mut d = Distribution::default();
        let n = EXACT_VALUES * 3;
        for v in 1..=n {
            d.add(v as f64);
        }
        let p50 = d.quantile(0.5).unwrap();
        assert!((p50 / (n as f64 / 2.0) - 1.0).abs() < 0.02, "{p50}");
        assert_eq!(d.count(), n as u64);
    }

    #[test]
    fn errors_count_against_the_pass_rate_and_skips_do_not() {
        let mut s = Stats::default();
        let e = |outcome| Evaluation {
            sample_id: "s".into(),
            metric: "m".into(),
            name: "m".into(),
            version: "1".into(),
            digest: "d".into(),
            outcome,
            value: None,
            reason: None,
            labels: Default::default(),
            duration_us: 1,
        };
        for st in [
            Status::Pass,
            Status::Pass,
            Status::Fail,
            Status::Timeout,
            Status::Skip,
        ] {
            s.add(&e(st));
        }
        let f = s.figures();
        assert_eq!((f.evaluated, f.applicable, f.errors), (5, 4, 1));
        assert_eq!(f.pass_rate, Some(0.5));
        assert_eq!(f.error_rate, Some(0.25));
        assert_eq!(f.error_kinds.get("timeout"), Some(&1));
    }
}
