//! LLM spans as Caliper samples.
//!
//! Three dialects carry the prompt and the answer on a span; the first one
//! a span has decides:
//!
//! | dialect | input | output | model, tokens |
//! |---|---|---|---|
//! | `genai` (OpenTelemetry GenAI conventions) | `gen_ai.input.messages`, `gen_ai.system_instructions` | `gen_ai.output.messages` | `gen_ai.response.model` / `gen_ai.request.model`, `gen_ai.usage.input_tokens` / `output_tokens` |
//! | `openinference` | `llm.input_messages.N.message.role` / `.content` (else `input.value`) | `llm.output_messages.N.message.content` (else `output.value`) | `llm.model_name`, `llm.token_count.prompt` / `completion` / `total` |
//! | `genai-legacy` | `gen_ai.prompt.N.role` / `.content` | `gen_ai.completion.N.content` | as `genai`, also `gen_ai.usage.prompt_tokens` / `completion_tokens` |
//!
//! A sample's id is `TRACE_ID:SPAN_ID` (hex); its messages are the input
//! messages (system instructions first), its input the last user message,
//! its output the first output message's text. Retrieved documents become
//! its context: `gen_ai.retrieval.documents` or OpenInference's
//! `retrieval.documents.N.document.content` on the span itself or on any
//! span of the same trace in the same request (a retriever span). Metadata:
//! `trace_id`, `span_id`, `span_name`, `dialect`, `model`, `provider`,
//! `input_tokens`, `output_tokens`, `total_tokens`, `latency_ms` (the span's
//! duration), `service` and `deployment`, and every resource attribute under
//! its own name (`service.name`, `service.version`, …).
//!
//! Spans without LLM content (HTTP, database, retriever spans) are counted
//! as ignored; a span whose content cannot be read (malformed message JSON,
//! an invalid trace id) is rejected with its reason.

use std::collections::{BTreeMap, HashMap};

use caliper_types::sample::{Message, Sample};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::{Map, Value};

use crate::ExportTraceServiceRequest;

/// What a trace request's spans became.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Mapped {
    /// One sample per LLM span, in request order.
    pub samples: Vec<Sample>,
    /// Spans without LLM content.
    pub ignored: usize,
    /// LLM spans that could not be read: `TRACE:SPAN: why`.
    pub rejected: Vec<String>,
}

/// The samples of a trace request.
pub fn samples(request: &ExportTraceServiceRequest) -> Mapped {
    let mut out = Mapped::default();
    // Documents retrieved anywhere in a trace, for its LLM spans' context.
    let mut documents: HashMap<&[u8], Vec<String>> = HashMap::new();
    for rs in &request.resource_spans {
        for ss in &rs.scope_spans {
            for span in &ss.spans {
                let attrs = Attributes::of(&span.attributes);
                let docs = attrs.documents();
                if !docs.is_empty() {
                    documents.entry(&span.trace_id).or_default().extend(docs);
                }
            }
        }
    }
    for rs in &request.resource_spans {
        let resource: &[KeyValue] = rs.resource.as_ref().map_or(&[], |r| &r.attributes);
        let resource = Attributes::of(resource);
        for ss in &rs.scope_spans {
            for span in &ss.spans {
                let attrs = Attributes::of(&span.attributes);
                match llm_sample(span, &attrs, &resource, documents.get(&span.trace_id[..])) {
                    Ok(Some(sample)) => out.samples.push(sample),
                    Ok(None) => out.ignored += 1,
                    Err(why) => out.rejected.push(format!(
                        "{}:{}: {why}",
                        hex::encode(&span.trace_id),
                        hex::encode(&span.span_id)
                    )),
                }
            }
        }
    }
    out
}

/// The samples of an OTLP JSON document (one `ExportTraceServiceRequest`,
/// as the OpenTelemetry Collector's file exporter writes one per line).
pub fn samples_from_json(document: Value) -> Result<Mapped, String> {
    let request: ExportTraceServiceRequest =
        serde_json::from_value(document).map_err(|e| format!("not an OTLP trace export: {e}"))?;
    Ok(samples(&request))
}

/// Whether a JSON record is an OTLP trace export (has `resourceSpans`).
pub fn is_trace_export(record: &Value) -> bool {
    record.get("resourceSpans").is_some_and(Value::is_array)
}

/// A span's (or a resource's) attributes by key.
struct Attributes<'a>(HashMap<&'a str, &'a AnyValue>);

impl<'a> Attributes<'a> {
    fn of(list: &'a [KeyValue]) -> Self {
        Attributes(
            list.iter()
                .filter_map(|kv| Some((kv.key.as_str(), kv.value.as_ref()?)))
                .collect(),
        )
    }

    fn get(&self, key: &str) -> Option<&'a AnyValue> {
        self.0.get(key).copied()
    }

    /// A scalar as text.
    fn text(&self, key: &str) -> Option<String> {
        scalar_text(self.get(key)?).filter(|s| !s.is_empty())
    }

    fn int(&self, key: &str) -> Option<i64> {
        match self.get(key)?.value.as_ref()? {
            any_value::Value::IntValue(i) => Some(*i),
            any_value::Value::DoubleValue(d) if d.fract() == 0.0 => Some(*d as i64),
            any_value::Value::StringValue(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// `PREFIX.N.REST` attributes: by N, then REST.
    fn indexed(&self, prefix: &str) -> BTreeMap<usize, HashMap<&'a str, &'a AnyValue>> {
        let mut out: BTreeMap<usize, HashMap<&str, &AnyValue>> = BTreeMap::new();
        for (key, value) in &self.0 {
            let Some(rest) = key.strip_prefix(prefix) else {
                continue;
            };
            let Some((index, field)) = rest.split_once('.') else {
                continue;
            };
            if let Ok(i) = index.parse::<usize>() {
                out.entry(i).or_default().insert(field, *value);
            }
        }
        out
    }

    /// Retrieved documents on this span (GenAI or OpenInference).
    fn documents(&self) -> Vec<String> {
        let mut docs = Vec::new();
        if let Some(v) = self.get("gen_ai.retrieval.documents")
            && let Ok(Value::Array(items)) = structured(v)
        {
            for item in items {
                match item {
                    Value::String(s) => docs.push(s),
                    Value::Object(o) => {
                        if let Some(Value::String(s)) = o.get("content").or_else(|| o.get("text")) {
                            docs.push(s.clone());
                        }
                    }
                    _ => {}
                }
            }
        }
        for fields in self.indexed("retrieval.documents.").values() {
            if let Some(text) = fields.get("document.content").and_then(|v| scalar_text(v)) {
                docs.push(text);
            }
        }
        docs
    }
}

fn scalar_text(v: &AnyValue) -> Option<String> {
    match v.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        any_value::Value::IntValue(i) => Some(i.to_string()),
        any_value::Value::DoubleValue(d) => Some(d.to_string()),
        any_value::Value::BoolValue(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An attribute that holds structured data: a JSON string (how SDKs send
/// `gen_ai.input.messages` today), or an OTLP array / key-value list.
fn structured(v: &AnyValue) -> Result<Value, String> {
    match v.value.as_ref() {
        Some(any_value::Value::StringValue(s)) => {
            serde_json::from_str(s).map_err(|e| format!("not JSON: {e}"))
        }
        Some(_) => Ok(to_json(v)),
        None => Ok(Value::Null),
    }
}

fn to_json(v: &AnyValue) -> Value {
    match v.value.as_ref() {
        None => Value::Null,
        Some(any_value::Value::StringValue(s)) => Value::String(s.clone()),
        Some(any_value::Value::BoolValue(b)) => Value::Bool(*b),
        Some(any_value::Value::IntValue(i)) => Value::from(*i),
        Some(any_value::Value::DoubleValue(d)) => Value::from(*d),
        Some(any_value::Value::BytesValue(b)) => Value::String(hex::encode(b)),
        Some(any_value::Value::ArrayValue(a)) => {
            Value::Array(a.values.iter().map(to_json).collect())
        }
        Some(any_value::Value::KvlistValue(kv)) => Value::Object(
            kv.values
                .iter()
                .map(|kv| {
                    (
                        kv.key.clone(),
                        kv.value.as_ref().map_or(Value::Null, to_json),
                    )
                })
                .collect(),
        ),
        // An index into a dictionary of the profiles signal; not in traces.
        Some(any_value::Value::StringValueStrindex(_)) => Value::Null,
    }
}

/// The text of a GenAI message or part list: every `text` part's content
/// (a plain `content` string too), one per line.
fn genai_text(message: &Value) -> String {
    let parts = match message {
        Value::Object(o) => match (o.get("parts"), o.get("content")) {
            (Some(Value::Array(parts)), _) => parts.clone(),
            (_, Some(Value::String(s))) => return s.clone(),
            _ => Vec::new(),
        },
        Value::Array(parts) => parts.clone(),
        Value::String(s) => return s.clone(),
        _ => Vec::new(),
    };
    let texts: Vec<&str> = parts
        .iter()
        .filter(|p| {
            p.get("type")
                .and_then(Value::as_str)
                .is_none_or(|t| t == "text")
        })
        .filter_map(|p| p.get("content").and_then(Value::as_str))
        .collect();
    texts.join("\n")
}

/// The conversation and answer a span carries, by dialect.
struct Content {
    dialect: &'static str,
    messages: Vec<Message>,
    output: Option<String>,
}

fn genai(attrs: &Attributes) -> Result<Option<Content>, String> {
    let (Some(input), output) = (
        attrs.get("gen_ai.input.messages"),
        attrs.get("gen_ai.output.messages"),
    ) else {
        return Ok(None);
    };
    let mut messages = Vec::new();
    if let Some(system) = attrs.get("gen_ai.system_instructions") {
        let system = structured(system).map_err(|e| format!("gen_ai.system_instructions: {e}"))?;
        let content = genai_text(&system);
        if !content.is_empty() {
            messages.push(Message {
                role: "system".into(),
                content,
            });
        }
    }
    let input = structured(input).map_err(|e| format!("gen_ai.input.messages: {e}"))?;
    let Value::Array(input) = input else {
        return Err("gen_ai.input.messages: not a list of messages".into());
    };
    for m in &input {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("user");
        messages.push(Message {
            role: role.to_owned(),
            content: genai_text(m),
        });
    }
    let output = match output {
        None => None,
        Some(v) => {
            let v = structured(v).map_err(|e| format!("gen_ai.output.messages: {e}"))?;
            match v {
                Value::Array(items) => items.first().map(genai_text),
                other => Some(genai_text(&other)),
            }
        }
    };
    Ok(Some(Content {
        dialect: "genai",
        messages,
        output,
    }))
}

fn indexed_messages(attrs: &Attributes, prefix: &str, role: &str, content: &str) -> Vec<Message> {
    attrs
        .indexed(prefix)
        .values()
        .map(|fields| Message {
            role: fields
                .get(role)
                .and_then(|v| scalar_text(v))
                .unwrap_or_else(|| "user".into()),
            content: fields
                .get(content)
                .and_then(|v| scalar_text(v))
                .unwrap_or_default(),
        })
        .collect()
}

fn openinference(attrs: &Attributes) -> Option<Content> {
    let mut messages = indexed_messages(
        attrs,
        "llm.input_messages.",
        "message.role",
        "message.content",
    );
    let outputs = indexed_messages(
        attrs,
        "llm.output_messages.",
        "message.role",
        "message.content",
    );
    let is_llm = attrs
        .text("openinference.span.kind")
        .is_some_and(|k| k.eq_ignore_ascii_case("llm"));
    if messages.is_empty() && outputs.is_empty() {
        // An LLM span with only the raw input and output values.
        if !is_llm {
            return None;
        }
        if let Some(input) = attrs.text("input.value") {
            messages.push(Message {
                role: "user".into(),
                content: input,
            });
        }
        return Some(Content {
            dialect: "openinference",
            messages,
            output: attrs.text("output.value"),
        });
    }
    Some(Content {
        dialect: "openinference",
        messages,
        output: outputs
            .into_iter()
            .next()
            .map(|m| m.content)
            .or_else(|| attrs.text("output.value")),
    })
}

fn genai_legacy(attrs: &Attributes) -> Option<Content> {
    let messages = indexed_messages(attrs, "gen_ai.prompt.", "role", "content");
    let outputs = indexed_messages(attrs, "gen_ai.completion.", "role", "content");
    if messages.is_empty() && outputs.is_empty() {
        return None;
    }
    Some(Content {
        dialect: "genai-legacy",
        messages,
        output: outputs.into_iter().next().map(|m| m.content),
    })
}

fn llm_sample(
    span: &Span,
    attrs: &Attributes,
    resource: &Attributes,
    trace_documents: Option<&Vec<String>>,
) -> Result<Option<Sample>, String> {
    let content = match genai(attrs)? {
        Some(c) => c,
        None => match openinference(attrs).or_else(|| genai_legacy(attrs)) {
            Some(c) => c,
            None => return Ok(None),
        },
    };
    if span.trace_id.len() != 16 || span.span_id.len() != 8 {
        return Err(format!(
            "trace id of {} bytes and span id of {} (16 and 8 expected)",
            span.trace_id.len(),
            span.span_id.len()
        ));
    }
    let Some(output) = content.output else {
        return Err(format!(
            "a {} span without an output message",
            content.dialect
        ));
    };
    let trace_id = hex::encode(&span.trace_id);
    let span_id = hex::encode(&span.span_id);
    let input = content
        .messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .map(|m| m.content.clone())
        .unwrap_or_default();

    let mut meta = Map::new();
    // Resource attributes first, so that the span's own fields win.
    for (key, value) in &resource.0 {
        if let Some(text) = scalar_text(value) {
            meta.insert((*key).to_owned(), Value::String(text));
        }
    }
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(v) = value {
            meta.insert(key.to_owned(), v);
        }
    };
    put("trace_id", Some(Value::String(trace_id.clone())));
    put("span_id", Some(Value::String(span_id.clone())));
    put("span_name", Some(Value::String(span.name.clone())));
    put("dialect", Some(Value::String(content.dialect.to_owned())));
    put(
        "model",
        attrs
            .text("gen_ai.response.model")
            .or_else(|| attrs.text("gen_ai.request.model"))
            .or_else(|| attrs.text("llm.model_name"))
            .map(Value::String),
    );
    put(
        "provider",
        attrs
            .text("gen_ai.provider.name")
            .or_else(|| attrs.text("gen_ai.system"))
            .or_else(|| attrs.text("llm.provider"))
            .map(Value::String),
    );
    let input_tokens = attrs
        .int("gen_ai.usage.input_tokens")
        .or_else(|| attrs.int("gen_ai.usage.prompt_tokens"))
        .or_else(|| attrs.int("llm.token_count.prompt"));
    let output_tokens = attrs
        .int("gen_ai.usage.output_tokens")
        .or_else(|| attrs.int("gen_ai.usage.completion_tokens"))
        .or_else(|| attrs.int("llm.token_count.completion"));
    let total = attrs
        .int("llm.token_count.total")
        .or(match (input_tokens, output_tokens) {
            (Some(i), Some(o)) => Some(i + o),
            _ => None,
        });
    put("input_tokens", input_tokens.map(Value::from));
    put("output_tokens", output_tokens.map(Value::from));
    put("total_tokens", total.map(Value::from));
    if span.end_time_unix_nano >= span.start_time_unix_nano && span.start_time_unix_nano > 0 {
        let ms = (span.end_time_unix_nano - span.start_time_unix_nano) as f64 / 1e6;
        put("latency_ms", Some(Value::from(ms)));
    }
    put("service", resource.text("service.name").map(Value::String));
    put(
        "deployment",
        resource
            .text("deployment.environment.name")
            .or_else(|| resource.text("deployment.environment"))
            .map(Value::String),
    );

    let mut context = attrs.documents();
    if context.is_empty()
        && let Some(docs) = trace_documents
    {
        context = docs.clone();
    }
    Ok(Some(Sample {
        id: format!("{trace_id}:{span_id}"),
        input: input.into(),
        output,
        messages: content.messages.into(),
        context: context.into(),
        expected: None,
        metadata: meta.into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: Value) -> ExportTraceServiceRequest {
        serde_json::from_value(json).unwrap()
    }

    fn kv(key: &str, value: &str) -> Value {
        serde_json::json!({"key": key, "value": {"stringValue": value}})
    }

    fn span(id: &str, attrs: Vec<Value>) -> Value {
        serde_json::json!({
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": id, "name": "chat",
            "startTimeUnixNano": "1000000000", "endTimeUnixNano": "1250000000",
            "attributes": attrs,
        })
    }

    fn export(spans: Vec<Value>) -> ExportTraceServiceRequest {
        request(serde_json::json!({"resourceSpans": [{
            "resource": {"attributes": [kv("service.name", "support-bot"), kv("deployment.environment.name", "prod")]},
            "scopeSpans": [{"spans": spans}],
        }]}))
    }

    #[test]
    fn the_three_dialects_give_the_same_sample() {
        let genai = span(
            "00000000000000a1",
            vec![
                kv(
                    "gen_ai.system_instructions",
                    r#"[{"type":"text","content":"Be brief."}]"#,
                ),
                kv(
                    "gen_ai.input.messages",
                    r#"[{"role":"user","parts":[{"type":"text","content":"Wie ändere ich die Adresse?"}]}]"#,
                ),
                kv(
                    "gen_ai.output.messages",
                    r#"[{"role":"assistant","parts":[{"type":"text","content":"In your account settings."}],"finish_reason":"stop"}]"#,
                ),
                kv("gen_ai.request.model", "gpt-4o-mini"),
                serde_json::json!({"key": "gen_ai.usage.input_tokens", "value": {"intValue": "12"}}),
                serde_json::json!({"key": "gen_ai.usage.output_tokens", "value": {"intValue": 5}}),
            ],
        );
        let oi = span(
            "00000000000000a2",
            vec![
                kv("openinference.span.kind", "LLM"),
                kv("llm.input_messages.0.message.role", "system"),
                kv("llm.input_messages.0.message.content", "Be brief."),
                kv("llm.input_messages.1.message.role", "user"),
                kv(
                    "llm.input_messages.1.message.content",
                    "Wie ändere ich die Adresse?",
                ),
                kv("llm.output_messages.0.message.role", "assistant"),
                kv(
                    "llm.output_messages.0.message.content",
                    "In your account settings.",
                ),
                kv("llm.model_name", "gpt-4o-mini"),
                serde_json::json!({"key": "llm.token_count.prompt", "value": {"intValue": "12"}}),
                serde_json::json!({"key": "llm.token_count.completion", "value": {"intValue": "5"}}),
            ],
        );
        let legacy = span(
            "00000000000000a3",
            vec![
                kv("gen_ai.prompt.0.role", "system"),
                kv("gen_ai.prompt.0.content", "Be brief."),
                kv("gen_ai.prompt.1.role", "user"),
                kv("gen_ai.prompt.1.content", "Wie ändere ich die Adresse?"),
                kv("gen_ai.completion.0.role", "assistant"),
                kv("gen_ai.completion.0.content", "In your account settings."),
                kv("gen_ai.request.model", "gpt-4o-mini"),
                serde_json::json!({"key": "gen_ai.usage.prompt_tokens", "value": {"intValue": "12"}}),
                serde_json::json!({"key": "gen_ai.usage.completion_tokens", "value": {"intValue": "5"}}),
            ],
        );
        let http = span("00000000000000a4", vec![kv("http.request.method", "POST")]);
        let mapped = samples(&export(vec![genai, oi, legacy, http]));
        assert_eq!((mapped.ignored, mapped.rejected.len()), (1, 0));
        assert_eq!(mapped.samples.len(), 3);
        for (s, dialect) in mapped
            .samples
            .iter()
            .zip(["genai", "openinference", "genai-legacy"])
        {
            assert_eq!(&*s.input, "Wie ändere ich die Adresse?", "{dialect}");
            assert_eq!(s.output, "In your account settings.", "{dialect}");
            assert_eq!(s.messages.len(), 2, "{dialect}");
            assert_eq!(s.messages[0].role, "system", "{dialect}");
            let m = &s.metadata;
            assert_eq!(m["dialect"], dialect);
            assert_eq!(m["model"], "gpt-4o-mini", "{dialect}");
            assert_eq!(
                (m["input_tokens"].as_i64(), m["output_tokens"].as_i64()),
                (Some(12), Some(5)),
                "{dialect}"
            );
            assert_eq!(m["total_tokens"], 17, "{dialect}");
            assert_eq!(m["latency_ms"], 250.0, "{dialect}");
            assert_eq!(
                (&m["service"], &m["deployment"]),
                (&Value::from("support-bot"), &Value::from("prod"))
            );
            assert_eq!(m["service.name"], "support-bot");
            assert_eq!(m["trace_id"], "5b8efff798038103d269b633813fc60c");
            assert!(
                s.id.starts_with("5b8efff798038103d269b633813fc60c:00000000000000a"),
                "{}",
                s.id
            );
        }
    }

    #[test]
    fn documents_of_a_retriever_span_are_the_context_of_the_llm_span_of_its_trace() {
        let retriever = span(
            "00000000000000b1",
            vec![
                kv("openinference.span.kind", "RETRIEVER"),
                kv(
                    "retrieval.documents.0.document.content",
                    "Refunds take 5 days.",
                ),
                kv(
                    "retrieval.documents.1.document.content",
                    "Cards can be frozen in the app.",
                ),
            ],
        );
        let llm = span(
            "00000000000000b2",
            vec![
                kv("openinference.span.kind", "LLM"),
                kv("input.value", "How long do refunds take?"),
                kv("output.value", "Five days."),
            ],
        );
        let mapped = samples(&export(vec![llm, retriever]));
        assert_eq!(mapped.ignored, 1);
        let s = &mapped.samples[0];
        assert_eq!(
            &s.context[..],
            ["Refunds take 5 days.", "Cards can be frozen in the app."]
        );
        assert_eq!(
            (&*s.input, s.output.as_str()),
            ("How long do refunds take?", "Five days.")
        );
    }

    #[test]
    fn unreadable_llm_spans_are_rejected_with_their_reason() {
        let bad_json = span(
            "00000000000000c1",
            vec![
                kv("gen_ai.input.messages", "[{not json"),
                kv("gen_ai.output.messages", "[]"),
            ],
        );
        let no_output = span(
            "00000000000000c2",
            vec![kv("gen_ai.prompt.0.content", "hi")],
        );
        let mut short_id = span(
            "00c3",
            vec![
                kv("gen_ai.prompt.0.content", "hi"),
                kv("gen_ai.completion.0.content", "yo"),
            ],
        );
        short_id["spanId"] = Value::from("00c3");
        let mapped = samples(&export(vec![bad_json, no_output, short_id]));
        assert!(mapped.samples.is_empty());
        assert_eq!(mapped.rejected.len(), 3, "{:?}", mapped.rejected);
        assert!(
            mapped.rejected[0].contains("gen_ai.input.messages: not JSON"),
            "{:?}",
            mapped.rejected
        );
        assert!(
            mapped.rejected[1].contains("without an output message"),
            "{:?}",
            mapped.rejected
        );
        assert!(
            mapped.rejected[2].contains("span id of 2"),
            "{:?}",
            mapped.rejected
        );
    }

    #[test]
    fn an_otlp_json_line_is_recognised_and_mapped() {
        let line = serde_json::json!({"resourceSpans": [{"scopeSpans": [{"spans": [span("00000000000000d1", vec![
            kv("gen_ai.prompt.0.role", "user"), kv("gen_ai.prompt.0.content", "hi"),
            kv("gen_ai.completion.0.content", "hello"),
        ])]}]}]});
        assert!(is_trace_export(&line));
        assert!(!is_trace_export(&serde_json::json!({"output": "x"})));
        let mapped = samples_from_json(line).unwrap();
        assert_eq!(mapped.samples[0].output, "hello");
        assert!(samples_from_json(serde_json::json!({"resourceSpans": 1})).is_err());
    }
}
