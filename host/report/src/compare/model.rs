//! The comparison itself: matching, statistics, flips, gates.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::gate::GateResult;
use crate::stats::{self, Interval};
use caliper_types::outcome::{Evaluation, Status};
use caliper_types::record::RecordError;
use caliper_types::thresholds::RegressionGate;

/// One metric's evaluations by sample id.
type Evaluations = HashMap<String, Evaluation>;

/// The evaluations of one results file.
#[derive(Debug, Default)]
pub struct ResultSet {
    /// The file.
    pub path: PathBuf,
    /// Metric instances in order of first appearance.
    pub metrics: Vec<String>,
    /// Evaluations by metric instance, then sample id.
    pub evaluations: HashMap<String, HashMap<String, Evaluation>>,
}

impl ResultSet {
    /// Reads a results JSONL file; a bad line is an error naming the file and
    /// line, and so is a (metric, sample) pair that appears twice.
    pub fn read(path: &Path) -> Result<ResultSet, RecordError> {
        let err = |line: u64, message: String| RecordError {
            path: path.to_owned(),
            line,
            message,
            unreadable: false,
        };
        let file = std::fs::File::open(path).map_err(|e| err(0, format!("cannot read: {e}")))?;
        let mut set = ResultSet {
            path: path.to_owned(),
            ..ResultSet::default()
        };
        for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
            let n = i as u64 + 1;
            let line = line.map_err(|e| err(n, e.to_string()))?;
            if line.trim().is_empty() {
                continue;
            }
            let e: Evaluation = serde_json::from_str(&line)
                .map_err(|e| err(n, format!("not a caliper result line: {e}")))?;
            if !set.evaluations.contains_key(&e.metric) {
                set.metrics.push(e.metric.clone());
            }
            let per_metric = set.evaluations.entry(e.metric.clone()).or_default();
            if per_metric.contains_key(&e.sample_id) {
                return Err(err(
                    n,
                    format!(
                        "sample `{}` has a second result for metric `{}`; sample ids must be unique",
                        e.sample_id, e.metric
                    ),
                ));
            }
            per_metric.insert(e.sample_id.clone(), e);
        }
        Ok(set)
    }
}

/// Knobs of a comparison.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    /// Confidence level of every interval.
    pub confidence: f64,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// Bootstrap seed (same seed, same intervals).
    pub seed: u64,
    /// Most flipped samples listed per metric.
    pub top: usize,
    /// Also compare per value of this metadata key (read from the
    /// datasets given with the results).
    pub group_by: Option<String>,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            confidence: 0.95,
            resamples: 2000,
            seed: 42,
            top: 20,
            group_by: None,
        }
    }
}

/// One side of a metric's comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    /// Metric version(s) seen.
    pub version: String,
    /// Component digest(s) seen.
    pub digest: String,
    /// Evaluations (all outcomes).
    pub count: u64,
    /// Applicable evaluations (all but `skip`).
    pub applicable: u64,
    /// Passes.
    pub pass: u64,
    /// Errors of any kind.
    pub errors: u64,
    /// Pass rate over applicable evaluations.
    pub pass_rate: Option<f64>,
    /// Its Wilson interval.
    pub pass_rate_interval: Option<Interval>,
    /// Mean value.
    pub mean: Option<f64>,
}

/// What one sample did across the change.
#[derive(Debug, Clone, Serialize)]
pub struct Flip {
    /// The sample.
    pub sample_id: String,
    /// `regressed` (pass before, not after) or `fixed`.
    pub direction: &'static str,
    /// Before.
    pub baseline: FlipSide,
    /// After.
    pub candidate: FlipSide,
    /// The user input, when a dataset was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
}

/// One side of a [`Flip`].
#[derive(Debug, Clone, Serialize)]
pub struct FlipSide {
    /// Outcome.
    pub outcome: Status,
    /// Value.
    pub value: Option<f64>,
    /// Reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The model output scored, when a dataset was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

/// Matched samples by what they did: pass or not, before and after.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Transitions {
    /// Passed before and after.
    pub pass_pass: u64,
    /// Passed before, not after (regressions).
    pub pass_fail: u64,
    /// Not before, passed after (fixes).
    pub fail_pass: u64,
    /// Neither.
    pub fail_fail: u64,
}

/// One metric's comparison.
#[derive(Debug, Clone, Serialize)]
pub struct MetricComparison {
    /// The metric instance.
    pub metric: String,
    /// Before.
    pub baseline: Side,
    /// After.
    pub candidate: Side,
    /// Samples applicable on both sides.
    pub matched: u64,
    /// Samples this metric scored only before.
    pub only_baseline: u64,
    /// Samples this metric scored only after.
    pub only_candidate: u64,
    /// Pass/not-pass transitions of the matched samples.
    pub transitions: Transitions,
    /// Pass-rate change on the matched samples (after - before).
    pub pass_rate_change: Option<f64>,
    /// Its paired bootstrap interval.
    pub pass_rate_change_interval: Option<Interval>,
    /// Exact McNemar p-value of the transitions.
    pub mcnemar_p: f64,
    /// Mean value change on matched samples with a value on both sides.
    pub mean_change: Option<f64>,
    /// Its paired bootstrap interval.
    pub mean_change_interval: Option<Interval>,
    /// Value distributions of both sides on common bins.
    pub histogram: Option<Histogram>,
    /// The flipped samples, most relevant first (at most `top`).
    pub flipped: Vec<Flip>,
    /// How many flipped in all.
    pub flipped_total: u64,
}

/// Value counts of both sides over the same bins.
#[derive(Debug, Clone, Serialize)]
pub struct Histogram {
    /// Bin edges (`bins + 1` values).
    pub edges: Vec<f64>,
    /// Baseline counts per bin.
    pub baseline: Vec<u64>,
    /// Candidate counts per bin.
    pub candidate: Vec<u64>,
}

/// Bins for the values of both sides (10 bins over their joint range).
fn histogram(before: &[f64], after: &[f64]) -> Option<Histogram> {
    const BINS: usize = 10;
    let all = before.iter().chain(after);
    let lo = all.clone().copied().reduce(f64::min)?;
    let hi = all.copied().reduce(f64::max)?;
    let width = if hi > lo {
        (hi - lo) / BINS as f64
    } else {
        1.0
    };
    let edges = (0..=BINS).map(|i| lo + width * i as f64).collect();
    let count = |values: &[f64]| {
        let mut counts = vec![0; BINS];
        for v in values {
            let bin = (((v - lo) / width) as usize).min(BINS - 1);
            counts[bin] += 1;
        }
        counts
    };
    Some(Histogram {
        edges,
        baseline: count(before),
        candidate: count(after),
    })
}

/// A whole comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The baseline results file.
    pub baseline: String,
    /// The candidate results file.
    pub candidate: String,
    /// The confidence level of the intervals.
    pub confidence: f64,
    /// Per metric, in the baseline's order (then metrics only after).
    pub metrics: Vec<MetricComparison>,
    /// The metadata key of the segments, if any.
    pub group_by: Option<String>,
    /// Per segment (value of `group_by`, from the datasets), per metric.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub segments: BTreeMap<String, Vec<MetricComparison>>,
    /// Metrics present on one side only.
    pub only_in_baseline: Vec<String>,
    /// Metrics present on the candidate side only.
    pub only_in_candidate: Vec<String>,
    /// Regression gates from `caliper.toml`.
    pub gates: Vec<GateResult>,
    /// Whether every gate held.
    pub passed: bool,
}

/// How a report headline reads: its colour in HTML, bold in Markdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Nothing got significantly worse.
    Good,
    /// A metric that no gate covers got significantly worse.
    Warning,
    /// A regression gate failed.
    Bad,
}

impl Comparison {
    /// The metrics whose pass rate dropped significantly (McNemar p below
    /// 1 - confidence), with their change, worst first.
    pub fn significant_drops(&self) -> Vec<&MetricComparison> {
        let alpha = 1.0 - self.confidence;
        let mut drops: Vec<&MetricComparison> = self
            .metrics
            .iter()
            .filter(|m| m.pass_rate_change.is_some_and(|c| c < 0.0) && m.mcnemar_p < alpha)
            .collect();
        drops.sort_by(|a, b| a.pass_rate_change.partial_cmp(&b.pass_rate_change).unwrap());
        drops
    }

    /// The report headline: the gates' verdict, and every significant drop
    /// that no gate judged (with gates or without, a 30-point drop at
    /// p = 0.03 is never reported in green).
    pub fn headline(&self) -> (String, Tone) {
        let gated = |m: &&MetricComparison| self.gates.iter().any(|g| g.metric == m.metric);
        let unjudged: Vec<String> = self
            .significant_drops()
            .into_iter()
            .filter(|m| !gated(m))
            .map(|m| {
                format!(
                    "{} {} (p = {})",
                    m.metric,
                    signed_pts(m.pass_rate_change.unwrap_or_default()),
                    p_value(m.mcnemar_p)
                )
            })
            .collect();
        let gates = if self.gates.is_empty() {
            "no regression gates configured"
        } else if self.passed {
            "all regression gates hold"
        } else {
            "regression gate failed"
        };
        let tone = match (self.passed, unjudged.is_empty()) {
            (false, _) => Tone::Bad,
            (true, false) => Tone::Warning,
            (true, true) => Tone::Good,
        };
        if unjudged.is_empty() {
            (gates.to_owned(), tone)
        } else {
            let what = if unjudged.len() == 1 { "drop" } else { "drops" };
            let scope = if self.gates.is_empty() {
                ""
            } else {
                "ungated "
            };
            (
                format!(
                    "{gates}; significant {scope}{what}: {}",
                    unjudged.join(", ")
                ),
                tone,
            )
        }
    }
}

/// What the datasets of both sides say about each sample, by id.
#[derive(Debug, Default)]
pub struct SampleTexts {
    /// Baseline samples.
    pub baseline: HashMap<String, SampleText>,
    /// Candidate samples.
    pub candidate: HashMap<String, SampleText>,
}

/// One sample of a dataset, as far as a comparison needs it.
#[derive(Debug, Clone, Default)]
pub struct SampleText {
    /// The user input.
    pub input: String,
    /// The model output.
    pub output: String,
    /// Its value of the `--group-by` key, if any.
    pub segment: Option<String>,
}

impl SampleTexts {
    /// The segment of a sample: the candidate's dataset first, then the
    /// baseline's.
    fn segment(&self, id: &str) -> Option<&str> {
        self.candidate
            .get(id)
            .or_else(|| self.baseline.get(id))
            .and_then(|s| s.segment.as_deref())
    }
}

/// Compares two result sets.
pub fn compare(
    baseline: &ResultSet,
    candidate: &ResultSet,
    texts: &SampleTexts,
    options: &CompareOptions,
) -> Comparison {
    let mut names: Vec<&String> = baseline.metrics.iter().collect();
    names.extend(
        candidate
            .metrics
            .iter()
            .filter(|m| !baseline.evaluations.contains_key(*m)),
    );
    let mut metrics = Vec::new();
    let mut segments: BTreeMap<String, Vec<MetricComparison>> = BTreeMap::new();
    let (mut only_in_baseline, mut only_in_candidate) = (Vec::new(), Vec::new());
    for name in names {
        let before = baseline.evaluations.get(name);
        let after = candidate.evaluations.get(name);
        match (before, after) {
            (Some(_), None) => only_in_baseline.push(name.clone()),
            (None, Some(_)) => only_in_candidate.push(name.clone()),
            _ => {}
        }
        let (Some(before), Some(after)) = (before, after) else {
            continue;
        };
        metrics.push(compare_metric(name, before, after, texts, options));
        if options.group_by.is_some() {
            let mut by_segment: BTreeMap<&str, (Evaluations, Evaluations)> = BTreeMap::new();
            for (side, evals) in [(0, before), (1, after)] {
                for (id, e) in evals {
                    let Some(segment) = texts.segment(id) else {
                        continue;
                    };
                    let entry = by_segment.entry(segment).or_default();
                    let map = if side == 0 {
                        &mut entry.0
                    } else {
                        &mut entry.1
                    };
                    map.insert(id.clone(), e.clone());
                }
            }
            for (segment, (b, a)) in by_segment {
                segments
                    .entry(segment.to_owned())
                    .or_default()
                    .push(compare_metric(name, &b, &a, texts, options));
            }
        }
    }
    Comparison {
        baseline: baseline.path.display().to_string(),
        candidate: candidate.path.display().to_string(),
        confidence: options.confidence,
        metrics,
        group_by: options.group_by.clone(),
        segments,
        only_in_baseline,
        only_in_candidate,
        gates: Vec::new(),
        passed: true,
    }
}

fn side(evals: &HashMap<String, Evaluation>, confidence: f64) -> Side {
    let mut versions: Vec<&str> = evals.values().map(|e| e.version.as_str()).collect();
    versions.sort_unstable();
    versions.dedup();
    let mut digests: Vec<&str> = evals.values().map(|e| e.digest.as_str()).collect();
    digests.sort_unstable();
    digests.dedup();
    let applicable = evals.values().filter(|e| e.outcome != Status::Skip).count() as u64;
    let pass = evals.values().filter(|e| e.outcome == Status::Pass).count() as u64;
    let errors = evals.values().filter(|e| e.outcome.is_error()).count() as u64;
    let values: Vec<f64> = evals.values().filter_map(|e| e.value).collect();
    Side {
        version: versions.join(", "),
        digest: digests.join(", "),
        count: evals.len() as u64,
        applicable,
        pass,
        errors,
        pass_rate: (applicable > 0).then(|| pass as f64 / applicable as f64),
        pass_rate_interval: stats::wilson(pass, applicable, confidence),
        mean: stats::mean(&values),
    }
}

fn compare_metric(
    name: &str,
    before: &HashMap<String, Evaluation>,
    after: &HashMap<String, Evaluation>,
    texts: &SampleTexts,
    options: &CompareOptions,
) -> MetricComparison {
    let only_baseline = before.keys().filter(|id| !after.contains_key(*id)).count() as u64;
    let only_candidate = after.keys().filter(|id| !before.contains_key(*id)).count() as u64;
    // Matched samples applicable on both sides, in id order (deterministic
    // bootstrap input).
    let mut pairs: Vec<(&Evaluation, &Evaluation)> = before
        .iter()
        .filter_map(|(id, b)| Some((b, after.get(id)?)))
        .filter(|(b, a)| b.outcome != Status::Skip && a.outcome != Status::Skip)
        .collect();
    pairs.sort_by(|x, y| x.0.sample_id.cmp(&y.0.sample_id));

    let mut t = Transitions::default();
    let mut rate_diffs = Vec::with_capacity(pairs.len());
    let mut value_diffs = Vec::new();
    let mut flips: Vec<(&Evaluation, &Evaluation)> = Vec::new();
    for &(b, a) in &pairs {
        let (bp, ap) = (b.outcome == Status::Pass, a.outcome == Status::Pass);
        match (bp, ap) {
            (true, true) => t.pass_pass += 1,
            (true, false) => t.pass_fail += 1,
            (false, true) => t.fail_pass += 1,
            (false, false) => t.fail_fail += 1,
        }
        if bp != ap {
            flips.push((b, a));
        }
        rate_diffs.push(f64::from(u8::from(ap)) - f64::from(u8::from(bp)));
        if let (Some(bv), Some(av)) = (b.value, a.value) {
            value_diffs.push(av - bv);
        }
    }
    // Most relevant first: regressions, failures of the metric itself
    // before plain fails, then the largest value change, then id.
    flips.sort_by(|x, y| {
        let key = |(b, a): &(&Evaluation, &Evaluation)| {
            let regressed = b.outcome == Status::Pass;
            let broke = a.outcome.is_error();
            let change = match (b.value, a.value) {
                (Some(bv), Some(av)) => (av - bv).abs(),
                _ => 0.0,
            };
            (!regressed, !broke, -change)
        };
        let (kx, ky) = (key(x), key(y));
        kx.0.cmp(&ky.0)
            .then(kx.1.cmp(&ky.1))
            .then(kx.2.total_cmp(&ky.2))
            .then(x.0.sample_id.cmp(&y.0.sample_id))
    });
    let flipped_total = flips.len() as u64;
    let flipped = flips
        .into_iter()
        .take(options.top)
        .map(|(b, a)| {
            let id = &b.sample_id;
            let before_text = texts.baseline.get(id).map(|t| (&t.input, &t.output));
            let after_text = texts.candidate.get(id).map(|t| (&t.input, &t.output));
            Flip {
                sample_id: id.clone(),
                direction: if b.outcome == Status::Pass {
                    "regressed"
                } else {
                    "fixed"
                },
                input: before_text.or(after_text).map(|(i, _)| i.clone()),
                baseline: FlipSide {
                    outcome: b.outcome,
                    value: b.value,
                    reason: b.reason.clone(),
                    output: before_text.map(|(_, o)| o.clone()),
                },
                candidate: FlipSide {
                    outcome: a.outcome,
                    value: a.value,
                    reason: a.reason.clone(),
                    output: after_text.map(|(_, o)| o.clone()),
                },
            }
        })
        .collect();
    let seed = options.seed;
    MetricComparison {
        metric: name.to_owned(),
        baseline: side(before, options.confidence),
        candidate: side(after, options.confidence),
        matched: pairs.len() as u64,
        only_baseline,
        only_candidate,
        transitions: t,
        pass_rate_change: stats::mean(&rate_diffs),
        pass_rate_change_interval: stats::bootstrap_mean(
            &rate_diffs,
            options.confidence,
            options.resamples,
            seed,
        ),
        mcnemar_p: stats::mcnemar_exact(t.pass_fail, t.fail_pass),
        mean_change: stats::mean(&value_diffs),
        mean_change_interval: stats::bootstrap_mean(
            &value_diffs,
            options.confidence,
            options.resamples,
            seed.wrapping_add(1),
        ),
        histogram: histogram(
            &before.values().filter_map(|e| e.value).collect::<Vec<_>>(),
            &after.values().filter_map(|e| e.value).collect::<Vec<_>>(),
        ),
        flipped,
        flipped_total,
    }
}

/// Applies regression gates (metric name, gate; see
/// `LoadPlan::regression_gates` in `caliper-engine`)
/// to a comparison: a gate fails when the pass rate dropped by more than
/// `max_drop` **and** the exact McNemar test says the change is significant
/// at `alpha`. A gated metric missing from either side fails.
pub fn apply_gates(comparison: &mut Comparison, regression_gates: &[(String, RegressionGate)]) {
    let mut gates = Vec::new();
    for (name, gate) in regression_gates {
        let name = name.clone();
        let Some(c) = comparison.metrics.iter().find(|c| c.metric == name) else {
            gates.push(GateResult {
                metric: name,
                check: "regression".into(),
                passed: false,
                message: "not in both results files, so it cannot be compared".into(),
            });
            continue;
        };
        let Some(change) = c.pass_rate_change else {
            gates.push(GateResult {
                metric: name,
                check: "regression".into(),
                passed: gate.allow_empty,
                message: "no sample applicable on both sides".into(),
            });
            continue;
        };
        let drop = -change;
        let significant = c.mcnemar_p < gate.alpha;
        let too_big = drop > gate.max_drop + 1e-12;
        let passed = !(significant && too_big);
        let interval = c
            .pass_rate_change_interval
            .map(|i| format!(" [{}, {}]", signed_pts(i.lo), signed_pts(i.hi)))
            .unwrap_or_default();
        let verdict = match (too_big, significant) {
            (true, true) => "a significant drop beyond the tolerance",
            (true, false) => "beyond the tolerance but not significant",
            (false, _) => "within the tolerance",
        };
        gates.push(GateResult {
            metric: name,
            check: "regression".into(),
            passed,
            message: format!(
                "pass rate {}{interval} on {} matched samples ({} regressed, {} fixed), McNemar p = {} (alpha {}), tolerance {:.1} pts: {verdict}",
                signed_pts(change),
                c.matched,
                c.transitions.pass_fail,
                c.transitions.fail_pass,
                p_value(c.mcnemar_p),
                gate.alpha,
                gate.max_drop * 100.0,
            ),
        });
    }
    comparison.passed = gates.iter().all(|g| g.passed);
    comparison.gates = gates;
}

use caliper_types::fmt::{p_value, signed_pts};
