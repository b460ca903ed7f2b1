#!/usr/bin/env bash
# Builds a Caliper metric written in C into a component.
#
#     sdk/c/build.sh metric.c [more.c ...] [-o out.wasm] [-- extra clang flags]
#
# 1. generates the C bindings of wit/metric.wit (world metric-component) with
#    `wit-bindgen c`, into a cache directory keyed by the WIT and the tool
#    version (never into the source tree);
# 2. compiles the sources with the SDK (caliper.c, component.c) and the
#    bindings: clang --target=wasm32-wasi -mexec-model=reactor -O2;
# 3. turns the core module into a component with the WASI preview1 reactor
#    adapter: wasm-tools component new --adapt.
#
# Tools: clang, wasm-ld, wasi-libc, wit-bindgen, wasm-tools and the adapter;
# scripts/install-c.sh installs all of them. Environment: CC (default clang),
# CALIPER_WIT (default the repository's wit/), CALIPER_WASI_ADAPTER (default
# ~/.local/share/caliper/wasi_snapshot_preview1.reactor.wasm).
set -euo pipefail

sdk=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$(dirname "$sdk")")
wit=${CALIPER_WIT:-$repo/wit}
adapter=${CALIPER_WASI_ADAPTER:-${XDG_DATA_HOME:-$HOME/.local/share}/caliper/wasi_snapshot_preview1.reactor.wasm}
cc=${CC:-clang}
install_hint="run scripts/install-c.sh from the Caliper repository"

die() {
    echo "sdk/c/build.sh: $*" >&2
    exit 2
}

sources=()
out=""
extra=()
while [ $# -gt 0 ]; do
    case $1 in
    -o)
        [ $# -ge 2 ] || die "-o needs a file name"
        out=$2
        shift 2
        ;;
    -h | --help)
        sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    --)
        shift
        extra=("$@")
        break
        ;;
    -*) die "unknown option $1 (clang flags go after --)" ;;
    *)
        [ -f "$1" ] || die "$1: no such file"
        sources+=("$1")
        shift
        ;;
    esac
done
[ ${#sources[@]} -gt 0 ] || die "usage: build.sh metric.c [more.c ...] [-o out.wasm] [-- clang flags]"
if [ -z "$out" ]; then
    out="$(basename "${sources[0]%.c}").wasm"
fi

command -v "$cc" >/dev/null 2>&1 || die "$cc not found: $install_hint (Debian: clang lld wasi-libc libclang-rt-dev-wasm32)"
command -v wasm-ld >/dev/null 2>&1 || die "wasm-ld not found: $install_hint (Debian package lld)"
command -v wit-bindgen >/dev/null 2>&1 || die "wit-bindgen not found: $install_hint (cargo install wit-bindgen-cli)"
command -v wasm-tools >/dev/null 2>&1 || die "wasm-tools not found: $install_hint (cargo install wasm-tools)"
[ -s "$adapter" ] || die "no WASI reactor adapter at $adapter: $install_hint (or set CALIPER_WASI_ADAPTER)"
[ -f "$wit/metric.wit" ] || die "no metric.wit in $wit (set CALIPER_WIT)"

# Bindings, cached by the contract and the generator's version.
key=$( (cat "$wit"/*.wit && wit-bindgen --version) | sha256sum | cut -c1-16)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/caliper/c-bindings/$key
if [ ! -f "$cache/metric_component.h" ]; then
    mkdir -p "$(dirname "$cache")"
    tmp=$(mktemp -d "$cache.XXXXXX")
    if ! log=$(wit-bindgen c "$wit" --world metric-component --out-dir "$tmp" 2>&1); then
        rm -rf "$tmp"
        die "wit-bindgen c failed:
$log"
    fi
    mv -T "$tmp" "$cache" 2>/dev/null || rm -rf "$tmp" # another build won the race
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --strip-debug drops the DWARF that Debian's libc.a carries (225 KB -> 90 KB)
# and keeps the name section, so traps name functions. Not --strip-all: it
# would drop the component-type section that `component new` needs.
"$cc" --target=wasm32-wasi -mexec-model=reactor -O2 -std=c11 -Wall -Wextra -Wl,--strip-debug \
    -I "$sdk" -I "$cache" \
    "${sources[@]}" "$sdk/caliper.c" "$sdk/component.c" \
    "$cache/metric_component.c" "$cache/metric_component_component_type.o" \
    "${extra[@]}" -o "$work/core.wasm"
wasm-tools component new "$work/core.wasm" --adapt "wasi_snapshot_preview1=$adapter" -o "$work/component.wasm"
mkdir -p "$(dirname "$out")"
mv "$work/component.wasm" "$out"
