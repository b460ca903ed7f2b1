//! `regex`: the output matches every required regular expression and none
//! of the forbidden ones.
//!
//! Config: `{"must_match": [], "must_not_match": [], "field": "output"}`,
//! patterns in Rust `regex` syntax (flags inline: `(?i)`, `(?m)`, `(?s)`).
//! Patterns are compiled once, when the metric is configured; an invalid one
//! is a config error naming it. The value is the number of violated patterns;
//! the verdict fails when it is above 0. The reason names them and, for a
//! forbidden pattern, quotes the start of what it matched. Never skips.

use caliper_sdk::{Descriptor, Error, LogLevel, Metric, Outcome, Sample, TextField};
use regex::Regex;
use serde::Deserialize;
use serde_json::json;

/// Longest excerpt of a forbidden match shown in a reason, in characters.
const EXCERPT_CHARS: usize = 60;

/// Configuration.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Patterns that must each match somewhere.
    pub must_match: Vec<String>,
    /// Patterns that must not match anywhere.
    pub must_not_match: Vec<String>,
    /// Which text to check.
    pub field: TextField,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            must_match: Vec::new(),
            must_not_match: Vec::new(),
            field: TextField::Output,
        }
    }
}

/// The metric.
pub struct RegexMatch {
    must_match: Vec<Regex>,
    must_not_match: Vec<Regex>,
    field: TextField,
}

/// Compiles the patterns of one list; the error names the list, the pattern
/// and what is wrong with it.
fn compile(patterns: &[String], list: &str) -> Result<Vec<Regex>, Error> {
    patterns
        .iter()
        .map(|pattern| {
            if pattern.is_empty() {
                return Err(Error::new(format!(
                    "{list} contains an empty pattern (it would match anything)"
                )));
            }
            Regex::new(pattern)
                .map_err(|e| Error::new(format!("invalid pattern /{pattern}/ in {list}: {e}")))
        })
        .collect()
}

/// At most [`EXCERPT_CHARS`] characters of `text`, with `…` when cut.
pub fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
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
            .config_schema(json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "must_match": {
                        "type": "array",
                        "items": {"type": "string", "minLength": 1},
                        "default": [],
                        "description": "patterns (Rust regex syntax) that must each match"
                    },
                    "must_not_match": {
                        "type": "array",
                        "items": {"type": "string", "minLength": 1},
                        "default": [],
                        "description": "patterns (Rust regex syntax) that must not match"
                    },
                    "field": {"enum": ["output", "input"], "default": "output"}
                }
            }))
    }

    fn new(config: Config) -> Result<Self, Error> {
        let must_match = compile(&config.must_match, "must_match")?;
        let must_not_match = compile(&config.must_not_match, "must_not_match")?;
        if must_match.is_empty() && must_not_match.is_empty() {
            caliper_sdk::log(
                LogLevel::Warn,
                "regex: must_match and must_not_match are empty; every sample passes",
            );
        }
        Ok(RegexMatch {
            must_match,
            must_not_match,
            field: config.field,
        })
    }

    fn evaluate(&self, sample: &Sample) -> Result<Outcome, Error> {
        let text = self.field.of(sample);
        let mut problems = Vec::new();
        for re in &self.must_match {
            if !re.is_match(text) {
                problems.push(format!("no match for /{}/", re.as_str()));
            }
        }
        for re in &self.must_not_match {
            if let Some(m) = re.find(text) {
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
    }
}
