//! `keyword`: required terms appear in the output and forbidden ones (e.g.
//! competitor names) do not.
//!
//! Config: `{"must_include": [], "must_not_include": [], "must_include_from":
//! [], "must_not_include_from": [], "if_missing": "skip", "case_sensitive":
//! false, "whole_word": true, "field": "output"}`. The value is the number of
//! violations (missing plus forbidden terms, each counted once); the verdict
//! fails when it is above 0.
//!
//! Terms are literal text, not patterns: configured ones, and ones taken from
//! each sample through JSON pointers (`must_include_from =
//! "/metadata/keyword"`, see [`caliper_sdk::pointer`]). When a pointer finds nothing
//! (no such key, `null`, an empty string or list), the sample is skipped
//! with a reason naming the pointer (`if_missing = "skip"`, the default), is
//! an evaluation error (`"error"`), or is checked with the other terms only
//! (`"ignore"`).
//!
//! Case-insensitive matching uses Unicode simple case folding ("GRÜSSE" is
//! not "Grüße", but "ÜBER" is "über"); whole-word matching uses Unicode word
//! characters, so "Grüße" is one word and "C++" or "AT&T" work as terms too.
//! The search is a `memmem` literal search in the common cases ([`literal`]).

pub mod literal;

use caliper_sdk::pointer::{Found, IfMissing, OneOrMany, Pointer, parse_pointers};
use caliper_sdk::{Descriptor, Error, LogLevel, Metric, Outcome, Sample, TextField};
use literal::{Haystack, Literal};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Configuration.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Terms that must all appear.
    #[schemars(inner(length(min = 1)))]
    pub must_include: Vec<String>,
    /// Terms that must not appear.
    #[schemars(inner(length(min = 1)))]
    pub must_not_include: Vec<String>,
    /// JSON pointers into the sample (e.g. `"/metadata/keyword"`) whose
    /// values (a text or a list of texts) must all appear.
    pub must_include_from: OneOrMany,
    /// JSON pointers into the sample whose values must not appear.
    pub must_not_include_from: OneOrMany,
    /// What a pointer that finds nothing does.
    pub if_missing: IfMissing,
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
            must_include_from: OneOrMany::default(),
            must_not_include_from: OneOrMany::default(),
            if_missing: IfMissing::Skip,
            case_sensitive: false,
            whole_word: true,
            field: TextField::Output,
        }
    }
}

/// A list of configured terms and their matchers.
struct Terms {
    terms: Vec<Literal>,
}

impl Terms {
    fn new(
        terms: &[String],
        list: &str,
        case_sensitive: bool,
        whole_word: bool,
    ) -> Result<Self, Error> {
        let mut unique: Vec<Literal> = Vec::new();
        for term in terms {
            if term.trim().is_empty() {
                return Err(Error::new(format!("{list} contains an empty term")));
            }
            if !unique.iter().any(|l| l.term == *term) {
                let literal = Literal::new(term, case_sensitive, whole_word);
                literal
                    .check()
                    .map_err(|e| Error::new(format!("{list}: {e}")))?;
                unique.push(literal);
            }
        }
        Ok(Terms { terms: unique })
    }

    fn contains(&self, term: &str) -> bool {
        self.terms.iter().any(|l| l.term == term)
    }
}

/// Matchers for terms that come from samples, kept across samples (datasets
/// repeat their terms). Bounded: cleared when full.
#[derive(Default)]
struct TermCache(Mutex<HashMap<String, Arc<Literal>>>);

/// How many sample terms are cached.
const CACHED_TERMS: usize = 4096;

impl TermCache {
    fn get(&self, term: &str, case_sensitive: bool, whole_word: bool) -> Arc<Literal> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = map.get(term) {
            return l.clone();
        }
        if map.len() >= CACHED_TERMS {
            map.clear();
        }
        let literal = Arc::new(Literal::new(term, case_sensitive, whole_word));
        map.insert(term.to_owned(), literal.clone());
        literal
    }
}

/// The metric.
pub struct Keyword {
    must_include: Terms,
    must_not_include: Terms,
    must_include_from: Vec<Pointer>,
    must_not_include_from: Vec<Pointer>,
    if_missing: IfMissing,
    case_sensitive: bool,
    whole_word: bool,
    field: TextField,
    cache: TermCache,
}

/// `"a", "b"`: terms quoted for a reason or label.
fn quoted(terms: &[&str]) -> String {
    terms
        .iter()
        .map(|t| format!("{t:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Terms taken from a sample, or why there are none.
enum FromSample {
    Terms(Vec<String>),
    Missing(String),
}

impl Keyword {
    fn sample_terms(
        &self,
        pointers: &[Pointer],
        key: &str,
        sample: &Sample,
    ) -> Result<FromSample, Error> {
        let mut terms = Vec::new();
        for p in pointers {
            match p.find(sample) {
                Found::Texts(list) => terms.extend(list),
                Found::Missing => {
                    if self.if_missing != IfMissing::Ignore {
                        return Ok(FromSample::Missing(p.as_str().to_owned()));
                    }
                }
                Found::Invalid(why) => return Err(Error::new(format!("{key}: {why}"))),
            }
        }
        Ok(FromSample::Terms(terms))
    }

    /// Appends the terms of `configured` and `extra` whose occurrence is
    /// `occurring` to `out`.
    fn select<'a>(
        &self,
        hay: &mut Haystack<'_>,
        configured: &'a Terms,
        extra: &'a [Arc<Literal>],
        occurring: bool,
        out: &mut Vec<&'a str>,
    ) -> Result<(), Error> {
        for l in configured.terms.iter().chain(extra.iter().map(|l| &**l)) {
            if l.occurs(hay).map_err(Error::new)? == occurring && !out.contains(&l.term.as_str()) {
                out.push(&l.term);
            }
        }
        Ok(())
    }
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
            .config_schema_of::<Config>()
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
            .find(|t| must_not_include.contains(&t.term))
        {
            return Err(Error::new(format!(
                "{:?} is in both must_include and must_not_include",
                term.term
            )));
        }
        let must_include_from = parse_pointers(&config.must_include_from, "must_include_from")?;
        let must_not_include_from =
            parse_pointers(&config.must_not_include_from, "must_not_include_from")?;
        if must_include.terms.is_empty()
            && must_not_include.terms.is_empty()
            && must_include_from.is_empty()
            && must_not_include_from.is_empty()
        {
            caliper_sdk::log(
                LogLevel::Warn,
                "keyword: must_include and must_not_include are empty; every sample passes",
            );
        }
        Ok(Keyword {
            must_include,
            must_not_include,
            must_include_from,
            must_not_include_from,
            if_missing: config.if_missing,
            case_sensitive: config.case_sensitive,
            whole_word: config.whole_word,
            field: config.field,
            cache: TermCache::default(),
        })
    }

    fn evaluate(&self, sample: &Sample) -> Result<Outcome, Error> {
        let mut dynamic: [Vec<Arc<Literal>>; 2] = [Vec::new(), Vec::new()];
        for (i, (pointers, key)) in [
            (&self.must_include_from, "must_include_from"),
            (&self.must_not_include_from, "must_not_include_from"),
        ]
        .into_iter()
        .enumerate()
        {
            match self.sample_terms(pointers, key, sample)? {
                FromSample::Terms(terms) => {
                    dynamic[i] = terms
                        .iter()
                        .map(|t| self.cache.get(t, self.case_sensitive, self.whole_word))
                        .collect();
                }
                FromSample::Missing(pointer) => {
                    let why = format!("no term at {pointer} ({key})");
                    return match self.if_missing {
                        IfMissing::Error => Err(Error::new(why)),
                        _ => Ok(Outcome::skip(why).with_label("missing_pointer", pointer)),
                    };
                }
            }
        }
        let mut hay = Haystack::new(self.field.of(sample));
        let mut missing = Vec::new();
        self.select(
            &mut hay,
            &self.must_include,
            &dynamic[0],
            false,
            &mut missing,
        )?;
        let mut forbidden = Vec::new();
        self.select(
            &mut hay,
            &self.must_not_include,
            &dynamic[1],
            true,
            &mut forbidden,
        )?;
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
    use caliper_sdk::MetaValue;

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

    fn meta_sample(output: &str, keyword: Option<&str>) -> Sample {
        let s = Sample::with_output(output);
        match keyword {
            Some(k) => s.meta("keyword", MetaValue::Text(k.into())),
            None => s,
        }
    }

    #[test]
    fn terms_from_the_sample() {
        let m = metric(r#"{"must_include_from": "/metadata/keyword", "whole_word": false}"#);
        let o = m
            .evaluate(&meta_sample("Your BACKUPS run nightly.", Some("backup")))
            .unwrap();
        assert!(o.is_pass(), "{o:?}");
        let o = m
            .evaluate(&meta_sample("Your invoices are ready.", Some("backup")))
            .unwrap();
        assert!(o.is_fail());
        assert_eq!(o.reason.as_deref(), Some(r#"missing "backup""#));
        assert_eq!(o.label("missing"), Some("backup"));
        // Non-ASCII terms ignore case too.
        let o = m
            .evaluate(&meta_sample(
                "Die RÜCKERSTATTUNG läuft.",
                Some("Rückerstattung"),
            ))
            .unwrap();
        assert!(o.is_pass(), "{o:?}");
        // Lists of terms, from JSON metadata, and forbidden ones.
        let m = metric(
            r#"{"must_include_from": ["/metadata/vars/need"], "must_not_include_from": "/metadata/vars/avoid", "must_include": ["refund"]}"#,
        );
        let sample = Sample::with_output("A refund for your invoice, not from Globex.").meta(
            "vars",
            MetaValue::Json(
                r#"{"need": ["invoice", "refund", "receipt"], "avoid": ["Globex", "Initech"]}"#
                    .into(),
            ),
        );
        let o = m.evaluate(&sample).unwrap();
        assert_eq!(o.value, Some(2.0));
        assert_eq!(
            o.reason.as_deref(),
            Some(r#"missing "receipt"; forbidden "Globex""#)
        );
    }

    #[test]
    fn a_missing_pointer_target_skips_errs_or_is_ignored() {
        let m = metric(r#"{"must_include_from": "/metadata/keyword"}"#);
        for sample in [
            meta_sample("anything", None),
            meta_sample("anything", Some("  ")),
            Sample::with_output("x").meta("keyword", MetaValue::Null),
        ] {
            let o = m.evaluate(&sample).unwrap();
            assert!(o.is_skip(), "{o:?}");
            assert_eq!(
                o.reason.as_deref(),
                Some("no term at /metadata/keyword (must_include_from)")
            );
            assert_eq!(o.label("missing_pointer"), Some("/metadata/keyword"));
        }
        let m = metric(r#"{"must_include_from": "/metadata/keyword", "if_missing": "error"}"#);
        let e = m.evaluate(&meta_sample("x", None)).unwrap_err();
        assert_eq!(
            e.message(),
            "no term at /metadata/keyword (must_include_from)"
        );
        let m = metric(
            r#"{"must_include_from": "/metadata/keyword", "must_not_include": ["Globex"], "if_missing": "ignore"}"#,
        );
        assert!(m.evaluate(&meta_sample("fine", None)).unwrap().is_pass());
        assert!(m.evaluate(&meta_sample("Globex", None)).unwrap().is_fail());
        // Objects are not terms: an error that names the pointer.
        let m = metric(r#"{"must_include_from": "/metadata/vars"}"#);
        let e = m
            .evaluate(&Sample::with_output("x").meta("vars", MetaValue::Json("{}".into())))
            .unwrap_err();
        assert_eq!(
            e.message(),
            "must_include_from: /metadata/vars is an object, not text"
        );
    }

    #[test]
    fn sample_terms_agree_with_configured_ones() {
        let texts = [
            "Schöne Grüße! A category for scatter plots.",
            "Use C++ (or AT&T) for the \u{212A}elvin scale",
            "MA\u{17F}K and mask",
            "",
        ];
        for term in ["cat", "C++", "grüße", "mask", "kelvin", "AT&T"] {
            for flags in [
                r#""case_sensitive": false, "whole_word": true"#,
                r#""case_sensitive": true, "whole_word": false"#,
                r#""case_sensitive": false, "whole_word": false"#,
            ] {
                let fixed = metric(&format!(r#"{{"must_include": [{term:?}], {flags}}}"#));
                let from = metric(&format!(
                    r#"{{"must_include_from": "/metadata/keyword", {flags}}}"#
                ));
                for text in texts {
                    let a = fixed.evaluate(&Sample::with_output(text)).unwrap();
                    let b = from.evaluate(&meta_sample(text, Some(term))).unwrap();
                    assert_eq!(a, b, "{term} {flags} {text}");
                }
            }
        }
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
        assert!(
            err(r#"{"must_include_from": "metadata/keyword"}"#).contains("must start with '/'")
        );
        assert!(
            err(r#"{"must_not_include_from": ["/meta/x"]}"#).starts_with("must_not_include_from: ")
        );
        assert!(err(r#"{"if_missing": "fail"}"#).contains("unknown variant `fail`"));
    }
}
