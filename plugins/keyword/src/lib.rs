//! `keyword`: required terms appear in the output and forbidden ones (e.g.
//! competitor names) do not.
//!
//! Config: `{"must_include": [], "must_not_include": [], "case_sensitive":
//! false, "whole_word": true, "field": "output"}`. The value is the number of
//! violations (missing plus forbidden terms, each counted once); the verdict
//! fails when it is above 0. Never skips.
//!
//! Terms are literal text, not patterns. Case-insensitive matching uses
//! Unicode simple case folding ("GRÜSSE" is not "Grüße", but "ÜBER" is
//! "über"); whole-word matching uses Unicode word characters, so "Grüße" is
//! one word and "C++" or "AT&T" work as terms too.

use caliper_sdk::{Descriptor, Error, LogLevel, Metric, Outcome, Sample, TextField};
use regex::{RegexSet, RegexSetBuilder};
use serde::Deserialize;
use serde_json::json;

/// Configuration.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Terms that must all appear.
    pub must_include: Vec<String>,
    /// Terms that must not appear.
    pub must_not_include: Vec<String>,
    /// Whether case matters.
    pub case_sensitive: bool,
    /// Whether a term must stand as a whole word ("cat" not in "category").
    pub whole_word: bool,
    /// Which text to check.
    pub field: TextField,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            must_include: Vec::new(),
            must_not_include: Vec::new(),
            case_sensitive: false,
            whole_word: true,
            field: TextField::Output,
        }
    }
}

/// A list of terms and the matcher that finds them.
struct Terms {
    terms: Vec<String>,
    /// One pattern per term, in order; `None` when there are no terms.
    set: Option<RegexSet>,
}

impl Terms {
    /// Builds the matcher. The regex crate (rather than aho-corasick) because
    /// it offers Unicode case folding and Unicode word boundaries, and a
    /// `RegexSet` reports which of all terms occur in one scan of the text.
    fn new(
        terms: &[String],
        list: &str,
        case_sensitive: bool,
        whole_word: bool,
    ) -> Result<Self, Error> {
        let mut unique: Vec<String> = Vec::new();
        for term in terms {
            if term.trim().is_empty() {
                return Err(Error::new(format!("{list} contains an empty term")));
            }
            if !unique.contains(term) {
                unique.push(term.clone());
            }
        }
        if unique.is_empty() {
            return Ok(Terms {
                terms: unique,
                set: None,
            });
        }
        let patterns = unique.iter().map(|term| {
            let literal = regex::escape(term);
            if whole_word {
                // Half boundaries: no word character right before or after
                // the term, whatever the term's own edges are ("C++", "-x").
                format!(r"\b{{start-half}}{literal}\b{{end-half}}")
            } else {
                literal
            }
        });
        let set = RegexSetBuilder::new(patterns)
            .case_insensitive(!case_sensitive)
            .build()
            .map_err(|e| Error::new(format!("cannot build the {list} matcher: {e}")))?;
        Ok(Terms {
            terms: unique,
            set: Some(set),
        })
    }

    /// The terms that occur (`true`) or do not occur (`false`) in `text`.
    fn select(&self, text: &str, occurring: bool) -> Vec<&str> {
        let Some(set) = &self.set else {
            return Vec::new();
        };
        let found = set.matches(text);
        self.terms
            .iter()
            .enumerate()
            .filter(|(i, _)| found.matched(*i) == occurring)
            .map(|(_, term)| term.as_str())
            .collect()
    }
}

/// The metric.
pub struct Keyword {
    must_include: Terms,
    must_not_include: Terms,
    field: TextField,
}

/// `"a", "b"`: terms quoted for a reason or label.
fn quoted(terms: &[&str]) -> String {
    terms
        .iter()
        .map(|t| format!("{t:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Metric for Keyword {
    type Config = Config;

    fn describe() -> Descriptor {
        Descriptor::new("keyword", env!("CARGO_PKG_VERSION"))
            .description("required terms appear and forbidden terms (e.g. competitor names) do not")
            .owner("caliper-standard-metrics")
            .goal("answers mention what they must and never what they must not")
            .tags(["keyword", "compliance", "brand"])
            .unit("violations (missing + forbidden terms)", false)
            .config_schema(json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "must_include": {
                        "type": "array",
                        "items": {"type": "string", "minLength": 1},
                        "default": [],
                        "description": "terms that must all appear (literal text)"
                    },
                    "must_not_include": {
                        "type": "array",
                        "items": {"type": "string", "minLength": 1},
                        "default": [],
                        "description": "terms that must not appear (literal text)"
                    },
                    "case_sensitive": {"type": "boolean", "default": false},
                    "whole_word": {
                        "type": "boolean",
                        "default": true,
                        "description": "match whole words only (Unicode-aware)"
                    },
                    "field": {"enum": ["output", "input"], "default": "output"}
                }
            }))
    }

    fn new(config: Config) -> Result<Self, Error> {
        let build = |terms: &[String], list: &str| {
            Terms::new(terms, list, config.case_sensitive, config.whole_word)
        };
        let must_include = build(&config.must_include, "must_include")?;
        let must_not_include = build(&config.must_not_include, "must_not_include")?;
        if let Some(term) = must_include
            .terms
            .iter()
            .find(|t| must_not_include.terms.contains(t))
        {
            return Err(Error::new(format!(
                "{term:?} is in both must_include and must_not_include"
            )));
        }
        if must_include.terms.is_empty() && must_not_include.terms.is_empty() {
            caliper_sdk::log(
                LogLevel::Warn,
                "keyword: must_include and must_not_include are empty; every sample passes",
            );
        }
        Ok(Keyword {
            must_include,
            must_not_include,
            field: config.field,
        })
    }

    fn evaluate(&self, sample: &Sample) -> Result<Outcome, Error> {
        let text = self.field.of(sample);
        let missing = self.must_include.select(text, false);
        let forbidden = self.must_not_include.select(text, true);
        let violations = missing.len() + forbidden.len();
        let mut outcome = Outcome::check(violations == 0, violations as f64);
        let mut reasons = Vec::new();
        if !missing.is_empty() {
            reasons.push(format!("missing {}", quoted(&missing)));
            outcome = outcome.with_label("missing", missing.join(", "));
        }
        if !forbidden.is_empty() {
            reasons.push(format!("forbidden {}", quoted(&forbidden)));
            outcome = outcome.with_label("forbidden", forbidden.join(", "));
        }
        if !reasons.is_empty() {
            outcome = outcome.with_reason(reasons.join("; "));
        }
        Ok(outcome)
    }
}

caliper_sdk::export_metric!(Keyword);

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(config: &str) -> Keyword {
        caliper_sdk::configure(config).unwrap()
    }

    fn check(m: &Keyword, output: &str) -> Outcome {
        m.evaluate(&Sample::with_output(output)).unwrap()
    }

    #[test]
    fn all_required_and_no_forbidden_terms_pass() {
        let m =
            metric(r#"{"must_include": ["refund", "14 days"], "must_not_include": ["Globex"]}"#);
        let o = check(&m, "You get a full Refund within 14 days.");
        assert!(o.is_pass(), "{o:?}");
        assert_eq!(o.value, Some(0.0));
        assert!(o.reason.is_none());
        assert!(o.labels.is_empty());
    }

    #[test]
    fn missing_and_forbidden_terms_fail_and_count() {
        let m = metric(
            r#"{"must_include": ["refund", "14 days", "receipt"], "must_not_include": ["Globex", "Initech"]}"#,
        );
        let o = check(&m, "Globex and INITECH offer a refund too, and so do we.");
        assert!(o.is_fail());
        assert_eq!(o.value, Some(4.0));
        assert_eq!(
            o.reason.as_deref(),
            Some(r#"missing "14 days", "receipt"; forbidden "Globex", "Initech""#)
        );
        assert_eq!(o.label("missing"), Some("14 days, receipt"));
        assert_eq!(o.label("forbidden"), Some("Globex, Initech"));
        // Repeated occurrences and duplicate terms count once.
        let m = metric(r#"{"must_not_include": ["Globex", "Globex"]}"#);
        assert_eq!(check(&m, "Globex, Globex, Globex").value, Some(1.0));
    }

    #[test]
    fn whole_words_are_unicode_aware() {
        let m =
            metric(r#"{"must_include": ["Grüße"], "must_not_include": ["cat", "C++", "AT&T"]}"#);
        assert!(check(&m, "Viele Grüße aus München").is_pass());
        assert!(check(&m, "Viele Grüßeaus München").is_fail());
        assert!(check(&m, "Schöne Grüße! A category for scatter plots.").is_pass());
        for forbidden in ["a cat.", "(C++)", "C++ rocks", "by AT&T,"] {
            let o = check(&m, &format!("Grüße {forbidden}"));
            assert!(o.is_fail(), "{forbidden}");
        }
        // Word characters include letters of every script.
        let m = metric(r#"{"must_not_include": ["über"]}"#);
        assert!(check(&m, "Das ist müber.").is_pass());
        assert!(check(&m, "Das ist ÜBER alles.").is_fail());
    }

    #[test]
    fn substring_matching_when_whole_word_is_off() {
        let m = metric(r#"{"must_not_include": ["cat"], "whole_word": false}"#);
        assert!(check(&m, "A Category.").is_fail());
        assert!(check(&m, "A dog.").is_pass());
    }

    #[test]
    fn case_sensitivity() {
        let m = metric(r#"{"must_include": ["iPhone"], "case_sensitive": true}"#);
        assert!(check(&m, "The new iPhone").is_pass());
        assert!(check(&m, "The new IPHONE").is_fail());
        let m = metric(r#"{"must_include": ["iPhone"]}"#);
        assert!(check(&m, "The new IPHONE").is_pass());
        // Terms are literal: regex syntax has no special meaning.
        let m = metric(r#"{"must_include": ["a.b (x)"]}"#);
        assert!(check(&m, "see a.b (x) here").is_pass());
        assert!(check(&m, "see axb  x  here").is_fail());
    }

    #[test]
    fn empty_output_misses_everything() {
        let m = metric(r#"{"must_include": ["hello"], "must_not_include": ["bye"]}"#);
        let o = check(&m, "");
        assert!(o.is_fail());
        assert_eq!(o.value, Some(1.0));
        assert!(
            metric("{}")
                .evaluate(&Sample::with_output(""))
                .unwrap()
                .is_pass()
        );
    }

    #[test]
    fn the_input_field_can_be_checked() {
        let m = metric(r#"{"field": "input", "must_not_include": ["password"]}"#);
        let sample = Sample::with_output("Your password is safe.").input("Hello there");
        assert!(m.evaluate(&sample).unwrap().is_pass());
        let sample = Sample::with_output("Hi").input("My PASSWORD is hunter2");
        assert!(m.evaluate(&sample).unwrap().is_fail());
    }

    #[test]
    fn bad_config_is_rejected() {
        let err = |config: &str| {
            caliper_sdk::configure::<Keyword>(config)
                .err()
                .unwrap()
                .to_string()
        };
        assert_eq!(
            err(r#"{"must_include": ["ok", " "]}"#),
            "must_include contains an empty term"
        );
        assert_eq!(
            err(r#"{"must_include": ["Acme"], "must_not_include": ["Acme"]}"#),
            "\"Acme\" is in both must_include and must_not_include"
        );
        assert!(err(r#"{"field": "expected"}"#).contains("unknown variant `expected`"));
        assert!(err(r#"{"must_include": "Acme"}"#).contains("invalid type"));
        assert!(err(r#"{"wholeword": true}"#).contains("unknown field `wholeword`"));
    }
}
