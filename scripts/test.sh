#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit tests, and the end-to-end
# suite (which builds every component from source). Usage: scripts/test.sh
# Ends with one line totalling every test binary: "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip2
rustup component add rustfmt clippy
scripts/install-deps.sh   # promtool and chromium (apt), if missing
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
# the host's library docs: a link that dangles after an item moved crate fails here
host_libs=(types config otel dataset package report oci history engine builtin run dispatch serve)
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet "${host_libs[@]/#/--package=caliper-}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace 2>&1 | tee "$log" || status=$?
echo
awk '/^test result:/ { for (i = 1; i < NF; i++) { if ($(i+1) ~ /^passed;/) p += $i; if ($(i+1) ~ /^failed;/) f += $i } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
exit "$status"
