#!/usr/bin/env bash
# The same metric (tests/conformance/SPEC.md) in Rust, C, Python and
# JavaScript, measured side by side in one run by `caliper-bench languages`:
# component size, first load (compile), cached load, instance start, cost per
# call and per sample in batch calls, and throughput with all cores, each as
# a ratio to the Rust component.
#
#     bash bench/languages.sh          # after scripts/install-deps.sh
#
# Environment: RECORDS (default 2000), REPEAT (3), OUT (target/bench).
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS=${RECORDS:-2000}
REPEAT=${REPEAT:-3}
OUT=${OUT:-target/bench}
mkdir -p "$OUT/languages"
L="$OUT/languages"

cargo build --release -q -p caliper-bench
cargo build -q --profile plugin --target wasm32-wasip2 -p conformance-rust
PYTHONPATH=sdk/python python3 -m caliper_sdk.build tests/conformance/python/app.py -o "$L/python.wasm"
node sdk/js/build.mjs tests/conformance/js/app.js -o "$L/js.wasm"
sdk/c/build.sh tests/conformance/c/metric.c -o "$L/c.wasm"
[[ -f "$OUT/bench.jsonl" ]] || python3 bench/gen_dataset.py "$OUT/bench.jsonl" --records "$RECORDS"
head -n "$RECORDS" "$OUT/bench.jsonl" > "$L/data.jsonl"

target/release/caliper-bench languages "$L/data.jsonl" --repeat "$REPEAT" \
    --component rust=target/wasm32-wasip2/plugin/conformance_rust.wasm \
    --component c="$L/c.wasm" --component python="$L/python.wasm" --component js="$L/js.wasm" \
    --json "$L/languages.json" | tee "$L/languages.md"
