//! The statistics of `caliper compare`: Wilson intervals for pass rates, the
//! exact McNemar test for paired pass/fail outcomes, and seeded paired
//! bootstrap intervals for differences.
//!
//! Distributions come from `statrs`; the reference values in the tests are
//! from statsmodels 0.14 (`proportion_confint(method="wilson")`,
//! `mcnemar(exact=True)`) and scipy (`binomtest`).

use serde::Serialize;
use statrs::distribution::{Binomial, ContinuousCDF, DiscreteCDF, Normal};

/// A two-sided confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
}

impl Interval {
    /// Whether the interval contains `x`.
    pub fn contains(&self, x: f64) -> bool {
        self.lo <= x && x <= self.hi
    }
}

/// The two-sided normal quantile for `confidence` (1.96 for 0.95).
pub fn z_for(confidence: f64) -> f64 {
    let normal = Normal::new(0.0, 1.0).expect("standard normal");
    normal.inverse_cdf(0.5 + confidence / 2.0)
}

/// Wilson score interval of a proportion `successes / n`; `None` when n = 0.
pub fn wilson(successes: u64, n: u64, confidence: f64) -> Option<Interval> {
    if n == 0 {
        return None;
    }
    let (k, n) = (successes as f64, n as f64);
    let z = z_for(confidence);
    let p = k / n;
    let z2 = z * z;
    let center = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(Interval {
        lo: (center - half).max(0.0),
        hi: (center + half).min(1.0),
    })
}

/// Exact two-sided McNemar test: the p-value of `b` against `c` discordant
/// pairs under H0 (each discordant pair equally likely to go either way),
/// i.e. a two-sided binomial test of min(b, c) in b + c trials at 1/2.
/// 1.0 when there are no discordant pairs.
pub fn mcnemar_exact(b: u64, c: u64) -> f64 {
    let n = b + c;
    if n == 0 {
        return 1.0;
    }
    let binomial = Binomial::new(0.5, n).expect("valid binomial");
    (2.0 * binomial.cdf(b.min(c))).min(1.0)
}

/// SplitMix64: a tiny generator with a fixed, documented sequence, so a
/// seeded bootstrap gives the same interval on every machine and version.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform index below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        // Lemire's multiply-shift; the bias is below 2^-32 for any n we see.
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// Percentile bootstrap interval of the mean of paired differences
/// `diffs` (candidate minus baseline per matched sample), with
/// `resamples` resamples from `seed`. `None` when `diffs` is empty.
pub fn bootstrap_mean(
    diffs: &[f64],
    confidence: f64,
    resamples: usize,
    seed: u64,
) -> Option<Interval> {
    if diffs.is_empty() || resamples == 0 {
        return None;
    }
    let n = diffs.len();
    let mut rng = SplitMix64::new(seed);
    let mut means: Vec<f64> = (0..resamples)
        .map(|_| (0..n).map(|_| diffs[rng.below(n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    let at = |q: f64| means[((resamples - 1) as f64 * q).round() as usize];
    Some(Interval {
        lo: at(tail),
        hi: at(1.0 - tail),
    })
}

/// The mean of some values (`None` when empty).
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn wilson_matches_statsmodels() {
        // proportion_confint(k, n, alpha=0.05, method="wilson")
        for (k, n, lo, hi) in [
            (8, 10, 0.49016247153664183, 0.9433178485456247),
            (0, 20, 0.0, 0.1611251580528194),
            (95, 100, 0.8882495307680808, 0.9784563208456319),
        ] {
            let i = wilson(k, n, 0.95).unwrap();
            assert!(close(i.lo, lo) && close(i.hi, hi), "{k}/{n}: {i:?}");
        }
        assert!(wilson(0, 0, 0.95).is_none());
        assert!((z_for(0.95) - 1.959963984540054).abs() < 1e-12);
    }

    #[test]
    fn mcnemar_matches_scipy_and_statsmodels() {
        // binomtest(2, 10, 0.5), binomtest(0, 5, 0.5), binomtest(7, 40, 0.5)
        assert!(close(mcnemar_exact(2, 8), 0.109375));
        assert!(close(mcnemar_exact(8, 2), 0.109375));
        assert!(close(mcnemar_exact(0, 5), 0.0625));
        assert!((mcnemar_exact(7, 33) - 4.2277022657799534e-05).abs() < 1e-15);
        // mcnemar([[50, 3], [12, 35]], exact=True)
        assert!(close(mcnemar_exact(3, 12), 0.03515625));
        assert_eq!(mcnemar_exact(0, 0), 1.0);
        assert_eq!(mcnemar_exact(5, 5), 1.0);
    }

    #[test]
    fn bootstrap_is_seeded_and_brackets_the_mean() {
        let diffs: Vec<f64> = (0..200)
            .map(|i| if i % 4 == 0 { -1.0 } else { 0.0 })
            .collect();
        let a = bootstrap_mean(&diffs, 0.95, 2000, 7).unwrap();
        let b = bootstrap_mean(&diffs, 0.95, 2000, 7).unwrap();
        assert_eq!(a, b);
        assert!(a.contains(-0.25) && a.hi < 0.0, "{a:?}");
        // Roughly the normal interval: -0.25 ± 1.96 * sqrt(0.1875 / 200).
        let half = 1.96 * (0.1875f64 / 200.0).sqrt();
        assert!((a.lo - (-0.25 - half)).abs() < 0.02, "{a:?}");
        assert!(bootstrap_mean(&[], 0.95, 100, 1).is_none());
        let constant = bootstrap_mean(&[0.5; 10], 0.95, 100, 1).unwrap();
        assert_eq!((constant.lo, constant.hi), (0.5, 0.5));
    }
}
