//! `similarity`: the output is close to the expected answer.
//!
//! Config: `{"measure": "rouge_l"|"token_f1"|"levenshtein", "threshold": 0.5,
//! "case_sensitive": true, "also": []}`. Only the configured measure is
//! computed: it is the value, the verdict passes when it is at least
//! `threshold`, and it is reported as a label. Measures listed in `also` are
//! computed too and reported as labels only. Samples without an expected
//! answer are skipped.
//!
//! The measures are defined to agree with well-known Python references (see
//! `reference/make_reference.py` and the test that replays its output):
//!
//! - [`levenshtein`] equals `rapidfuzz.distance.Levenshtein.normalized_similarity`
//!   over Unicode scalar values (bit-parallel, [`levenshtein`](mod@levenshtein)).
//! - [`token_f1`] is SQuAD-style token F1 over lower-cased alphanumeric tokens.
//! - [`rouge_l`] equals `rouge_score.rouge_scorer.RougeScorer(["rougeL"])`
//!   F-measure, without stemming.

pub mod levenshtein;
pub mod tokens;

use caliper_sdk::{Descriptor, Error, Metric, Outcome, Sample};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokens::{Interner, TokenMap};

/// A similarity measure (`rouge-l` and `token-f1` are accepted for the
/// snake_case names).
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Normalised Levenshtein similarity over characters.
    Levenshtein,
    /// Token-overlap F1.
    #[serde(alias = "token-f1")]
    TokenF1,
    /// ROUGE-L F-measure (longest common token subsequence).
    #[default]
    #[serde(alias = "rouge-l")]
    RougeL,
}

impl Measure {
    /// Every measure, in label order.
    pub const ALL: [Measure; 3] = [Measure::Levenshtein, Measure::TokenF1, Measure::RougeL];

    /// The config and label name.
    pub fn name(self) -> &'static str {
        match self {
            Measure::Levenshtein => "levenshtein",
            Measure::TokenF1 => "token_f1",
            Measure::RougeL => "rouge_l",
        }
    }

    /// This measure of `output` against `expected`.
    pub fn compute(self, output: &str, expected: &str, case_sensitive: bool) -> f64 {
        match self {
            Measure::Levenshtein => levenshtein(output, expected, case_sensitive),
            Measure::TokenF1 => token_f1(output, expected),
            Measure::RougeL => rouge_l(output, expected),
        }
    }
}

/// Configuration.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Which measure is the value and decides the verdict (the only one
    /// computed unless `also` names more).
    pub measure: Measure,
    /// Smallest passing value, in `[0, 1]`.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub threshold: f64,
    /// Whether Levenshtein distinguishes upper and lower case (rapidfuzz
    /// semantics). When `false`, both texts are lower-cased first. The other
    /// measures always ignore case.
    pub case_sensitive: bool,
    /// Further measures to compute and report as labels (they never change
    /// the value or the verdict).
    pub also: Vec<Measure>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            measure: Measure::RougeL,
            threshold: 0.5,
            case_sensitive: true,
            also: Vec::new(),
        }
    }
}

/// The three measures for one pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    /// See [`levenshtein`].
    pub levenshtein: f64,
    /// See [`token_f1`].
    pub token_f1: f64,
    /// See [`rouge_l`].
    pub rouge_l: f64,
}

impl Scores {
    /// All three measures of `output` against `expected`.
    pub fn compute(output: &str, expected: &str, case_sensitive: bool) -> Self {
        Scores {
            levenshtein: levenshtein(output, expected, case_sensitive),
            token_f1: token_f1(output, expected),
            rouge_l: rouge_l(output, expected),
        }
    }

    /// The value of one measure.
    pub fn get(&self, measure: Measure) -> f64 {
        match measure {
            Measure::Levenshtein => self.levenshtein,
            Measure::TokenF1 => self.token_f1,
            Measure::RougeL => self.rouge_l,
        }
    }
}

/// The metric.
pub struct Similarity {
    config: Config,
    /// The measures reported as labels besides the value's, in label order,
    /// without the value's own measure and without repeats.
    extra: Vec<Measure>,
}

impl Metric for Similarity {
    type Config = Config;

    fn describe() -> Descriptor {
        Descriptor::new("similarity", env!("CARGO_PKG_VERSION"))
            .description(
                "output is close to the expected answer (ROUGE-L, token F1 or Levenshtein)",
            )
            .owner("caliper-standard-metrics")
            .goal("answers stay close to curated reference answers")
            .tags(["reference", "similarity", "rouge", "levenshtein"])
            .unit("similarity ratio (0-1)", true)
            .config_schema_of::<Config>()
    }

    fn new(config: Config) -> Result<Self, Error> {
        if !(0.0..=1.0).contains(&config.threshold) {
            return Err(Error::new(format!(
                "threshold must be between 0 and 1, got {}",
                config.threshold
            )));
        }
        let extra = Measure::ALL
            .into_iter()
            .filter(|m| *m != config.measure && config.also.contains(m))
            .collect();
        Ok(Similarity { config, extra })
    }

    fn evaluate(&self, sample: &Sample) -> Result<Outcome, Error> {
        let Some(expected) = sample.expected.as_deref().filter(|e| !e.trim().is_empty()) else {
            return Ok(Outcome::skip("no expected answer"));
        };
        let output = sample.output.as_str();
        let case_sensitive = self.config.case_sensitive;
        let measure = self.config.measure;
        let value = measure.compute(output, expected, case_sensitive);
        let outcome = Outcome::check(value >= self.config.threshold, value);
        let mut outcome = if outcome.is_fail() {
            outcome.with_reason(format!(
                "{} {value:.3} below threshold {}",
                measure.name(),
                self.config.threshold
            ))
        } else {
            outcome
        }
        .with_label("measure", measure.name())
        .with_label(measure.name(), format!("{value:.6}"));
        for &m in &self.extra {
            let v = m.compute(output, expected, case_sensitive);
            outcome = outcome.with_label(m.name(), format!("{v:.6}"));
        }
        Ok(outcome)
    }
}

caliper_sdk::export_metric!(Similarity);

/// Normalised Levenshtein similarity over Unicode scalar values:
/// `1 - distance / max(len_a, len_b)`, 1.0 for two empty texts. Equal to
/// Python `rapidfuzz.distance.Levenshtein.normalized_similarity(a, b)`.
/// With `case_sensitive == false` both texts are lower-cased first.
pub fn levenshtein(a: &str, b: &str, case_sensitive: bool) -> f64 {
    if case_sensitive {
        levenshtein::normalized_similarity(a, b)
    } else {
        levenshtein::normalized_similarity(&a.to_lowercase(), &b.to_lowercase())
    }
}

/// Tokens for [`token_f1`]: the text lower-cased (full Unicode mapping,
/// like Python `str.lower`), split into maximal runs of alphanumeric
/// characters (Unicode `Alphabetic` or a number category Nd/Nl/No).
pub fn f1_tokens(text: &str) -> Vec<String> {
    tokens::f1_token_slices(&tokens::lower(text))
        .map(str::to_owned)
        .collect()
}

/// Token F1 between `output` and `expected` over [`f1_tokens`]: with
/// `common` the size of the multiset intersection, precision =
/// common / |output tokens|, recall = common / |expected tokens|, F1 =
/// 2·p·r / (p + r). Both token lists empty gives 1.0; one empty, or no
/// common token, gives 0.0.
pub fn token_f1(output: &str, expected: &str) -> f64 {
    let (out_lower, exp_lower) = (tokens::lower(output), tokens::lower(expected));
    let mut counts: TokenMap<'_, usize> = TokenMap::default();
    let mut expected_len = 0usize;
    for t in tokens::f1_token_slices(&exp_lower) {
        *counts.entry(t).or_default() += 1;
        expected_len += 1;
    }
    let mut output_len = 0usize;
    let mut common = 0usize;
    for t in tokens::f1_token_slices(&out_lower) {
        output_len += 1;
        if let Some(n) = counts.get_mut(t)
            && *n > 0
        {
            *n -= 1;
            common += 1;
        }
    }
    if output_len == 0 && expected_len == 0 {
        return 1.0;
    }
    if output_len == 0 || expected_len == 0 {
        return 0.0;
    }
    f_measure(common, output_len, expected_len)
}

/// Tokens for [`rouge_l`], as rouge-score's default tokenizer makes them:
/// lower-case, every run of characters outside `[a-z0-9]` is a separator, no
/// stemming. Non-ASCII letters therefore split words ("München" gives `m`,
/// `nchen`) and CJK text gives no tokens at all.
pub fn rouge_tokens(text: &str) -> Vec<String> {
    tokens::rouge_token_slices(&tokens::lower(text))
        .map(str::to_owned)
        .collect()
}

/// ROUGE-L F-measure of `output` (the prediction) against `expected` (the
/// target) over [`rouge_tokens`]: LCS length over the token sequences,
/// precision = LCS / |output|, recall = LCS / |expected|. Like rouge-score,
/// 0.0 when either side has no tokens (even both). Each text is lower-cased
/// once; tokens are slices of it mapped to integer ids.
pub fn rouge_l(output: &str, expected: &str) -> f64 {
    let (out_lower, exp_lower) = (tokens::lower(output), tokens::lower(expected));
    let mut interner = Interner::default();
    let prediction: Vec<u32> = tokens::rouge_token_slices(&out_lower)
        .map(|t| interner.id(t))
        .collect();
    let target: Vec<u32> = tokens::rouge_token_slices(&exp_lower)
        .map(|t| interner.id(t))
        .collect();
    if prediction.is_empty() || target.is_empty() {
        return 0.0;
    }
    f_measure(
        tokens::lcs_ids(&target, &prediction, interner.len()),
        prediction.len(),
        target.len(),
    )
}

/// Length of the longest common subsequence, with two rolling rows (the
/// reference the bit-parallel [`tokens::lcs_ids`] is tested against).
pub fn lcs_len<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    for x in a {
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = if x == y {
                prev[j] + 1
            } else {
                cur[j].max(prev[j + 1])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// F-measure from a match count and the two lengths, computed in the same
/// order as rouge-score's `scoring.fmeasure` so the floats are identical.
fn f_measure(matches: usize, output_len: usize, expected_len: usize) -> f64 {
    let precision = matches as f64 / output_len as f64;
    let recall = matches as f64 / expected_len as f64;
    if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(config: &str) -> Similarity {
        caliper_sdk::configure(config).unwrap()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn identical_answers_pass_with_all_labels_on_request() {
        let o = metric(r#"{"also": ["levenshtein", "token_f1", "rouge_l"]}"#)
            .evaluate(&Sample::with_output("The cat sat.").expected("the cat sat"))
            .unwrap();
        assert!(o.is_pass());
        assert_eq!(o.value, Some(1.0));
        assert_eq!(o.label("measure"), Some("rouge_l"));
        assert_eq!(o.label("rouge_l"), Some("1.000000"));
        assert_eq!(o.label("token_f1"), Some("1.000000"));
        // "The cat sat." vs "the cat sat": 2 edits over 12 chars.
        assert_eq!(o.label("levenshtein"), Some("0.833333"));
        assert_eq!(o.labels.len(), 4, "{:?}", o.labels);
    }

    #[test]
    fn only_the_configured_measure_by_default() {
        let sample = Sample::with_output("The cat sat.").expected("the cat sat");
        let o = metric(r#"{"measure": "levenshtein"}"#)
            .evaluate(&sample)
            .unwrap();
        assert_eq!(o.value, Some(1.0 - 2.0 / 12.0));
        assert_eq!(o.label("measure"), Some("levenshtein"));
        assert_eq!(o.label("levenshtein"), Some("0.833333"));
        assert_eq!(o.label("rouge_l"), None);
        assert_eq!(o.label("token_f1"), None);
        assert_eq!(o.labels.len(), 2);
        // Hyphenated names are accepted; repeats and the value's own measure
        // in `also` add nothing.
        let o =
            metric(r#"{"measure": "levenshtein", "also": ["rouge-l", "levenshtein", "rouge_l"]}"#)
                .evaluate(&sample)
                .unwrap();
        assert_eq!(o.label("rouge_l"), Some("1.000000"));
        assert_eq!(o.labels.len(), 3);
        assert_eq!(o.value, Some(1.0 - 2.0 / 12.0));
        let o = metric(r#"{"measure": "token-f1"}"#)
            .evaluate(&sample)
            .unwrap();
        assert_eq!(o.label("measure"), Some("token_f1"));
    }

    #[test]
    fn measures_agree_with_all_scores() {
        let pairs = [
            (
                "Grüße aus München, İstanbul und Kelvin K",
                "Gruesse aus Muenchen und istanbul",
            ),
            ("a b c d e f", "f e d c b a"),
            ("", "x"),
        ];
        for (a, b) in pairs {
            let all = Scores::compute(a, b, true);
            for m in Measure::ALL {
                assert_eq!(m.compute(a, b, true), all.get(m));
            }
        }
    }

    #[test]
    fn distant_answer_fails_with_reason() {
        let o = metric(r#"{"measure": "token_f1", "threshold": 0.8}"#)
            .evaluate(&Sample::with_output("Paris is nice").expected("The capital is Paris"))
            .unwrap();
        assert!(o.is_fail());
        // common {paris, is} = 2; p = 2/3, r = 2/4.
        assert!(close(o.value.unwrap(), 4.0 / 7.0));
        assert_eq!(
            o.reason.as_deref(),
            Some("token_f1 0.571 below threshold 0.8")
        );
    }

    #[test]
    fn threshold_is_inclusive() {
        let o = metric(r#"{"measure": "levenshtein", "threshold": 0.75}"#)
            .evaluate(&Sample::with_output("abcd").expected("abcx"))
            .unwrap();
        assert!(o.is_pass());
        assert_eq!(o.value, Some(0.75));
    }

    #[test]
    fn missing_or_blank_expected_skips() {
        let m = metric("{}");
        let o = m.evaluate(&Sample::with_output("anything")).unwrap();
        assert!(o.is_skip());
        assert_eq!(o.value, None);
        assert!(
            m.evaluate(&Sample::with_output("x").expected("  "))
                .unwrap()
                .is_skip()
        );
    }

    #[test]
    fn levenshtein_counts_chars_not_bytes() {
        assert!(close(levenshtein("Grüße", "Grüsse", true), 1.0 - 2.0 / 6.0));
        assert!(close(levenshtein("🦀🦀", "🦀", true), 0.5));
        assert!(close(levenshtein("", "", true), 1.0));
        assert!(close(levenshtein("", "abc", true), 0.0));
        assert!(close(levenshtein("ABC", "abc", true), 0.0));
        assert!(close(levenshtein("ÄBC", "äbc", false), 1.0));
    }

    #[test]
    fn case_sensitivity_only_changes_levenshtein() {
        let sample = Sample::with_output("HELLO WORLD").expected("hello world");
        let strict = metric(r#"{"measure": "levenshtein"}"#)
            .evaluate(&sample)
            .unwrap();
        assert!(strict.is_fail());
        let lax = metric(r#"{"measure": "levenshtein", "case_sensitive": false}"#)
            .evaluate(&sample)
            .unwrap();
        assert!(lax.is_pass());
        assert_eq!(lax.label("rouge_l"), strict.label("rouge_l"));
    }

    #[test]
    fn token_f1_definition() {
        assert_eq!(
            f1_tokens("Grüße, Straße_7! ２０２４"),
            ["grüße", "straße", "7", "２０２４"]
        );
        assert!(close(token_f1("", ""), 1.0));
        assert!(close(token_f1("...", "!!"), 1.0));
        assert!(close(token_f1("a", ""), 0.0));
        assert!(close(token_f1("a b", "c d"), 0.0));
        // Multiset: "a a b" vs "a b b" share one a and one b.
        assert!(close(token_f1("a a b", "a b b"), 2.0 / 3.0));
        // Word order does not matter.
        assert!(close(token_f1("b a", "a b"), 1.0));
    }

    #[test]
    fn rouge_l_follows_rouge_score() {
        assert_eq!(
            rouge_tokens("Grüße aus München!"),
            ["gr", "e", "aus", "m", "nchen"]
        );
        assert!(rouge_tokens("我喜欢编程").is_empty());
        assert!(close(rouge_l("", ""), 0.0));
        assert!(close(rouge_l("我喜欢编程", "我喜欢编程"), 0.0));
        // LCS of "a b c d" and "a c b d" is 3.
        assert!(close(rouge_l("a c b d", "a b c d"), 0.75));
        // Order matters, unlike token F1.
        assert!(close(rouge_l("b a", "a b"), 0.5));
        assert_eq!(lcs_len(&[1, 2, 3, 4, 1], &[3, 4, 1, 2, 1]), 3);
    }

    #[test]
    fn bad_configs_are_rejected() {
        let err = |c: &str| {
            caliper_sdk::configure::<Similarity>(c)
                .err()
                .unwrap()
                .message()
                .to_owned()
        };
        assert!(err(r#"{"threshold": 1.5}"#).contains("between 0 and 1"));
        assert!(err(r#"{"threshold": -0.1}"#).contains("between 0 and 1"));
        assert!(err(r#"{"measure": "bleu"}"#).contains("unknown variant `bleu`"));
        assert!(err(r#"{"treshold": 0.5}"#).contains("unknown field `treshold`"));
        assert!(err(r#"{"also": ["bleu"]}"#).contains("unknown variant `bleu`"));
        assert!(err(r#"{"also": "rouge_l"}"#).contains("invalid type"));
    }
}
