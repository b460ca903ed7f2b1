#!/usr/bin/env bash
# Toolchain for C metrics (sdk/c): clang and lld with the wasm32 target,
# wasi-libc and clang's wasm32 runtime (Debian packages), plus two Rust CLIs
# from crates.io: `wit-bindgen` (generates the C bindings of wit/metric.wit)
# and `wasm-tools` (turns the core module into a component with the WASI
# preview1 reactor adapter). Idempotent: installs only what is missing.
#
# The CLIs are built once into cargo's bin directory, sharing one target
# directory so their common crates compile once, with only the features the
# SDK uses and without optimisation: they only ever handle small files (a C
# metric still builds in about a second), and this cuts the build from 11 to
# 4 CPU-minutes (measured on 2 cores shared with other builds: 6m44s wall).
# The WASI preview1 reactor adapter comes from the crate
# wasi-preview1-component-adapter-provider (the wasmtime release the host
# uses), unpacked to $CALIPER_WASI_ADAPTER (default
# ~/.local/share/caliper/wasi_snapshot_preview1.reactor.wasm), where
# sdk/c/build.sh looks for it.
set -euo pipefail

WIT_BINDGEN_VERSION=0.61.1 # the wit-bindgen the Rust SDK uses
WASM_TOOLS_VERSION=1.258.0 # built from the same wasm-tools crates as it
ADAPTER_VERSION=48.0.8     # the host's wasmtime
ADAPTER=${CALIPER_WASI_ADAPTER:-${XDG_DATA_HOME:-$HOME/.local/share}/caliper/wasi_snapshot_preview1.reactor.wasm}

missing=()
command -v clang >/dev/null 2>&1 || missing+=(clang)
command -v wasm-ld >/dev/null 2>&1 || missing+=(lld)
[ -f /usr/include/wasm32-wasi/stdlib.h ] || [ -f /usr/share/wasi-sysroot/include/stdlib.h ] ||
    [ -f /usr/share/wasi-sysroot/include/wasm32-wasi/stdlib.h ] || missing+=(wasi-libc)
ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1 ||
    missing+=(libclang-rt-dev-wasm32)
"$(dirname "$0")/apt-install.sh" ${missing[@]+"${missing[@]}"}

has_version() { # has_version TOOL VERSION: TOOL is on PATH and reports VERSION
    command -v "$1" >/dev/null 2>&1 && "$1" --version 2>/dev/null | grep -q " $2\\b"
}
crates=()
has_version wit-bindgen "$WIT_BINDGEN_VERSION" || crates+=(wit-bindgen)
has_version wasm-tools "$WASM_TOOLS_VERSION" || crates+=(wasm-tools)
if [ ${#crates[@]} -gt 0 ]; then
    shared=$(mktemp -d)
    trap 'rm -rf "$shared"' EXIT
    # Quick to build: no optimisation, LTO or debug info, many codegen units.
    export CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_LTO=false \
        CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256 \
        CARGO_PROFILE_RELEASE_INCREMENTAL=false
    for crate in "${crates[@]}"; do
        case $crate in
        wit-bindgen)
            cargo install --quiet --locked --force --target-dir "$shared" \
                "wit-bindgen-cli@$WIT_BINDGEN_VERSION" --no-default-features --features c
            ;;
        wasm-tools)
            cargo install --quiet --locked --force --target-dir "$shared" \
                "wasm-tools@$WASM_TOOLS_VERSION" --no-default-features --features component
            ;;
        esac
    done
fi

if [ ! -s "$ADAPTER" ]; then
    crate=wasi-preview1-component-adapter-provider
    manifest=$(mktemp -d)
    mkdir -p "$manifest/src"
    : >"$manifest/src/lib.rs"
    printf '[package]\nname = "fetch-adapter"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\n%s = "=%s"\n' \
        "$crate" "$ADAPTER_VERSION" >"$manifest/Cargo.toml"
    cargo fetch --quiet --manifest-path "$manifest/Cargo.toml"
    archive=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"$crate-$ADAPTER_VERSION.crate" | head -n 1)
    mkdir -p "$(dirname "$ADAPTER")"
    tar xzf "$archive" -O "$crate-$ADAPTER_VERSION/artefacts/wasi_snapshot_preview1.reactor.wasm" >"$ADAPTER.tmp"
    mv "$ADAPTER.tmp" "$ADAPTER"
    rm -rf "$manifest"
fi

for tool in clang wasm-ld wit-bindgen wasm-tools; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "install-c.sh: $tool is still missing (is cargo's bin directory on PATH?)" >&2
        exit 1
    }
done
