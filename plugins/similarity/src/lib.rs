//! `similarity`: the output is close to the expected answer.
//!
//! Config: `{"measure": "rouge_l"|"token_f1"|"levenshtein", "threshold": 0.5,
//! "case_sensitive": true}`. All three measures are computed for every sample
//! and reported as labels; the value is the chosen one, and the verdict
//! passes when it is at least `threshold`. Samples without an expected
//! answer are skipped.
//!
//! The measures are defined to agree with well-known Python references (see
//! `reference/make_reference.py` and the test that replays its output):
//!
//! - [`levenshtein`] equals `rapidfuzz.distance.Levenshtein.normalized_similarity`
//!   over Unicode scalar values.
//! - [`token_f1`] is SQuAD-style token F1 over lower-cased alphanumeric tokens.
//! - [`rouge_l`] equals `rouge_score.rouge_scorer.RougeScorer(["rougeL"])`
//!   F-measure, without stemming.

use caliper_sdk::{Descriptor, Error, Metric, Outcome, Sample};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;

/// Which measure decides the verdict.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Normalised Levenshtein similarity over characters.
    Levenshtein,
    /// Token-overlap F1.
    TokenF1,
    /// ROUGE-L F-measure (longest common token subsequence).
    #[default]
    RougeL,
}

impl Measure {
    /// The config and label name.
    pub fn name(self) -> &'static str {
        match self {
            Measure::Levenshtein => "levenshtein",
            Measure::TokenF1 => "token_f1",
            Measure::RougeL => "rouge_l",
        }
    }
}

/// Configuration.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Which measure is the value and decides the verdict.
    pub measure: Measure,
    /// Smallest passing value, in `[0, 1]`.
    pub threshold: f64,
    /// Whether Levenshtein distinguishes upper and lower case (rapidfuzz
    /// semantics). When `false`, both texts are lower-cased first. The other
    /// measures always ignore case.
    pub case_sensitive: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            measure: Measure::RougeL,
            threshold: 0.5,
            case_sensitive: true,
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
}

impl Metric for Similarity {
    type Config = Config;

    fn describe() -> Descriptor {
        Descriptor::new("similarity", env!("CARGO_PKG_VERSION"))
            .description("output is close to the expected answer (ROUGE-L, token F1 or Levenshtein)")
            .owner("caliper-standard-metrics")
            .goal("answers stay close to curated reference answers")
            .tags(["reference", "similarity", "rouge", "levenshtein"])
            .unit("similarity ratio (0-1)", true)
            .config_schema(json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "measure": {
                        "enum": ["rouge_l", "token_f1", "levenshtein"],
                        "default": "rouge_l",
                        "description": "the measure that is the value and decides the verdict"
                    },
                    "threshold": {
                        "type": "number",
                        "minimum": 0,
                        "maximum": 1,
                        "default": 0.5,
                        "description": "pass when the value is at least this"
                    },
                    "case_sensitive": {
                        "type": "boolean",
                        "default": true,
                        "description": "Levenshtein distinguishes case (the other measures never do)"
                    }
                }
            }))
    }

    fn new(config: Config) -> Result<Self, Error> {
        if !(0.0..=1.0).contains(&config.threshold) {
            return Err(Error::new(format!(
                "threshold must be between 0 and 1, got {}",
                config.threshold
            )));
        }
        Ok(Similarity { config })
    }

    fn evaluate(&self, sample: &Sample) -> Result<Outcome, Error> {
        let Some(expected) = sample.expected.as_deref().filter(|e| !e.trim().is_empty()) else {
            return Ok(Outcome::skip("no expected answer"));
        };
        let scores = Scores::compute(&sample.output, expected, self.config.case_sensitive);
        let measure = self.config.measure;
        let value = scores.get(measure);
        let outcome = Outcome::check(value >= self.config.threshold, value);
        Ok(if outcome.is_fail() {
            outcome.with_reason(format!(
                "{} {value:.3} below threshold {}",
                measure.name(),
                self.config.threshold
            ))
        } else {
            outcome
        }
        .with_label("measure", measure.name())
        .with_label("levenshtein", format!("{:.6}", scores.levenshtein))
        .with_label("token_f1", format!("{:.6}", scores.token_f1))
        .with_label("rouge_l", format!("{:.6}", scores.rouge_l)))
    }
}

caliper_sdk::export_metric!(Similarity);

/// Normalised Levenshtein similarity over Unicode scalar values:
/// `1 - distance / max(len_a, len_b)`, 1.0 for two empty texts. Equal to
/// Python `rapidfuzz.distance.Levenshtein.normalized_similarity(a, b)`.
/// With `case_sensitive == false` both texts are lower-cased first.
pub fn levenshtein(a: &str, b: &str, case_sensitive: bool) -> f64 {
    use rapidfuzz::distance::levenshtein::normalized_similarity;
    if case_sensitive {
        normalized_similarity(a.chars(), b.chars())
    } else {
        normalized_similarity(a.to_lowercase().chars(), b.to_lowercase().chars())
    }
}

/// Tokens for [`token_f1`]: the text lower-cased (full Unicode mapping,
/// like Python `str.lower`), split into maximal runs of alphanumeric
/// characters (Unicode `Alphabetic` or a number category Nd/Nl/No).
pub fn f1_tokens(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Token F1 between `output` and `expected` over [`f1_tokens`]: with
/// `common` the size of the multiset intersection, precision =
/// common / |output tokens|, recall = common / |expected tokens|, F1 =
/// 2·p·r / (p + r). Both token lists empty gives 1.0; one empty, or no
/// common token, gives 0.0.
pub fn token_f1(output: &str, expected: &str) -> f64 {
    let out = f1_tokens(output);
    let exp = f1_tokens(expected);
    if out.is_empty() && exp.is_empty() {
        return 1.0;
    }
    if out.is_empty() || exp.is_empty() {
        return 0.0;
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for t in &exp {
        *counts.entry(t).or_default() += 1;
    }
    let mut common = 0usize;
    for t in &out {
        if let Some(n) = counts.get_mut(t.as_str())
            && *n > 0
        {
            *n -= 1;
            common += 1;
        }
    }
    f_measure(common, out.len(), exp.len())
}

/// Tokens for [`rouge_l`], as rouge-score's default tokenizer makes them:
/// lower-case, every run of characters outside `[a-z0-9]` is a separator, no
/// stemming. Non-ASCII letters therefore split words ("München" gives `m`,
/// `nchen`) and CJK text gives no tokens at all.
pub fn rouge_tokens(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// ROUGE-L F-measure of `output` (the prediction) against `expected` (the
/// target) over [`rouge_tokens`]: LCS length over the token sequences,
/// precision = LCS / |output|, recall = LCS / |expected|. Like rouge-score,
/// 0.0 when either side has no tokens (even both).
pub fn rouge_l(output: &str, expected: &str) -> f64 {
    let prediction = rouge_tokens(output);
    let target = rouge_tokens(expected);
    if prediction.is_empty() || target.is_empty() {
        return 0.0;
    }
    f_measure(
        lcs_len(&target, &prediction),
        prediction.len(),
        target.len(),
    )
}

/// Length of the longest common subsequence, with two rolling rows.
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
    fn identical_answers_pass_with_all_labels() {
        let o = metric("{}")
            .evaluate(&Sample::with_output("The cat sat.").expected("the cat sat"))
            .unwrap();
        assert!(o.is_pass());
        assert_eq!(o.value, Some(1.0));
        assert_eq!(o.label("measure"), Some("rouge_l"));
        assert_eq!(o.label("rouge_l"), Some("1.000000"));
        assert_eq!(o.label("token_f1"), Some("1.000000"));
        // "The cat sat." vs "the cat sat": 2 edits over 12 chars.
        assert_eq!(o.label("levenshtein"), Some("0.833333"));
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
    }
}
