//! JSON pointers (RFC 6901) into a sample, as it appears in the dataset:
//! `/id`, `/input`, `/output`, `/expected`, `/metadata/<key>` (and deeper,
//! into metadata objects and arrays), `/messages/<i>/role`,
//! `/messages/<i>/content`, `/context` and `/context/<i>`.
//!
//! For metrics whose terms or patterns come from the sample itself (the
//! standard `keyword` and `regex` metrics: `must_include_from =
//! "/metadata/keyword"`).

use crate::{MetaValue, Sample};
use serde::Deserialize;
use serde_json::Value;

/// A parsed pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    /// The pointer as written (for reasons).
    text: String,
    /// Its reference tokens, unescaped (`~1` is `/`, `~0` is `~`).
    tokens: Vec<String>,
}

/// What a pointer finds in a sample.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// Nothing there (or JSON `null`, or an empty string or list).
    Missing,
    /// One or more texts: a string, a number or boolean as text, or a list
    /// of those.
    Texts(Vec<String>),
    /// Something that is not text (an object, a nested list): the reason.
    Invalid(String),
}

/// Top-level fields a pointer may start with.
const ROOTS: &[&str] = &[
    "id", "input", "output", "expected", "metadata", "messages", "context",
];

impl Pointer {
    /// Parses `text`; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let Some(rest) = text.strip_prefix('/') else {
            return Err(format!(
                "{text:?} is not a JSON pointer (it must start with '/', e.g. \"/metadata/keyword\")"
            ));
        };
        let mut tokens = Vec::new();
        for raw in rest.split('/') {
            let mut token = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                if c == '~' {
                    match chars.next() {
                        Some('0') => token.push('~'),
                        Some('1') => token.push('/'),
                        _ => {
                            return Err(format!(
                                "{text:?}: '~' must be followed by 0 or 1 in a JSON pointer"
                            ));
                        }
                    }
                } else {
                    token.push(c);
                }
            }
            tokens.push(token);
        }
        if !ROOTS.contains(&tokens[0].as_str()) {
            return Err(format!(
                "{text:?} does not point into a sample: it must start with one of {}",
                ROOTS
                    .iter()
                    .map(|r| format!("/{r}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Ok(Pointer {
            text: text.to_owned(),
            tokens,
        })
    }

    /// The pointer as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// What the pointer finds in `sample`.
    pub fn find(&self, sample: &Sample) -> Found {
        let rest = &self.tokens[1..];
        match self.tokens[0].as_str() {
            "id" => text_leaf(&sample.id, rest),
            "input" => text_leaf(&sample.input, rest),
            "output" => text_leaf(&sample.output, rest),
            "expected" => match &sample.expected {
                Some(e) => text_leaf(e, rest),
                None => Found::Missing,
            },
            "context" => match rest {
                [] => texts(sample.context.to_vec()),
                [i, tail @ ..] => match index(i).and_then(|i| sample.context.get(i)) {
                    Some(passage) => text_leaf(passage, tail),
                    None => Found::Missing,
                },
            },
            "messages" => match rest {
                [i, field, tail @ ..] => {
                    let Some(m) = index(i).and_then(|i| sample.messages.get(i)) else {
                        return Found::Missing;
                    };
                    match field.as_str() {
                        "content" => text_leaf(&m.content, tail),
                        "role" => text_leaf(&m.role, tail),
                        _ => Found::Missing,
                    }
                }
                [_] | [] => Found::Invalid(format!(
                    "{} is a message or the conversation, not text (point at /messages/<i>/content)",
                    self.text
                )),
            },
            "metadata" => {
                let [key, tail @ ..] = rest else {
                    return Found::Invalid(format!(
                        "{} is the whole metadata object, not text",
                        self.text
                    ));
                };
                match sample.metadata.get(key) {
                    None | Some(MetaValue::Null) => Found::Missing,
                    Some(MetaValue::Text(t)) => text_leaf(t, tail),
                    Some(MetaValue::Number(n)) if tail.is_empty() => texts(vec![number(*n)]),
                    Some(MetaValue::Bool(b)) if tail.is_empty() => texts(vec![b.to_string()]),
                    Some(MetaValue::Number(_) | MetaValue::Bool(_)) => Found::Missing,
                    Some(MetaValue::Json(json)) => match serde_json::from_str::<Value>(json) {
                        Ok(value) => self.json_value(&value, tail),
                        Err(_) => Found::Invalid(format!("{} holds invalid JSON", self.text)),
                    },
                }
            }
            _ => Found::Missing,
        }
    }

    /// Walks `tail` into a JSON value.
    fn json_value(&self, mut value: &Value, tail: &[String]) -> Found {
        for token in tail {
            let next = match value {
                Value::Object(map) => map.get(token),
                Value::Array(items) => index(token).and_then(|i| items.get(i)),
                _ => None,
            };
            match next {
                Some(v) => value = v,
                None => return Found::Missing,
            }
        }
        match value {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match scalar(item) {
                        Some(Some(t)) => out.push(t),
                        Some(None) => {}
                        None => {
                            return Found::Invalid(format!(
                                "{} is a list that holds an object or a list, not only texts",
                                self.text
                            ));
                        }
                    }
                }
                texts(out)
            }
            Value::Object(_) => Found::Invalid(format!("{} is an object, not text", self.text)),
            other => match scalar(other) {
                Some(Some(t)) => texts(vec![t]),
                _ => Found::Missing,
            },
        }
    }
}

/// A scalar as text: `Some(None)` for null, `None` for objects and lists.
fn scalar(value: &Value) -> Option<Option<String>> {
    match value {
        Value::Null => Some(None),
        Value::String(s) => Some(Some(s.clone())),
        Value::Bool(b) => Some(Some(b.to_string())),
        Value::Number(n) => Some(Some(n.to_string())),
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// A number as text: integers without a fraction ("2026", not "2026.0").
fn number(n: f64) -> String {
    format!("{n}")
}

fn index(token: &str) -> Option<usize> {
    // RFC 6901: no leading zeros, no sign.
    if token.is_empty() || (token.len() > 1 && token.starts_with('0')) {
        return None;
    }
    if !token.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    token.parse().ok()
}

fn text_leaf(text: &str, tail: &[String]) -> Found {
    if tail.is_empty() {
        texts(vec![text.to_owned()])
    } else {
        Found::Missing
    }
}

/// Texts, with empty and blank ones dropped; nothing left is `Missing`.
fn texts(mut list: Vec<String>) -> Found {
    list.retain(|t| !t.trim().is_empty());
    if list.is_empty() {
        Found::Missing
    } else {
        Found::Texts(list)
    }
}

// ---------------------------------------------------------------------------
// Config keys that name pointers (`must_include_from = "/metadata/keyword"`)
// ---------------------------------------------------------------------------

/// One pointer or a list of them.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One pointer.
    One(#[schemars(regex(pattern = "^/"))] String),
    /// Several.
    Many(#[schemars(inner(regex(pattern = "^/")))] Vec<String>),
    /// None (the default).
    #[default]
    #[serde(skip)]
    Nothing,
}

impl OneOrMany {
    /// The pointers as written.
    pub fn list(&self) -> Vec<String> {
        match self {
            OneOrMany::One(p) => vec![p.clone()],
            OneOrMany::Many(list) => list.clone(),
            OneOrMany::Nothing => Vec::new(),
        }
    }
}

/// What happens when a `*_from` pointer finds nothing in a sample.
#[derive(
    Debug, Clone, Copy, Default, Deserialize, serde::Serialize, PartialEq, Eq, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum IfMissing {
    /// Skip the sample; the reason names the pointer.
    #[default]
    Skip,
    /// Report an evaluation error naming the pointer.
    Error,
    /// Check the sample with the other terms or patterns only.
    Ignore,
}

/// The pointers of config key `key`, parsed; an error names the key.
pub fn parse_pointers(list: &OneOrMany, key: &str) -> Result<Vec<Pointer>, crate::Error> {
    list.list()
        .iter()
        .map(|p| Pointer::parse(p).map_err(|e| crate::Error::new(format!("{key}: {e}"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Sample {
        Sample::with_output("the answer")
            .input("the question")
            .expected("the reference")
            .message("user", "hi")
            .message("assistant", "hello")
            .meta("keyword", MetaValue::Text("refund".into()))
            .meta("year", MetaValue::Number(2026.0))
            .meta("ratio", MetaValue::Number(0.5))
            .meta("flag", MetaValue::Bool(true))
            .meta("none", MetaValue::Null)
            .meta("blank", MetaValue::Text("  ".into()))
            .meta(
                "vars",
                MetaValue::Json(
                    r#"{"terms": ["a", "b", null, 3], "a/b": "slash", "m~n": "tilde", "deep": {"x": 1}, "empty": []}"#
                        .into(),
                ),
            )
    }

    fn find(p: &str) -> Found {
        Pointer::parse(p).unwrap().find(&sample())
    }

    fn t(list: &[&str]) -> Found {
        Found::Texts(list.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn fields_and_metadata() {
        assert_eq!(find("/output"), t(&["the answer"]));
        assert_eq!(find("/input"), t(&["the question"]));
        assert_eq!(find("/expected"), t(&["the reference"]));
        assert_eq!(find("/id"), Found::Missing, "an empty id is missing");
        assert_eq!(find("/metadata/keyword"), t(&["refund"]));
        assert_eq!(find("/metadata/year"), t(&["2026"]));
        assert_eq!(find("/metadata/ratio"), t(&["0.5"]));
        assert_eq!(find("/metadata/flag"), t(&["true"]));
        assert_eq!(find("/metadata/none"), Found::Missing);
        assert_eq!(find("/metadata/blank"), Found::Missing);
        assert_eq!(find("/metadata/nope"), Found::Missing);
        assert_eq!(find("/metadata/keyword/x"), Found::Missing);
        assert_eq!(find("/messages/1/content"), t(&["hello"]));
        assert_eq!(find("/messages/0/role"), t(&["user"]));
        assert_eq!(find("/messages/7/content"), Found::Missing);
        assert_eq!(find("/messages/01/content"), Found::Missing);
        assert_eq!(find("/context"), Found::Missing);
        assert!(matches!(find("/messages/0"), Found::Invalid(_)));
        assert!(matches!(find("/metadata"), Found::Invalid(_)));
    }

    #[test]
    fn into_json_metadata() {
        assert_eq!(find("/metadata/vars/terms"), t(&["a", "b", "3"]));
        assert_eq!(find("/metadata/vars/terms/1"), t(&["b"]));
        assert_eq!(find("/metadata/vars/a~1b"), t(&["slash"]));
        assert_eq!(find("/metadata/vars/m~0n"), t(&["tilde"]));
        assert_eq!(find("/metadata/vars/deep/x"), t(&["1"]));
        assert_eq!(find("/metadata/vars/empty"), Found::Missing);
        assert!(matches!(find("/metadata/vars/deep"), Found::Invalid(_)));
        assert!(matches!(find("/metadata/vars"), Found::Invalid(_)));
    }

    #[test]
    fn bad_pointers() {
        assert!(
            Pointer::parse("metadata/keyword")
                .unwrap_err()
                .contains("must start with '/'")
        );
        assert!(
            Pointer::parse("/meta/keyword")
                .unwrap_err()
                .contains("/metadata")
        );
        assert!(Pointer::parse("/metadata/a~2").unwrap_err().contains("'~'"));
        assert!(Pointer::parse("").is_err());
    }
}
