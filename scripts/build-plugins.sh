#!/usr/bin/env bash
# Builds every standard metric in plugins/ as a WebAssembly component:
#   target/wasm32-wasip2/plugin/<name>.wasm
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip2 >/dev/null 2>&1 || true
packages=()
for manifest in plugins/*/Cargo.toml; do
  name=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$manifest" | head -n 1)
  packages+=(-p "$name")
done
cargo build --profile plugin --target wasm32-wasip2 "${packages[@]}"
ls -1 target/wasm32-wasip2/plugin/*.wasm
