//! Evaluations as OpenTelemetry `gen_ai.evaluation.result` events: one log
//! record per evaluation, parented to the span it scored (its trace and span
//! ids), so a tracing backend shows the score next to the LLM call.
//!
//! | attribute | value |
//! |---|---|
//! | `gen_ai.evaluation.name` | the metric instance (`caliper.toml`'s name) |
//! | `gen_ai.evaluation.score.value` | the metric's value, when it has one |
//! | `gen_ai.evaluation.score.label` | the outcome: `pass`, `fail`, `skip`, `error`, … |
//! | `gen_ai.evaluation.explanation` | the metric's reason, when it gives one |
//! | `caliper.metric.version`, `caliper.metric.digest` | which component scored it |

use caliper_types::outcome::Evaluation;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

use crate::ExportLogsServiceRequest;

/// The event name of an evaluation result.
pub const EVENT_NAME: &str = "gen_ai.evaluation.result";

/// One evaluation of a span: its trace and span ids (hex, as in a sample's
/// `trace_id` / `span_id` metadata) and the evaluation.
#[derive(Debug, Clone, Copy)]
pub struct SpanEvaluation<'a> {
    /// 32 hex digits.
    pub trace_id: &'a str,
    /// 16 hex digits.
    pub span_id: &'a str,
    /// What the metric said.
    pub evaluation: &'a Evaluation,
}

fn text(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

/// The events of `items` as one OTLP logs request, from `service` (the
/// resource's `service.name`), stamped `time_unix_nano`. Items whose ids
/// are not hex of the right length are left out (they name no span).
pub fn request<'a>(
    items: impl IntoIterator<Item = SpanEvaluation<'a>>,
    service: &str,
    time_unix_nano: u64,
) -> ExportLogsServiceRequest {
    let records = items
        .into_iter()
        .filter_map(|item| {
            let trace_id = hex::decode(item.trace_id).ok().filter(|b| b.len() == 16)?;
            let span_id = hex::decode(item.span_id).ok().filter(|b| b.len() == 8)?;
            let e = item.evaluation;
            let mut attributes = vec![
                text("gen_ai.evaluation.name", &e.metric),
                text("gen_ai.evaluation.score.label", e.outcome.as_str()),
                text("caliper.metric.version", &e.version),
                text("caliper.metric.digest", &e.digest),
            ];
            if let Some(v) = e.value {
                attributes.push(KeyValue {
                    key: "gen_ai.evaluation.score.value".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::DoubleValue(v)),
                    }),
                    ..Default::default()
                });
            }
            if let Some(reason) = &e.reason {
                attributes.push(text("gen_ai.evaluation.explanation", reason));
            }
            Some(LogRecord {
                time_unix_nano,
                observed_time_unix_nano: time_unix_nano,
                severity_number: SeverityNumber::Info as i32,
                severity_text: "INFO".into(),
                event_name: EVENT_NAME.into(),
                attributes,
                trace_id,
                span_id,
                ..Default::default()
            })
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![text("service.name", service)],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "caliper".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// The request as an OTLP/HTTP protobuf body.
pub fn encode(request: &ExportLogsServiceRequest) -> Vec<u8> {
    request.encode_to_vec()
}

/// How many log records a request holds.
pub fn len(request: &ExportLogsServiceRequest) -> usize {
    request
        .resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .map(|s| s.log_records.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use caliper_types::outcome::Status;

    #[test]
    fn an_evaluation_becomes_an_event_on_its_span() {
        let e = Evaluation {
            sample_id: "t:s".into(),
            metric: "answers-in-user-language".into(),
            name: "language-match".into(),
            version: "0.1.0".into(),
            digest: "sha256:ab".into(),
            outcome: Status::Fail,
            value: Some(0.0),
            reason: Some("output is English (en), expected German (de)".into()),
            labels: Default::default(),
            duration_us: 10,
        };
        let trace = "5b8efff798038103d269b633813fc60c";
        let items = [
            SpanEvaluation {
                trace_id: trace,
                span_id: "eee19b7ec3c1b174",
                evaluation: &e,
            },
            SpanEvaluation {
                trace_id: "zz",
                span_id: "eee19b7ec3c1b174",
                evaluation: &e,
            },
        ];
        let req = request(items, "caliper", 7);
        assert_eq!(len(&req), 1);
        let decoded = ExportLogsServiceRequest::decode(&encode(&req)[..]).unwrap();
        let r = &decoded.resource_logs[0].scope_logs[0].log_records[0];
        assert_eq!(r.event_name, EVENT_NAME);
        assert_eq!(hex::encode(&r.trace_id), trace);
        assert_eq!(hex::encode(&r.span_id), "eee19b7ec3c1b174");
        let attr = |k: &str| {
            r.attributes
                .iter()
                .find(|a| a.key == k)
                .and_then(|a| a.value.clone()?.value)
        };
        assert_eq!(
            attr("gen_ai.evaluation.name"),
            Some(any_value::Value::StringValue(
                "answers-in-user-language".into()
            ))
        );
        assert_eq!(
            attr("gen_ai.evaluation.score.label"),
            Some(any_value::Value::StringValue("fail".into()))
        );
        assert_eq!(
            attr("gen_ai.evaluation.score.value"),
            Some(any_value::Value::DoubleValue(0.0))
        );
        assert!(attr("gen_ai.evaluation.explanation").is_some());
    }
}
