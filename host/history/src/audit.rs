//! `caliper audit`: which micro metrics should be reviewed or retired,
//! judged from the run history.
//!
//! Every metric instance seen in a window of recorded runs (the last
//! [`DEFAULT_RUNS`] runs, or those since a number of days) is checked for:
//!
//! | kind | finding | severity |
//! |---|---|---|
//! | [`Kind::Stale`] | its review-by date has passed | warning |
//! | [`Kind::Silent`] | no fail in at least `silent_min_runs` runs: a retirement candidate | info |
//! | [`Kind::Noisy`] | fail rate above `noisy_max_fail_rate`, or flapping between runs | warning |
//! | [`Kind::Erroring`] | share of errors (error, timeout, memory, trap, invalid) above `max_error_rate` | error |
//! | [`Kind::Redundant`] | fail/pass outcomes correlate with another metric's on the same samples (phi) | info |
//! | [`Kind::Slow`] | p95 evaluation time above `slow_p95_ms` | warning |
//! | [`Kind::Ownerless`] | no owner, or the owner `unknown` | warning |
//!
//! This module is pure logic over [`MetricHistory`] values (the history
//! reads them, see [`crate::History::audit_window`]); every finding
//! carries its evidence as numbers. Thresholds come from the `[audit]`
//! section of `caliper.toml` ([`Settings`]).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use caliper_types::outcome::Status;
use caliper_types::stage::Stage;

pub use caliper_types::audit::{DEFAULT_RUNS, Settings};
pub use caliper_types::date::Date;
pub use caliper_types::stewardship::Stewardship;

/// Fewest runs with verdicts before a fail rate can be called flapping.
pub const FLAPPING_MIN_RUNS: usize = 3;

// ---------------------------------------------------------------------------
// Stewardship: owner, stage, review-by date
// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// Settings: the [audit] section
// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// Input: what the history holds about each metric instance
// ---------------------------------------------------------------------------

/// Outcome counts of a metric.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Pass verdicts.
    pub pass: u64,
    /// Fail verdicts.
    pub fail: u64,
    /// Skips (the metric does not apply).
    pub skip: u64,
    /// Failures of the metric itself, by kind (error, timeout, ...).
    pub errors: BTreeMap<String, u64>,
}

impl Counts {
    /// Counts one outcome.
    pub fn add(&mut self, status: Status) {
        match status {
            Status::Pass => self.pass += 1,
            Status::Fail => self.fail += 1,
            Status::Skip => self.skip += 1,
            other => *self.errors.entry(other.as_str().to_owned()).or_default() += 1,
        }
    }

    /// Adds other counts.
    pub fn merge(&mut self, other: &Counts) {
        self.pass += other.pass;
        self.fail += other.fail;
        self.skip += other.skip;
        for (kind, n) in &other.errors {
            *self.errors.entry(kind.clone()).or_default() += n;
        }
    }

    /// Errors of every kind.
    pub fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Every evaluation.
    pub fn evaluated(&self) -> u64 {
        self.pass + self.fail + self.skip + self.error_total()
    }

    /// Evaluations that were not skipped: the denominator of the error rate.
    pub fn applicable(&self) -> u64 {
        self.evaluated() - self.skip
    }

    /// Pass and fail verdicts: the denominator of the fail rate.
    pub fn verdicts(&self) -> u64 {
        self.pass + self.fail
    }

    /// Fails among verdicts.
    pub fn fail_rate(&self) -> Option<f64> {
        ratio(self.fail, self.verdicts())
    }

    /// Errors among applicable evaluations.
    pub fn error_rate(&self) -> Option<f64> {
        ratio(self.error_total(), self.applicable())
    }
}

fn ratio(n: u64, of: u64) -> Option<f64> {
    (of > 0).then(|| n as f64 / of as f64)
}

/// One metric instance in one recorded run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricRun {
    /// The run.
    pub run_id: i64,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// The metric's own name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// What the run recorded (empty for runs recorded before Caliper
    /// recorded stewardship).
    pub recorded: Stewardship,
    /// Its outcomes.
    pub counts: Counts,
    /// Every evaluation's wall time, in microseconds.
    pub durations_us: Vec<u64>,
}

/// Everything the audit knows about one metric instance in the window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricHistory {
    /// Instance name.
    pub metric: String,
    /// Whether the current config has it (`None`: no config was read).
    pub in_config: Option<bool>,
    /// Owner, stage and review date in effect (see [`Stewardship::resolve`]).
    pub stewardship: Stewardship,
    /// Its runs, oldest first.
    pub runs: Vec<MetricRun>,
    /// Its pass/fail verdicts, sorted by key; the key identifies a
    /// (run, sample) pair and is shared by every metric of the window;
    /// `true` is a fail. Skips and errors have none.
    pub verdicts: Vec<(u64, bool)>,
}

impl MetricHistory {
    /// The stewardship the newest run that recorded one has, if any.
    pub fn latest_recorded(&self) -> Stewardship {
        self.runs
            .iter()
            .rev()
            .find(|r| r.recorded.stage.is_some())
            .map(|r| r.recorded.clone())
            .unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------
// Output: findings
// ---------------------------------------------------------------------------

/// What is wrong with a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The review-by date has passed.
    Stale,
    /// No fail in many runs: a retirement candidate.
    Silent,
    /// Fails too often, or flaps between runs.
    Noisy,
    /// Errors, times out or traps too often.
    Erroring,
    /// Says what another metric says.
    Redundant,
    /// Evaluations take too long.
    Slow,
    /// Nobody owns it.
    Ownerless,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 7] = [
        Kind::Stale,
        Kind::Silent,
        Kind::Noisy,
        Kind::Erroring,
        Kind::Redundant,
        Kind::Slow,
        Kind::Ownerless,
    ];

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Stale => "stale",
            Kind::Silent => "silent",
            Kind::Noisy => "noisy",
            Kind::Erroring => "erroring",
            Kind::Redundant => "redundant",
            Kind::Slow => "slow",
            Kind::Ownerless => "ownerless",
        }
    }

    /// How bad a finding of this kind is.
    pub fn severity(self) -> Severity {
        match self {
            Kind::Erroring => Severity::Error,
            Kind::Stale | Kind::Noisy | Kind::Slow | Kind::Ownerless => Severity::Warning,
            Kind::Silent | Kind::Redundant => Severity::Info,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Kind, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| {
                let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                format!("unknown finding `{s}` (one of: {})", names.join(", "))
            })
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look (a candidate for retirement or merging).
    Info,
    /// Needs attention.
    Warning,
    /// The metric is not doing its job.
    Error,
}

impl Severity {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One finding about one metric instance, with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// What is wrong.
    pub kind: Kind,
    /// How bad it is.
    pub severity: Severity,
    /// The evidence, as a sentence with numbers.
    pub evidence: String,
    /// The measured number: days overdue (stale), runs without a fail
    /// (silent), fail rate or mean change (noisy), error rate (erroring),
    /// phi (redundant), p95 in ms (slow).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The threshold it crossed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// The other metric (redundant).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other: Option<String>,
}

impl Finding {
    fn new(kind: Kind, evidence: String) -> Finding {
        Finding {
            kind,
            severity: kind.severity(),
            evidence,
            value: None,
            threshold: None,
            other: None,
        }
    }

    fn measured(mut self, value: f64, threshold: f64) -> Finding {
        self.value = Some(value);
        self.threshold = Some(threshold);
        self
    }
}

/// The audit of one metric instance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricAudit {
    /// Instance name.
    pub metric: String,
    /// The metric's own name (newest run).
    pub name: String,
    /// Its version (newest run).
    pub version: String,
    /// Owner in effect.
    pub owner: Option<String>,
    /// Stage in effect.
    pub stage: Option<Stage>,
    /// Review-by date in effect.
    pub review_by: Option<Date>,
    /// Whether the current config has it (`null`: no config was read).
    pub in_config: Option<bool>,
    /// Runs of the window it ran in.
    pub runs: usize,
    /// Its outcomes over those runs.
    pub counts: Counts,
    /// Fails among verdicts.
    pub fail_rate: Option<f64>,
    /// Errors among applicable evaluations.
    pub error_rate: Option<f64>,
    /// p95 evaluation time, in milliseconds.
    pub p95_ms: Option<f64>,
    /// What is wrong, worst first.
    pub findings: Vec<Finding>,
}

/// The window the audit looked at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    /// Runs in it.
    pub runs: usize,
    /// At most this many runs were asked for.
    pub run_limit: Option<usize>,
    /// Only runs from this day on were asked for.
    pub since: Option<Date>,
    /// Oldest run id in it.
    pub first_run: Option<i64>,
    /// Newest run id in it.
    pub last_run: Option<i64>,
    /// Start of the oldest run.
    pub first_started_at: Option<String>,
    /// Start of the newest run.
    pub last_started_at: Option<String>,
}

/// The run the audit's window holds, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    /// Run id.
    pub id: i64,
    /// Start (RFC 3339).
    pub started_at: String,
}

/// The result of an audit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The day the audit was made as of.
    pub now: Date,
    /// The runs looked at.
    pub window: Window,
    /// The thresholds used.
    pub settings: Settings,
    /// Every metric instance of the window, in name order.
    pub metrics: Vec<MetricAudit>,
    /// Metrics of the current config that did not run in the window.
    pub not_run: Vec<String>,
    /// Findings in total.
    pub findings: usize,
}

impl Report {
    /// Findings of any of `kinds` (every kind when empty).
    pub fn count(&self, kinds: &[Kind]) -> usize {
        self.metrics
            .iter()
            .flat_map(|m| &m.findings)
            .filter(|f| kinds.is_empty() || kinds.contains(&f.kind))
            .count()
    }
}

// ---------------------------------------------------------------------------
// The audit
// ---------------------------------------------------------------------------

/// Audits `metrics` (from the runs of `runs`, oldest first) as of `now`;
/// `not_run` lists the config's metrics that the window does not have.
pub fn audit(
    runs: &[RunInfo],
    metrics: &[MetricHistory],
    not_run: Vec<String>,
    settings: &Settings,
    now: Date,
) -> Report {
    let mut audits: Vec<MetricAudit> = metrics
        .iter()
        .map(|m| audit_metric(m, settings, now))
        .collect();
    for (i, j, t, phi) in redundant_pairs(metrics, settings) {
        let runs_of = |m: &MetricHistory| m.runs.len();
        let shared_runs = runs_of(&metrics[i]).min(runs_of(&metrics[j]));
        for (me, other) in [(i, j), (j, i)] {
            let sign = if phi < 0.0 {
                " (opposite outcomes)"
            } else {
                ""
            };
            let evidence = format!(
                "phi = {phi:.2}{sign} with `{}` on {} shared samples over {} runs ({} fail together, {} fail alone; threshold |phi| >= {})",
                metrics[other].metric,
                thousands(t.total()),
                shared_runs,
                thousands(t.both_fail),
                thousands(t.only_a_fails + t.only_b_fails),
                settings.redundant_min_phi
            );
            let mut finding =
                Finding::new(Kind::Redundant, evidence).measured(phi, settings.redundant_min_phi);
            finding.other = Some(metrics[other].metric.clone());
            audits[me].findings.push(finding);
        }
    }
    for a in &mut audits {
        // Worst first; within a severity, in kind order.
        a.findings.sort_by(|x, y| {
            y.severity
                .cmp(&x.severity)
                .then_with(|| x.kind.cmp(&y.kind))
        });
    }
    audits.sort_by(|a, b| a.metric.cmp(&b.metric));
    let findings = audits.iter().map(|a| a.findings.len()).sum();
    Report {
        now,
        window: Window {
            runs: runs.len(),
            run_limit: settings.run_limit(),
            since: settings.since(now),
            first_run: runs.first().map(|r| r.id),
            last_run: runs.last().map(|r| r.id),
            first_started_at: runs.first().map(|r| r.started_at.clone()),
            last_started_at: runs.last().map(|r| r.started_at.clone()),
        },
        settings: settings.clone(),
        metrics: audits,
        not_run,
        findings,
    }
}

/// Every finding of one metric except redundancy (which needs pairs).
fn audit_metric(m: &MetricHistory, s: &Settings, now: Date) -> MetricAudit {
    let mut counts = Counts::default();
    for r in &m.runs {
        counts.merge(&r.counts);
    }
    let mut durations: Vec<u64> = m
        .runs
        .iter()
        .flat_map(|r| r.durations_us.iter().copied())
        .collect();
    let p95_ms = quantile(&mut durations, 0.95).map(|us| us as f64 / 1000.0);
    let runs = m.runs.len();
    let since = m
        .runs
        .first()
        .and_then(|r| Date::of_timestamp(&r.started_at))
        .map_or_else(String::new, |d| format!(" since {d}"));
    let over = format!("over {runs} run{}", if runs == 1 { "" } else { "s" });
    let mut findings = Vec::new();
    let st = &m.stewardship;

    if let Some(due) = st.review_by
        && due < now
    {
        let days = due.days_until(now);
        let mut finding = Finding::new(
            Kind::Stale,
            format!("review was due {due}, {days} days before {now}"),
        );
        finding.value = Some(days as f64);
        findings.push(finding);
    }
    if counts.fail == 0 && runs >= s.silent_min_runs {
        let evidence = format!(
            "0 fails in the last {runs} runs ({} evaluations: {} pass, {} skip, {} errors){since}",
            thousands(counts.evaluated()),
            thousands(counts.pass),
            thousands(counts.skip),
            thousands(counts.error_total()),
        );
        findings.push(
            Finding::new(Kind::Silent, evidence).measured(runs as f64, s.silent_min_runs as f64),
        );
    }
    if let Some(rate) = counts.fail_rate()
        && rate > s.noisy_max_fail_rate
    {
        let evidence = format!(
            "fails {} of {} verdicts {over}{since} (threshold {})",
            pct(rate),
            thousands(counts.verdicts()),
            pct(s.noisy_max_fail_rate)
        );
        findings.push(Finding::new(Kind::Noisy, evidence).measured(rate, s.noisy_max_fail_rate));
    }
    let per_run: Vec<f64> = m.runs.iter().filter_map(|r| r.counts.fail_rate()).collect();
    if let Some(change) = mean_abs_change(&per_run)
        && per_run.len() >= FLAPPING_MIN_RUNS
        && change > s.flapping_max_change
    {
        let shown: Vec<String> = per_run
            .iter()
            .skip(per_run.len().saturating_sub(8))
            .map(|r| format!("{:.0}%", r * 100.0))
            .collect();
        let evidence = format!(
            "fail rate swings {:.1} points on average between consecutive runs ({}{}; threshold {:.1} points)",
            change * 100.0,
            if per_run.len() > shown.len() {
                "... "
            } else {
                ""
            },
            shown.join(" -> "),
            s.flapping_max_change * 100.0
        );
        findings.push(Finding::new(Kind::Noisy, evidence).measured(change, s.flapping_max_change));
    }
    if let Some(rate) = counts.error_rate()
        && rate > s.max_error_rate
    {
        let kinds: Vec<String> = counts
            .errors
            .iter()
            .map(|(k, n)| format!("{k} {}", thousands(*n)))
            .collect();
        let evidence = format!(
            "{} of {} applicable evaluations failed to score ({}) {over}{since} (threshold {})",
            pct(rate),
            thousands(counts.applicable()),
            kinds.join(", "),
            pct(s.max_error_rate)
        );
        findings.push(Finding::new(Kind::Erroring, evidence).measured(rate, s.max_error_rate));
    }
    if let Some(p95) = p95_ms
        && p95 > s.slow_p95_ms
    {
        let evidence = format!(
            "p95 {} {over} ({} evaluations; threshold {} ms)",
            millis(p95),
            thousands(durations.len() as u64),
            s.slow_p95_ms
        );
        findings.push(Finding::new(Kind::Slow, evidence).measured(p95, s.slow_p95_ms));
    }
    if st.is_ownerless() {
        let evidence = match &st.owner {
            Some(o) => format!(
                "the owner is `{o}`: set `owner` in its [[metric]] entry or the package's metric.toml"
            ),
            None => "no owner recorded or configured: set `owner` in its [[metric]] entry or the package's metric.toml".to_owned(),
        };
        findings.push(Finding::new(Kind::Ownerless, evidence));
    }

    let newest = m.runs.last();
    MetricAudit {
        metric: m.metric.clone(),
        name: newest.map(|r| r.name.clone()).unwrap_or_default(),
        version: newest.map(|r| r.version.clone()).unwrap_or_default(),
        owner: st.owner.clone(),
        stage: st.stage,
        review_by: st.review_by,
        in_config: m.in_config,
        runs,
        fail_rate: counts.fail_rate(),
        error_rate: counts.error_rate(),
        counts,
        p95_ms,
        findings,
    }
}

/// The 2x2 table of two metrics' fail indicators on shared samples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Contingency {
    /// Both fail.
    pub both_fail: u64,
    /// Only the first fails.
    pub only_a_fails: u64,
    /// Only the second fails.
    pub only_b_fails: u64,
    /// Both pass.
    pub both_pass: u64,
}

impl Contingency {
    /// Shared verdicts.
    pub fn total(&self) -> u64 {
        self.both_fail + self.only_a_fails + self.only_b_fails + self.both_pass
    }

    /// Pairs two verdict lists sorted by key (see [`MetricHistory::verdicts`]).
    pub fn of(a: &[(u64, bool)], b: &[(u64, bool)]) -> Contingency {
        let mut t = Contingency::default();
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            match a[i].0.cmp(&b[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    match (a[i].1, b[j].1) {
                        (true, true) => t.both_fail += 1,
                        (true, false) => t.only_a_fails += 1,
                        (false, true) => t.only_b_fails += 1,
                        (false, false) => t.both_pass += 1,
                    }
                    i += 1;
                    j += 1;
                }
            }
        }
        t
    }

    /// The phi coefficient (Pearson correlation of two binary variables):
    /// 1 when the two always agree, -1 when they always disagree, about 0
    /// when unrelated. `None` when either metric is constant on the shared
    /// samples (always fails or always passes): phi is undefined then.
    pub fn phi(&self) -> Option<f64> {
        let (n11, n10, n01, n00) = (
            self.both_fail as f64,
            self.only_a_fails as f64,
            self.only_b_fails as f64,
            self.both_pass as f64,
        );
        let margins = (n11 + n10) * (n01 + n00) * (n11 + n01) * (n10 + n00);
        (margins > 0.0).then(|| (n11 * n00 - n10 * n01) / margins.sqrt())
    }
}

/// Pairs of metrics (indices) whose |phi| reaches the threshold on enough
/// shared samples.
fn redundant_pairs(
    metrics: &[MetricHistory],
    s: &Settings,
) -> Vec<(usize, usize, Contingency, f64)> {
    let mut pairs = Vec::new();
    for i in 0..metrics.len() {
        for j in i + 1..metrics.len() {
            let t = Contingency::of(&metrics[i].verdicts, &metrics[j].verdicts);
            if t.total() < s.redundant_min_samples {
                continue;
            }
            // Rounding must not turn a perfect agreement into 0.99999.
            if let Some(phi) = t.phi()
                && phi.abs() + 1e-12 >= s.redundant_min_phi
            {
                pairs.push((i, j, t, phi));
            }
        }
    }
    pairs
}

/// The `q` quantile (nearest rank) of `values`, reordering them.
fn quantile(values: &mut [u64], q: f64) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    let (_, v, _) = values.select_nth_unstable(rank - 1);
    Some(*v)
}

/// Mean absolute difference between consecutive values.
fn mean_abs_change(values: &[f64]) -> Option<f64> {
    (values.len() >= 2).then(|| {
        values.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<f64>() / (values.len() - 1) as f64
    })
}

pub use caliper_types::fmt::{millis, pct, thousands};

#[cfg(test)]
mod tests;
