//! How numbers read in every report, table and message: the one home of
//! percentage, percentage-point, p-value, duration and count formatting.

/// A rate as a percentage with one decimal: `0.02` is `2.0%`.
pub fn pct(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

/// [`pct`], or `-` when there is no rate (nothing applicable).
pub fn pct_or_dash(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".into(), pct)
}

/// A rate as a percentage with no more digits than it needs, float noise
/// rounded away: `1 - 0.98` is `2%`, `0.001` is `0.1%` (for generated
/// alert rules, which people read next to the thresholds they wrote).
pub fn pct_rounded(rate: f64) -> String {
    format!("{}%", round(rate * 100.0))
}

/// `v` rounded to nine decimals: `1 - 0.98 = 0.020000000000000018` is
/// `0.02`.
pub fn round(v: f64) -> f64 {
    (v * 1e9).round() / 1e9
}

/// A change of a rate in percentage points, with its sign: `-0.3` is
/// `-30.0 pts`.
pub fn signed_pts(change: f64) -> String {
    format!("{:+.1} pts", change * 100.0)
}

/// A p-value for humans: four decimals, or scientific below `1e-4`.
pub fn p_value(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

/// Milliseconds with sensible precision: `250 ms`, `12.5 ms`, `0.042 ms`.
pub fn millis(ms: f64) -> String {
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 1.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.3} ms")
    }
}

/// A count with thousands separators: `3400` is `3,400`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A size in bytes as MiB with one decimal: `1572864` is `1.5 MiB`.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_mib() {
        assert_eq!(mib(1_572_864), "1.5 MiB");
        assert_eq!(mib(0), "0.0 MiB");
    }

    #[test]
    fn each_format_reads_as_documented() {
        assert_eq!(pct(0.02), "2.0%");
        assert_eq!(pct_or_dash(None), "-");
        assert_eq!(pct_rounded(1.0 - 0.98), "2%");
        assert_eq!(pct_rounded(0.001), "0.1%");
        assert_eq!(signed_pts(-0.3), "-30.0 pts");
        assert_eq!(signed_pts(0.05), "+5.0 pts");
        assert_eq!(p_value(0.03), "0.0300");
        assert_eq!(p_value(1e-6), "1.0e-6");
        assert_eq!(millis(250.4), "250 ms");
        assert_eq!(millis(0.0421), "0.042 ms");
        assert_eq!(thousands(3400), "3,400");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }
}
