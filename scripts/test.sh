#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit tests, and the end-to-end
# suite (which builds every component from source). Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip2
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
