//! # caliper-otel: LLM traces in, evaluation events out
//!
//! Owns what Caliper reads from and writes to OpenTelemetry, as pure
//! functions over bytes and messages:
//!
//! - [`decode`]: an OTLP/HTTP trace request body (`application/x-protobuf`
//!   or `application/json`, optionally gzip) to an
//!   [`ExportTraceServiceRequest`], under a size bound;
//! - [`mapping`]: the LLM spans of such a request as Caliper samples, from
//!   the three dialects met in practice (the OpenTelemetry GenAI
//!   conventions' `gen_ai.input.messages`, OpenInference's
//!   `llm.input_messages.N.message.*`, and the older `gen_ai.prompt.N.*`);
//! - [`events`]: evaluations as `gen_ai.evaluation.result` log events,
//!   parented to the span they score, in an OTLP logs request.
//!
//! It never opens a socket or a file: `caliper-serve` serves `/v1/traces`
//! and sends the events, `caliper-dataset` reads OTLP JSON files.

pub mod decode;
pub mod events;
pub mod mapping;

pub use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
pub use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};

/// A trace export's answer as an OTLP/HTTP protobuf body.
pub fn encode_response(response: &ExportTraceServiceResponse) -> Vec<u8> {
    prost::Message::encode_to_vec(response)
}
