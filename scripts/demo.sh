#!/usr/bin/env bash
# Builds everything from source and scores the example dataset with the
# standard metrics. Usage: scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip2
# The standard metrics are compiled into the binary (host/builtin builds them from plugins/).
cargo build -p caliper-cli
set +e
target/debug/caliper run examples/chats.jsonl -c examples/caliper.toml \
  -o target/demo-results.jsonl --summary target/demo-summary.json --group-by model
code=$?
set -e
echo
echo "per-sample results: target/demo-results.jsonl; summary: target/demo-summary.json"
echo "caliper exited with $code (1 = a gate failed, as the example's gates are meant to show)"
