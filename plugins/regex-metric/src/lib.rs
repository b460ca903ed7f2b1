//! `regex`: the output matches every required regular expression and none
//! of the forbidden ones.
//!
//! Config: `{"must_match": [], "must_not_match": [], "must_match_from": [],
//! "must_not_match_from": [], "if_missing": "skip", "field": "output"}`,
//! patterns in Rust `regex` syntax (flags inline: `(?i)`, `(?m)`, `(?s)`).
//! Configured patterns are compiled once, when the metric is configured; an
//! invalid one is a config error naming it. Patterns can also come from each
//! sample through JSON pointers (`must_match_from = "/metadata/pattern"`,
//! see [`caliper_sdk::pointer`]); those are compiled on first use and cached, and an
//! invalid one is an evaluation error naming the pointer. When a pointer
//! finds nothing the sample is skipped with a reason naming the pointer
//! (`if_missing = "skip"`, the default), is an evaluation error (`"error"`),
//! or is checked with the other patterns only (`"ignore"`).
//!
//! The value is the number of violated patterns; the verdict fails when it
//! is above 0. The reason names them and, for a forbidden pattern, quotes the
//! start of what it matched.
//!
//! Before a pattern's automaton runs, a literal prefilter ([`prefilter`])
//! looks for a literal that every match must contain (`@` in an e-mail
//! pattern, one of the phrases of an alternation) with `memchr`/`memmem` or
//! an Aho-Corasick automaton; most texts are decided without the regex.

pub mod prefilter;

use caliper_sdk::pointer::{Found, IfMissing, OneOrMany, Pointer, parse_pointers};
use caliper_sdk::{Descriptor, Error, LogLevel, Metric, Outcome, Sample, TextField};
use prefilter::{Prefilter, TextInfo};
use regex::Regex;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Longest excerpt of a forbidden match shown in a reason, in characters.
const EXCERPT_CHARS: usize = 60;

/// Configuration.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Patterns that must each match somewhere.
    #[schemars(inner(length(min = 1)))]
    pub must_match: Vec<String>,
    /// Patterns that must not match anywhere.
    #[schemars(inner(length(min = 1)))]
    pub must_not_match: Vec<String>,
    /// JSON pointers into the sample (e.g. `"/metadata/pattern"`) whose
    /// values (a pattern or a list of patterns) must each match.
    pub must_match_from: OneOrMany,
    /// JSON pointers into the sample whose patterns must not match.
    pub must_not_match_from: OneOrMany,
    /// What a pointer that finds nothing does.
    pub if_missing: IfMissing,
    /// Which text to check.
    pub field: TextField,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            must_match: Vec::new(),
            must_not_match: Vec::new(),
            must_match_from: OneOrMany::default(),
            must_not_match_from: OneOrMany::default(),
            if_missing: IfMissing::Skip,
            field: TextField::Output,
        }
    }
}

/// A compiled pattern and its literal prefilter.
#[derive(Debug)]
pub struct Pattern {
    regex: Regex,
    prefilter: Prefilter,
}

impl Pattern {
    /// Compiles `pattern`; the error is the regex crate's.
    pub fn new(pattern: &str) -> Result<Self, regex::Error> {
        let regex = Regex::new(pattern)?;
        Ok(Pattern {
            prefilter: Prefilter::new(pattern),
            regex,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        self.regex.as_str()
    }

    /// Whether the pattern matches somewhere in `text`.
    pub fn is_match(&self, text: &str, info: &TextInfo) -> bool {
        self.prefilter.may_match(text, info) && self.regex.is_match(text)
    }

    /// The first match.
    pub fn find<'t>(&self, text: &'t str, info: &TextInfo) -> Option<regex::Match<'t>> {
        if self.prefilter.may_match(text, info) {
            self.regex.find(text)
        } else {
            None
        }
    }
}

/// The metric.
pub struct RegexMatch {
    must_match: Vec<Pattern>,
    must_not_match: Vec<Pattern>,
    must_match_from: Vec<Pointer>,
    must_not_match_from: Vec<Pointer>,
    if_missing: IfMissing,
    field: TextField,
    cache: PatternCache,
}

/// Patterns from samples, compiled once and kept (datasets repeat them).
/// Bounded: cleared when full.
#[derive(Default)]
struct PatternCache(Mutex<HashMap<String, Arc<Result<Pattern, String>>>>);

/// How many sample patterns are cached.
const CACHED_PATTERNS: usize = 1024;

impl PatternCache {
    fn get(&self, pattern: &str) -> Arc<Result<Pattern, String>> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = map.get(pattern) {
            return p.clone();
        }
        if map.len() >= CACHED_PATTERNS {
            map.clear();
        }
        let compiled = Arc::new(Pattern::new(pattern).map_err(|e| e.to_string()));
        map.insert(pattern.to_owned(), compiled.clone());
        compiled
    }
}

/// Compiles the patterns of one list; the error names the list, the pattern
/// and what is wrong with it.
fn compile(patterns: &[String], list: &str) -> Result<Vec<Pattern>, Error> {
    patterns
        .iter()
        .map(|pattern| {
            if pattern.is_empty() {
                return Err(Error::new(format!(
                    "{list} contains an empty pattern (it would match anything)"
                )));
            }
            Pattern::new(pattern)
                .map_err(|e| Error::new(format!("invalid pattern /{pattern}/ in {list}: {e}")))
        })
        .collect()
}

/// The patterns of a list from a sample that compiled (the others were
/// reported as errors before).
fn compiled(list: &[Arc<Result<Pattern, String>>]) -> impl Iterator<Item = &Pattern> {
    list.iter().filter_map(|p| p.as_ref().as_ref().ok())
}

/// At most [`EXCERPT_CHARS`] characters of `text`, with `…` when cut.
pub fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// Patterns taken from a sample, or the pointer that found nothing.
enum FromSample {
    Patterns(Vec<Arc<Result<Pattern, String>>>),
    Missing(String),
}

impl RegexMatch {
    fn sample_patterns(
        &self,
        pointers: &[Pointer],
        key: &str,
        sample: &Sample,
    ) -> Result<FromSample, Error> {
        let mut out = Vec::new();
        for p in pointers {
            match p.find(sample) {
                Found::Texts(list) => {
                    for pattern in list {
                        let compiled = self.cache.get(&pattern);
                        if let Err(e) = &*compiled {
                            return Err(Error::new(format!(
                                "{key}: invalid pattern /{pattern}/ at {}: {e}",
                                p.as_str()
                            )));
                        }
                        out.push(compiled);
                    }
                }
                Found::Missing => {
                    if self.if_missing != IfMissing::Ignore {
                        return Ok(FromSample::Missing(p.as_str().to_owned()));
                    }
                }
                Found::Invalid(why) => return Err(Error::new(format!("{key}: {why}"))),
            }
        }
        Ok(FromSample::Patterns(out))
    }
}

impl Metric for RegexMatch {
    type Config = Config;

    fn describe() -> Descriptor {
        Descriptor::new("regex", env!("CARGO_PKG_VERSION"))
            .description(
                "the output matches every required regular expression and no forbidden one",
            )
            .owner("caliper-standard-metrics")
            .goal("answers follow required formats and never contain forbidden patterns")
            .tags(["regex", "format", "compliance"])
            .unit("violations (patterns violated)", false)
            .config_schema_of::<Config>()
    }

    fn new(config: Config) -> Result<Self, Error> {
        let must_match = compile(&config.must_match, "must_match")?;
        let must_not_match = compile(&config.must_not_match, "must_not_match")?;
        let must_match_from = parse_pointers(&config.must_match_from, "must_match_from")?;
        let must_not_match_from =
            parse_pointers(&config.must_not_match_from, "must_not_match_from")?;
        if must_match.is_empty()
            && must_not_match.is_empty()
            && must_match_from.is_empty()
            && must_not_match_from.is_empty()
        {
            caliper_sdk::log(
                LogLevel::Warn,
                "regex: must_match and must_not_match are empty; every sample passes",
            );
        }
        Ok(RegexMatch {
            must_match,
            must_not_match,
            must_match_from,
            must_not_match_from,
            if_missing: config.if_missing,
            field: config.field,
            cache: PatternCache::default(),
        })
    }

    fn evaluate(&self, sample: &Sample) -> Result<Outcome, Error> {
        let mut dynamic: [Vec<Arc<Result<Pattern, String>>>; 2] = [Vec::new(), Vec::new()];
        for (i, (pointers, key)) in [
            (&self.must_match_from, "must_match_from"),
            (&self.must_not_match_from, "must_not_match_from"),
        ]
        .into_iter()
        .enumerate()
        {
            match self.sample_patterns(pointers, key, sample)? {
                FromSample::Patterns(list) => dynamic[i] = list,
                FromSample::Missing(pointer) => {
                    let why = format!("no pattern at {pointer} ({key})");
                    return match self.if_missing {
                        IfMissing::Error => Err(Error::new(why)),
                        _ => Ok(Outcome::skip(why).with_label("missing_pointer", pointer)),
                    };
                }
            }
        }
        let text = self.field.of(sample);
        let info = TextInfo::new(text);
        let mut problems = Vec::new();
        let [required, forbidden] = &dynamic;
        for re in self.must_match.iter().chain(compiled(required)) {
            if !re.is_match(text, &info) {
                problems.push(format!("no match for /{}/", re.as_str()));
            }
        }
        for re in self.must_not_match.iter().chain(compiled(forbidden)) {
            if let Some(m) = re.find(text, &info) {
                problems.push(format!(
                    "/{}/ matched {:?}",
                    re.as_str(),
                    excerpt(m.as_str())
                ));
            }
        }
        let outcome = Outcome::check(problems.is_empty(), problems.len() as f64);
        Ok(if problems.is_empty() {
            outcome
        } else {
            outcome.with_reason(problems.join("; "))
        })
    }
}

caliper_sdk::export_metric!(RegexMatch);

#[cfg(test)]
mod tests {
    use super::*;
    use caliper_sdk::MetaValue;

    fn metric(config: &str) -> RegexMatch {
        caliper_sdk::configure(config).unwrap()
    }

    fn check(m: &RegexMatch, output: &str) -> Outcome {
        m.evaluate(&Sample::with_output(output)).unwrap()
    }

    #[test]
    fn required_and_forbidden_patterns_pass() {
        let m = metric(
            r#"{"must_match": ["(?i)^dear", "Ticket #\\d{5}"], "must_not_match": ["\\bTODO\\b"]}"#,
        );
        let o = check(&m, "Dear customer, see Ticket #12345.");
        assert!(o.is_pass(), "{o:?}");
        assert_eq!(o.value, Some(0.0));
        assert!(o.reason.is_none());
    }

    #[test]
    fn violations_are_counted_and_explained() {
        let m = metric(
            r#"{"must_match": ["^Dear", "Ticket #\\d{5}"], "must_not_match": ["\\bTODO\\b", "(?i)lorem"]}"#,
        );
        let o = check(&m, "Hi! TODO: write the answer.");
        assert!(o.is_fail());
        assert_eq!(o.value, Some(3.0));
        assert_eq!(
            o.reason.as_deref(),
            Some(
                r#"no match for /^Dear/; no match for /Ticket #\d{5}/; /\bTODO\b/ matched "TODO""#
            )
        );
    }

    #[test]
    fn long_and_multiline_matches_are_cut_and_escaped() {
        let m = metric(r#"{"must_not_match": ["(?s)BEGIN.*END"]}"#);
        let body = "x".repeat(100);
        let o = check(&m, &format!("BEGIN\n{body}END"));
        let reason = o.reason.unwrap();
        assert_eq!(
            reason,
            format!("/(?s)BEGIN.*END/ matched \"BEGIN\\n{}…\"", "x".repeat(54))
        );
    }

    #[test]
    fn excerpts_cut_on_characters() {
        assert_eq!(excerpt("short"), "short");
        let umlauts = "ü".repeat(61);
        assert_eq!(excerpt(&umlauts), format!("{}…", "ü".repeat(60)));
        assert_eq!(excerpt(&"é".repeat(60)), "é".repeat(60));
    }

    #[test]
    fn unicode_classes_and_case_folding() {
        let m = metric(
            r#"{"must_match": ["(?i)\\bgrüße\\b"], "must_not_match": ["[\\x{4E00}-\\x{9FFF}]+"]}"#,
        );
        assert!(check(&m, "Viele GRÜẞE!").is_pass());
        assert!(
            check(&m, "Viele Grüßeaus").is_fail(),
            "\\b is Unicode-aware"
        );
        assert!(check(&m, "Viele GRUESSE").is_fail(), "no full case folding");
        let o = check(&m, "Grüße 你好");
        assert!(o.is_fail());
        assert_eq!(
            o.reason.as_deref(),
            Some(r#"/[\x{4E00}-\x{9FFF}]+/ matched "你好""#)
        );
    }

    #[test]
    fn empty_output() {
        let m = metric(r#"{"must_match": ["\\S"], "must_not_match": ["x"]}"#);
        let o = check(&m, "");
        assert!(o.is_fail());
        assert_eq!(o.value, Some(1.0));
        assert!(check(&metric("{}"), "").is_pass());
        // An empty match is still a match, shown as "".
        let m = metric(r#"{"must_not_match": ["^$"]}"#);
        assert_eq!(check(&m, "").reason.as_deref(), Some(r#"/^$/ matched """#));
    }

    #[test]
    fn the_input_field_can_be_checked() {
        let m = metric(r#"{"field": "input", "must_match": ["\\?$"]}"#);
        assert!(
            m.evaluate(&Sample::with_output("No.").input("Why?"))
                .unwrap()
                .is_pass()
        );
        assert!(
            m.evaluate(&Sample::with_output("Why?").input("Hi."))
                .unwrap()
                .is_fail()
        );
    }

    #[test]
    fn patterns_from_the_sample() {
        let m = metric(
            r#"{"must_match_from": "/metadata/format", "must_not_match_from": ["/metadata/vars/forbid"]}"#,
        );
        let sample = |output: &str| {
            Sample::with_output(output)
                .meta("format", MetaValue::Text(r"^Ticket #\d{5}".into()))
                .meta(
                    "vars",
                    MetaValue::Json(r#"{"forbid": ["(?i)lorem", "TODO"]}"#.into()),
                )
        };
        assert!(
            m.evaluate(&sample("Ticket #12345 is open."))
                .unwrap()
                .is_pass()
        );
        let o = m.evaluate(&sample("Hi, LOREM ipsum TODO")).unwrap();
        assert_eq!(o.value, Some(3.0));
        assert_eq!(
            o.reason.as_deref(),
            Some(
                r#"no match for /^Ticket #\d{5}/; /(?i)lorem/ matched "LOREM"; /TODO/ matched "TODO""#
            )
        );
        // The same pattern from many samples is compiled once.
        for _ in 0..3 {
            m.evaluate(&sample("x")).unwrap();
        }
        assert_eq!(m.cache.0.lock().unwrap().len(), 3);
    }

    #[test]
    fn missing_or_invalid_patterns_from_the_sample() {
        let m = metric(r#"{"must_not_match_from": "/metadata/pattern"}"#);
        let o = m.evaluate(&Sample::with_output("x")).unwrap();
        assert!(o.is_skip());
        assert_eq!(
            o.reason.as_deref(),
            Some("no pattern at /metadata/pattern (must_not_match_from)")
        );
        assert_eq!(o.label("missing_pointer"), Some("/metadata/pattern"));
        let bad = Sample::with_output("x").meta("pattern", MetaValue::Text("(unclosed".into()));
        let e = m.evaluate(&bad).unwrap_err();
        assert!(
            e.message().starts_with(
                "must_not_match_from: invalid pattern /(unclosed/ at /metadata/pattern: "
            ),
            "{e}"
        );
        let m = metric(r#"{"must_not_match_from": "/metadata/pattern", "if_missing": "error"}"#);
        assert_eq!(
            m.evaluate(&Sample::with_output("x")).unwrap_err().message(),
            "no pattern at /metadata/pattern (must_not_match_from)"
        );
        let m = metric(
            r#"{"must_not_match_from": "/metadata/pattern", "must_match": ["x"], "if_missing": "ignore"}"#,
        );
        assert!(m.evaluate(&Sample::with_output("x")).unwrap().is_pass());
        assert!(m.evaluate(&Sample::with_output("y")).unwrap().is_fail());
    }

    #[test]
    fn prefiltered_patterns_agree_with_the_plain_regex() {
        let patterns = [
            r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
            r"(?i)\b(?:i['’]m sorry, but|i can(?:no|['’])t (?:help|assist)|leider kann ich|je ne peux pas)\b",
            r"\bTODO\b",
            r"(?i)kelvin",
            r"<\|(?:im_start|im_end|endoftext)\|>",
        ];
        let texts = [
            "Write to anna.schmidt@mail.de today.",
            "user@host only",
            "I'M SORRY, BUT I cannot do that.",
            "I can’t help with that.",
            "Leider kann ich das nicht.",
            "Leider kannich",
            "A TODO list; TODOs",
            "\u{212A}ELVIN scale",
            "<|im_end|>",
            "Grüße aus München, je ne peux pas.",
            "",
        ];
        for p in patterns {
            let pattern = Pattern::new(p).unwrap();
            let plain = Regex::new(p).unwrap();
            for t in texts {
                let info = TextInfo::new(t);
                assert_eq!(
                    pattern.is_match(t, &info),
                    plain.is_match(t),
                    "/{p}/ on {t:?}"
                );
                assert_eq!(
                    pattern.find(t, &info).map(|m| m.range()),
                    plain.find(t).map(|m| m.range())
                );
            }
        }
    }

    /// The patterns of `prefilter_never_changes_a_verdict`, compiled once.
    fn bench_patterns() -> &'static [(Pattern, Regex)] {
        static PATTERNS: std::sync::OnceLock<Vec<(Pattern, Regex)>> = std::sync::OnceLock::new();
        PATTERNS.get_or_init(|| {
            [
                r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
                r"(?i)\b(?:i['’]m sorry, but|i can(?:no|['’])t (?:help|assist)|leider (?:kann|darf) ich|je ne peux pas)\b",
                r"\bTODO\b",
                r"(?i)todo|\bgrüße",
                r"(?i)s\w*k",
                r"<\|(?:im_start|im_end|endoftext)\|>",
            ]
            .iter()
            .map(|p| (Pattern::new(p).unwrap(), Regex::new(p).unwrap()))
            .collect()
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        /// Typical metric patterns (e-mail, refusal phrases in several
        /// languages, markers) on random texts assembled from near-misses:
        /// the prefiltered search answers exactly as the plain regex.
        #[test]
        fn prefilter_never_changes_a_verdict(
            pieces in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("anna@mail.de"), proptest::strategy::Just("user@host"),
                    proptest::strategy::Just("a.b@c.io"), proptest::strategy::Just("@"),
                    proptest::strategy::Just("I'M SORRY, BUT"), proptest::strategy::Just("i’m sorry, but"),
                    proptest::strategy::Just("I can’t help"), proptest::strategy::Just("i cannot assist"),
                    proptest::strategy::Just("Leider kann ich"), proptest::strategy::Just("LEIDER DARF ICH"),
                    proptest::strategy::Just("je ne peux pas"), proptest::strategy::Just("JE NE PEUX"),
                    proptest::strategy::Just("\u{212A}"), proptest::strategy::Just("\u{17F}"),
                    proptest::strategy::Just("TODO"), proptest::strategy::Just("todo"),
                    proptest::strategy::Just("<|im_end|>"), proptest::strategy::Just("Grüße"),
                    proptest::strategy::Just(" "), proptest::strategy::Just("x"), proptest::strategy::Just("."),
                    proptest::strategy::Just("_"), proptest::strategy::Just("é"), proptest::strategy::Just("\n"),
                ],
                0..12,
            ),
        ) {
            let text: String = pieces.concat();
            let info = TextInfo::new(&text);
            for (pattern, plain) in bench_patterns() {
                let p = plain.as_str();
                proptest::prop_assert_eq!(pattern.is_match(&text, &info), plain.is_match(&text), "/{}/ on {:?}", p, text);
                proptest::prop_assert_eq!(
                    pattern.find(&text, &info).map(|m| m.range()),
                    plain.find(&text).map(|m| m.range())
                );
            }
        }
    }

    #[test]
    fn invalid_patterns_are_config_errors() {
        let err = |config: &str| {
            caliper_sdk::configure::<RegexMatch>(config)
                .err()
                .unwrap()
                .to_string()
        };
        let e = err(r#"{"must_match": ["ok", "(unclosed"]}"#);
        assert!(
            e.starts_with("invalid pattern /(unclosed/ in must_match: "),
            "{e}"
        );
        assert!(e.contains("unclosed group"), "{e}");
        let e = err(r#"{"must_not_match": ["a{2,1}"]}"#);
        assert!(
            e.starts_with("invalid pattern /a{2,1}/ in must_not_match"),
            "{e}"
        );
        // Look-around is not Rust regex syntax.
        assert!(err(r#"{"must_match": ["(?<=a)b"]}"#).contains("look-around"));
        // Unknown Unicode classes are rejected; real ones compile.
        let e = err(r#"{"must_match": ["\\p{Klingon}"]}"#);
        assert!(
            e.starts_with(r"invalid pattern /\p{Klingon}/ in must_match"),
            "{e}"
        );
        assert!(e.contains("Unicode property not found"), "{e}");
        let han = metric(r#"{"must_match": ["\\p{Han}"]}"#);
        assert!(
            han.evaluate(&Sample::with_output("你好"))
                .unwrap()
                .is_pass()
        );
        assert!(err(r#"{"must_match": [""]}"#).contains("empty pattern"));
        assert!(err(r#"{"must_match": "x"}"#).contains("invalid type"));
        assert!(err(r#"{"patterns": []}"#).contains("unknown field `patterns`"));
        assert!(err(r#"{"must_match_from": "metadata/p"}"#).starts_with("must_match_from: "));
        assert!(err(r#"{"if_missing": "maybe"}"#).contains("unknown variant `maybe`"));
    }
}
