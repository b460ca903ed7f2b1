#!/usr/bin/env bash
# Tools the test suite needs besides the Rust toolchain:
# promtool (Debian package `prometheus`) validates /metrics output and the
# generated alert rules; chromium renders the HTML report headless; xmllint
# (libxml2-utils) validates JUnit XML against the Jenkins JUnit schema
# (junit-10.xsd), which pytest's source distribution on PyPI ships and which
# is unpacked into target/junit-schema (never committed); nats-server (with
# JetStream) is the queue of the `caliper worker` tests.
# Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

schema=target/junit-schema/junit-10.xsd
if [ ! -f "$schema" ]; then
    mkdir -p target/junit-schema/dl
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
        pytest==8.3.5 -d target/junit-schema/dl
    tar xzf target/junit-schema/dl/pytest-8.3.5.tar.gz -C target/junit-schema \
        --strip-components=3 pytest-8.3.5/testing/example_scripts/junit-10.xsd
fi

# componentize-py builds the Python metrics (sdk/python).
if ! command -v componentize-py >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check componentize-py==0.25.1
fi

# The OpenTelemetry Python SDK and its OTLP/HTTP exporter: tests/otel emits
# real LLM spans with them and decodes Caliper's evaluation events.
if ! python3 -c "import opentelemetry.exporter.otlp.proto.http, opentelemetry.sdk; from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord; LogRecord().event_name" 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check \
        opentelemetry-sdk==1.38.0 opentelemetry-exporter-otlp-proto-http==1.38.0
fi

# The JavaScript and C toolchains (npm packages; clang, wasi-libc and the
# component tools).
scripts/install-js.sh
scripts/install-c.sh
scripts/install-oci.sh

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
scripts/apt-install.sh "${missing[@]}"
command -v promtool chromium xmllint nats-server
