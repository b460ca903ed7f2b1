//! `json`: the output parses as JSON and, optionally, matches a JSON Schema.
//!
//! Config: `{"extract": "auto"|"raw"|"fenced", "schema": {...}, "assert_format": false}`.
//! The value is 1.0 when the extracted text is valid JSON (and matches the
//! schema, if one is configured), 0.0 otherwise. The reason carries the parse
//! error with its line and column, or the first few schema violations with
//! their instance paths.
//!
//! Schema validation uses `boon` (Draft 2020-12 by default) rather than
//! `jsonschema`: both agree with Python `jsonschema` on our cases, but boon
//! has no network code at all, imports neither clocks nor random numbers in
//! Wasm, and is about half the size (1.5 MB against 2.8 MB). The schema is
//! compiled once, when the metric is configured; references to external
//! documents are refused (a configuration error), so nothing is ever loaded
//! from files or the network.

use boon::{Compiler, Draft, SchemaIndex, Schemas, SchemeUrlLoader, ValidationError};
use caliper_sdk::{Descriptor, Error, Metric, Outcome, Sample};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How many schema violations the reason lists.
const MAX_VIOLATIONS_SHOWN: usize = 3;

/// Where the schema is registered inside the compiler. Never fetched: the
/// document is added from the configuration before compiling.
const SCHEMA_LOCATION: &str = "urn:caliper:json-metric:schema";

/// Which part of the output is parsed.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Extract {
    /// The first fenced block (` ```json ` or a bare ` ``` `) if there is
    /// one, else the whole output.
    #[default]
    Auto,
    /// The whole output, trimmed.
    Raw,
    /// The first fenced block; an output without one fails.
    Fenced,
}

/// Configuration.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Which part of the output is parsed.
    pub extract: Extract,
    /// A JSON Schema (object or boolean) the parsed value must match. Draft
    /// 2020-12 unless the schema names another draft in `$schema`; external
    /// `$ref`s are refused.
    #[schemars(extend("type" = ["object", "boolean", "null"]))]
    pub schema: Option<Value>,
    /// Treat `format` (e.g. `"email"`, `"date-time"`) as an assertion. Draft
    /// 2020-12 makes it an annotation only, so the default is `false`.
    pub assert_format: bool,
}

/// The metric.
pub struct Json {
    extract: Extract,
    schema: Option<(Schemas, SchemaIndex)>,
}

impl Metric for Json {
    type Config = Config;

    fn describe() -> Descriptor {
        Descriptor::new("json", env!("CARGO_PKG_VERSION"))
            .description("output parses as JSON and optionally matches a JSON Schema")
            .owner("caliper-standard-metrics")
            .goal("structured outputs can be consumed by programs without repair")
            .tags(["format", "json", "structured-output"])
            .unit("valid (1) or invalid (0)", true)
            .config_schema_of::<Config>()
    }

    fn new(config: Config) -> Result<Self, Error> {
        let schema = match config.schema {
            None => None,
            Some(schema) => Some(compile_schema(schema, config.assert_format)?),
        };
        Ok(Json {
            extract: config.extract,
            schema,
        })
    }

    fn evaluate(&self, sample: &Sample) -> Result<Outcome, Error> {
        let fenced = match self.extract {
            Extract::Raw => None,
            Extract::Auto | Extract::Fenced => first_json_fence(&sample.output),
        };
        let (text, extracted) = match fenced {
            Some(block) => (block, "fenced"),
            None if self.extract == Extract::Fenced => {
                return Ok(
                    Outcome::fail(0.0, "no ```json or ``` fenced block in the output")
                        .with_label("extracted", "none")
                        .with_label("failure", "missing_block"),
                );
            }
            None => (sample.output.trim(), "raw"),
        };
        let value: Value = match serde_json::from_str(text) {
            Ok(value) => value,
            Err(e) => {
                let place = if extracted == "fenced" {
                    " (in the fenced block)"
                } else {
                    ""
                };
                return Ok(Outcome::fail(0.0, format!("invalid JSON{place}: {e}"))
                    .with_label("extracted", extracted)
                    .with_label("failure", "parse"));
            }
        };
        if let Some((schemas, index)) = &self.schema
            && let Err(error) = schemas.validate(&value, *index)
        {
            return Ok(Outcome::fail(0.0, describe_violations(&error))
                .with_label("extracted", extracted)
                .with_label("failure", "schema"));
        }
        Ok(Outcome::pass(1.0).with_label("extracted", extracted))
    }
}

caliper_sdk::export_metric!(Json);

/// Compiles `schema` once; any problem (not a schema, invalid against its
/// meta-schema, an external reference) is a configuration error.
fn compile_schema(schema: Value, assert_format: bool) -> Result<(Schemas, SchemaIndex), Error> {
    if !(schema.is_object() || schema.is_boolean()) {
        return Err(Error::new(
            "schema must be a JSON Schema object (or a boolean schema)",
        ));
    }
    let mut compiler = Compiler::new();
    compiler.set_default_draft(Draft::V2020_12);
    // A loader with no schemes registered: external `$ref`s fail to compile
    // instead of reading files (natively) or hanging on the network.
    compiler.use_loader(Box::new(SchemeUrlLoader::new()));
    if assert_format {
        compiler.enable_format_assertions();
    }
    let invalid = |e: boon::CompileError| Error::new(format!("invalid schema: {e:#}"));
    compiler
        .add_resource(SCHEMA_LOCATION, schema)
        .map_err(invalid)?;
    let mut schemas = Schemas::new();
    let index = compiler
        .compile(SCHEMA_LOCATION, &mut schemas)
        .map_err(invalid)?;
    Ok((schemas, index))
}

/// The contents of the first fenced code block whose info string is `json`
/// (any case) or empty. Blocks in other languages are passed over. An
/// unterminated block runs to the end of the text.
pub fn first_json_fence(text: &str) -> Option<&str> {
    let mut lines = line_spans(text);
    while let Some((start, end)) = lines.next() {
        let line = text[start..end].trim();
        let ticks = line.chars().take_while(|&c| c == '`').count();
        if ticks < 3 {
            continue;
        }
        let info = line[ticks..].trim();
        // The info string's first word names the language.
        let lang = info.split_whitespace().next().unwrap_or("");
        let wanted = lang.is_empty() || lang.eq_ignore_ascii_case("json");
        // Find the closing fence: at least as many backticks, nothing else.
        let body_start = (end + 1).min(text.len());
        let mut body_end = text.len();
        for (s, e) in lines.by_ref() {
            let candidate = text[s..e].trim();
            if candidate.len() >= ticks && candidate.chars().all(|c| c == '`') {
                body_end = s;
                break;
            }
        }
        if wanted {
            return Some(text[body_start..body_end.max(body_start)].trim());
        }
    }
    None
}

/// Byte spans `(start, end)` of each line, excluding the `\n`.
fn line_spans(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start > text.len() || (start == text.len() && !text.is_empty()) {
            return None;
        }
        let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let span = (start, end);
        start = end + 1;
        Some(span)
    })
}

/// "schema: N violation(s): at /a/0: message; ..." listing the first few
/// leaf errors of boon's error tree.
fn describe_violations(error: &ValidationError) -> String {
    let mut leaves = Vec::new();
    collect_leaves(error, &mut leaves);
    let total = leaves.len();
    let shown: Vec<String> = leaves
        .iter()
        .take(MAX_VIOLATIONS_SHOWN)
        .map(|e| {
            let path = e.instance_location.to_string();
            let path = if path.is_empty() {
                "/".to_owned()
            } else {
                path
            };
            format!("at {path}: {}", e.kind)
        })
        .collect();
    let more = if total > MAX_VIOLATIONS_SHOWN {
        format!("; and {} more", total - MAX_VIOLATIONS_SHOWN)
    } else {
        String::new()
    };
    let noun = if total == 1 {
        "violation"
    } else {
        "violations"
    };
    format!(
        "does not match the schema ({total} {noun}): {}{more}",
        shown.join("; ")
    )
}

/// The errors without causes, depth first, in the order boon reports them.
fn collect_leaves<'a, 's, 'v>(
    error: &'a ValidationError<'s, 'v>,
    out: &mut Vec<&'a ValidationError<'s, 'v>>,
) {
    if error.causes.is_empty() {
        out.push(error);
    } else {
        for cause in &error.causes {
            collect_leaves(cause, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn metric(config: &str) -> Json {
        caliper_sdk::configure(config).unwrap()
    }

    fn config_error(config: &str) -> String {
        caliper_sdk::configure::<Json>(config)
            .err()
            .unwrap()
            .message()
            .to_owned()
    }

    const PERSON: &str = r#"{"schema": {
        "type": "object",
        "required": ["name", "age"],
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer", "minimum": 0},
            "tags": {"type": "array", "items": {"type": "string"}}
        }
    }}"#;

    #[test]
    fn raw_json_passes() {
        let o = metric("{}")
            .evaluate(&Sample::with_output("  {\"a\": [1, 2, null]}\n"))
            .unwrap();
        assert!(o.is_pass());
        assert_eq!(o.value, Some(1.0));
        assert_eq!(o.label("extracted"), Some("raw"));
    }

    #[test]
    fn invalid_json_fails_with_line_and_column() {
        let o = metric("{}")
            .evaluate(&Sample::with_output("{\n  \"a\": 1,\n  \"b\" 2\n}"))
            .unwrap();
        assert!(o.is_fail());
        assert_eq!(o.value, Some(0.0));
        let reason = o.reason.clone().unwrap();
        assert!(reason.contains("line 3 column 7"), "{reason}");
        assert_eq!(o.label("failure"), Some("parse"));
    }

    #[test]
    fn empty_output_is_invalid() {
        let o = metric("{}").evaluate(&Sample::with_output("  ")).unwrap();
        assert!(o.is_fail());
        assert!(o.reason.unwrap().contains("EOF"));
    }

    #[test]
    fn auto_prefers_the_first_json_fence_and_skips_other_languages() {
        let output = "Here you go:\n```python\nprint('x')\n```\n\n```json\n{\"ok\": true}\n```\nand\n```\n[1]\n```";
        assert_eq!(first_json_fence(output), Some("{\"ok\": true}"));
        let o = metric("{}").evaluate(&Sample::with_output(output)).unwrap();
        assert!(o.is_pass());
        assert_eq!(o.label("extracted"), Some("fenced"));
    }

    #[test]
    fn bare_fence_counts_and_auto_falls_back_to_raw() {
        assert_eq!(first_json_fence("```\n[1, 2]\n```"), Some("[1, 2]"));
        assert_eq!(first_json_fence("```JSON  \n{}\n````"), Some("{}"));
        assert_eq!(first_json_fence("no fences at all"), None);
        let o = metric(r#"{"extract": "auto"}"#)
            .evaluate(&Sample::with_output("[1, 2]"))
            .unwrap();
        assert!(o.is_pass());
        assert_eq!(o.label("extracted"), Some("raw"));
    }

    #[test]
    fn unterminated_fence_runs_to_the_end() {
        assert_eq!(
            first_json_fence("```json\n{\"a\": 1}\n"),
            Some("{\"a\": 1}")
        );
    }

    #[test]
    fn fenced_mode_requires_a_block() {
        let o = metric(r#"{"extract": "fenced"}"#)
            .evaluate(&Sample::with_output("{\"a\": 1}"))
            .unwrap();
        assert!(o.is_fail());
        assert_eq!(o.label("failure"), Some("missing_block"));
    }

    #[test]
    fn raw_mode_ignores_fences() {
        let o = metric(r#"{"extract": "raw"}"#)
            .evaluate(&Sample::with_output("```json\n{}\n```"))
            .unwrap();
        assert!(o.is_fail());
        assert_eq!(o.label("extracted"), Some("raw"));
    }

    #[test]
    fn parse_error_in_fence_says_so() {
        let o = metric("{}")
            .evaluate(&Sample::with_output("```json\n{\"a\": }\n```"))
            .unwrap();
        assert!(o.is_fail());
        let reason = o.reason.clone().unwrap();
        assert!(reason.contains("fenced block"), "{reason}");
        assert!(reason.contains("line 1 column 7"), "{reason}");
    }

    #[test]
    fn schema_match_passes() {
        let o = metric(PERSON)
            .evaluate(&Sample::with_output(r#"{"name": "Ada", "age": 36}"#))
            .unwrap();
        assert!(o.is_pass(), "{:?}", o.reason);
    }

    #[test]
    fn schema_violations_are_listed_with_paths() {
        let o = metric(PERSON)
            .evaluate(&Sample::with_output(
                r#"{"name": 7, "age": -1, "tags": ["a", 2, 3]}"#,
            ))
            .unwrap();
        assert!(o.is_fail());
        assert_eq!(o.value, Some(0.0));
        assert_eq!(o.label("failure"), Some("schema"));
        let reason = o.reason.clone().unwrap();
        assert!(reason.contains("(4 violations)"), "{reason}");
        assert!(
            reason.contains("at /name: want string, but got number"),
            "{reason}"
        );
        assert!(reason.contains("at /age: must be >=0"), "{reason}");
        assert!(reason.contains("and 1 more"), "{reason}");
    }

    #[test]
    fn missing_property_is_reported_at_the_root() {
        let o = metric(PERSON)
            .evaluate(&Sample::with_output(r#"{"name": "Ada"}"#))
            .unwrap();
        let reason = o.reason.clone().unwrap();
        assert!(
            reason.contains("at /: missing properties 'age'"),
            "{reason}"
        );
    }

    #[test]
    fn draft_2020_12_keywords_work() {
        let m = metric(
            r#"{"schema": {"type": "array", "prefixItems": [{"type": "integer"}], "items": false}}"#,
        );
        assert!(m.evaluate(&Sample::with_output("[1]")).unwrap().is_pass());
        assert!(
            m.evaluate(&Sample::with_output("[1, 2]"))
                .unwrap()
                .is_fail()
        );
    }

    #[test]
    fn format_is_an_annotation_unless_asserted() {
        let schema = r#""schema": {"type": "string", "format": "email"}"#;
        let output = Sample::with_output("\"not an email\"");
        let lax = metric(&format!("{{{schema}}}"));
        assert!(lax.evaluate(&output).unwrap().is_pass());
        let strict = metric(&format!("{{{schema}, \"assert_format\": true}}"));
        assert!(strict.evaluate(&output).unwrap().is_fail());
    }

    #[test]
    fn bad_configs_are_rejected() {
        let err = config_error(r#"{"schema": {"type": "strnig"}}"#);
        assert!(err.starts_with("invalid schema"), "{err}");
        let err = config_error(r#"{"schema": {"minimum": "zero"}}"#);
        assert!(err.starts_with("invalid schema"), "{err}");
        let err = config_error(r#"{"schema": [1]}"#);
        assert!(err.contains("must be a JSON Schema object"), "{err}");
        let err = config_error(r#"{"extract": "yaml"}"#);
        assert!(err.contains("unknown variant `yaml`"), "{err}");
        let err = config_error(r#"{"shema": {}}"#);
        assert!(err.contains("unknown field `shema`"), "{err}");
    }

    #[test]
    fn external_references_are_refused() {
        let err = config_error(r#"{"schema": {"$ref": "https://example.com/s.json"}}"#);
        assert!(err.contains("invalid schema"), "{err}");
        let err = config_error(r#"{"schema": {"$ref": "file:///etc/passwd"}}"#);
        assert!(err.contains("invalid schema"), "{err}");
    }

    #[test]
    fn internal_references_resolve() {
        let m = metric(
            r##"{"schema": {"$defs": {"n": {"type": "integer"}}, "type": "array", "items": {"$ref": "#/$defs/n"}}}"##,
        );
        assert!(
            m.evaluate(&Sample::with_output("[1, 2]"))
                .unwrap()
                .is_pass()
        );
        assert!(
            m.evaluate(&Sample::with_output("[1, \"x\"]"))
                .unwrap()
                .is_fail()
        );
    }

    #[test]
    fn schemas_with_an_id_or_an_older_draft_work() {
        let m =
            metric(r#"{"schema": {"$id": "https://example.com/person.json", "required": ["a"]}}"#);
        assert!(m.evaluate(&Sample::with_output("{}")).unwrap().is_fail());
        let m = metric(
            r#"{"schema": {"$schema": "http://json-schema.org/draft-07/schema#", "items": [{"type": "string"}]}}"#,
        );
        assert!(
            m.evaluate(&Sample::with_output("[\"x\", 1]"))
                .unwrap()
                .is_pass()
        );
        assert!(m.evaluate(&Sample::with_output("[1]")).unwrap().is_fail());
    }

    #[test]
    fn boolean_schemas_are_accepted() {
        let m = metric(r#"{"schema": false}"#);
        assert!(m.evaluate(&Sample::with_output("{}")).unwrap().is_fail());
        let m = metric(r#"{"schema": true}"#);
        assert!(m.evaluate(&Sample::with_output("{}")).unwrap().is_pass());
    }

    #[test]
    fn descriptor_schema_is_valid_json() {
        let d = Json::describe();
        let schema: Value = serde_json::from_str(&d.config_schema).unwrap();
        assert_eq!(
            schema["properties"]["schema"]["type"],
            json!(["object", "boolean", "null"])
        );
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(d.owner, "caliper-standard-metrics");
    }
}
