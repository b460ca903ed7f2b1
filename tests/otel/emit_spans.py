"""Emits LLM spans in the three dialects Caliper reads, with the real
OpenTelemetry Python SDK: to an OTLP/HTTP endpoint (its protobuf exporter,
optionally gzip), or as an OTLP JSON export file (one request per line, as the
Collector's file exporter writes it). Prints what it emitted, as JSON.

Usage: emit_spans.py (--endpoint URL [--gzip] [--token T] | --json-file PATH)
"""

import argparse
import base64
import json
import sys

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

GERMAN_Q = "Wie ändere ich die Lieferadresse meiner Bestellung?"
ENGLISH_A = "You can change the delivery address in your account under Orders."
GERMAN_A = "Sie können die Lieferadresse in Ihrem Konto unter Bestellungen ändern."


def genai_messages(role, text):
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": text}]}])


def emit(tracer):
    """The spans, and what each should become."""
    emitted = []

    def record(span, dialect, expect):
        ctx = span.get_span_context()
        emitted.append({
            "id": f"{ctx.trace_id:032x}:{ctx.span_id:016x}",
            "dialect": dialect,
            "expect": expect,
        })

    # GenAI conventions: a German question answered in English.
    with tracer.start_as_current_span("chat gpt-4o-mini") as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
        span.set_attribute("gen_ai.system_instructions",
                           json.dumps([{"type": "text", "content": "You are a helpful shop assistant."}]))
        span.set_attribute("gen_ai.input.messages", genai_messages("user", GERMAN_Q))
        span.set_attribute("gen_ai.output.messages", genai_messages("assistant", ENGLISH_A))
        span.set_attribute("gen_ai.usage.input_tokens", 21)
        span.set_attribute("gen_ai.usage.output_tokens", 14)
        record(span, "genai", {"language-match": "fail", "pii-leak": "pass"})

    # OpenInference: an answer that leaks an e-mail address, with a retriever span.
    with tracer.start_as_current_span("rag") as root:
        with tracer.start_as_current_span("retrieve") as r:
            r.set_attribute("openinference.span.kind", "RETRIEVER")
            r.set_attribute("retrieval.documents.0.document.content", "Refunds are paid within five days.")
        with tracer.start_as_current_span("llm") as span:
            span.set_attribute("openinference.span.kind", "LLM")
            span.set_attribute("llm.model_name", "llama-3-70b")
            span.set_attribute("llm.input_messages.0.message.role", "user")
            span.set_attribute("llm.input_messages.0.message.content", "Who can I write to about my refund?")
            span.set_attribute("llm.output_messages.0.message.role", "assistant")
            span.set_attribute("llm.output_messages.0.message.content",
                               "Write to jane.doe@example.org, refunds are paid within five days.")
            span.set_attribute("llm.token_count.prompt", 30)
            span.set_attribute("llm.token_count.completion", 12)
            record(span, "openinference", {"language-match": "pass", "pii-leak": "fail"})
        root.set_attribute("http.request.method", "POST")

    # The older GenAI attributes: a German answer to a German question.
    with tracer.start_as_current_span("openai.chat") as span:
        span.set_attribute("gen_ai.system", "openai")
        span.set_attribute("gen_ai.request.model", "gpt-4o")
        span.set_attribute("gen_ai.prompt.0.role", "user")
        span.set_attribute("gen_ai.prompt.0.content", GERMAN_Q)
        span.set_attribute("gen_ai.completion.0.role", "assistant")
        span.set_attribute("gen_ai.completion.0.content", GERMAN_A)
        span.set_attribute("gen_ai.usage.prompt_tokens", 21)
        span.set_attribute("gen_ai.usage.completion_tokens", 16)
        record(span, "genai-legacy", {"language-match": "pass", "pii-leak": "pass"})

    # No LLM content: ignored.
    with tracer.start_as_current_span("GET /healthz") as span:
        span.set_attribute("http.request.method", "GET")
    return emitted


def otlp_json(spans):
    """The spans as one OTLP/JSON line: the protobuf encoding's JSON form with
    hex ids, as the OTLP specification writes them."""
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    doc = MessageToDict(encode_spans(spans), use_integers_for_enums=True)

    def hexify(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                    node[key] = base64.b64decode(value).hex()
                else:
                    hexify(value)
        elif isinstance(node, list):
            for item in node:
                hexify(item)

    hexify(doc)
    return json.dumps(doc)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint")
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--token")
    parser.add_argument("--json-file")
    args = parser.parse_args()

    resource = Resource.create({"service.name": "support-bot", "deployment.environment.name": "test"})
    provider = TracerProvider(resource=resource)
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    if args.endpoint:
        from opentelemetry.exporter.otlp.proto.http import Compression
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        headers = {"authorization": f"Bearer {args.token}"} if args.token else None
        exporter = OTLPSpanExporter(
            endpoint=args.endpoint,
            compression=Compression.Gzip if args.gzip else Compression.NoCompression,
            headers=headers,
        )
        # One export of every span, as a BatchSpanProcessor would send them.
    tracer = provider.get_tracer("caliper-test")
    emitted = emit(tracer)
    provider.force_flush()
    spans = memory.get_finished_spans()
    if args.endpoint:
        result = exporter.export(spans)
        if result.name != "SUCCESS":
            print(f"export failed: {result}", file=sys.stderr)
            sys.exit(1)
    if args.json_file:
        with open(args.json_file, "w", encoding="utf-8") as f:
            f.write(otlp_json(spans) + "\n")
    print(json.dumps({"spans": len(spans), "llm": emitted}))


if __name__ == "__main__":
    main()
