# Shared by the benchmark scripts (sourced, not run): messages, building
# the release binaries and the metric components, and pointing a config's
# component paths at the target dir in use.

say() { printf '\n== %s\n' "$*" >&2; }

# build_release PACKAGE...: release builds of host binaries.
build_release() {
    local args=()
    for p in "$@"; do args+=(-p "$p"); done
    say "building ${*} (release)"
    cargo build --release "${args[@]}"
}

# build_metrics PACKAGE...: metric components (wasm32-wasip2, profile
# plugin; +simd128 from .cargo/config.toml), in one cargo command so that
# features unify as they do for users who build every standard metric
# (scripts/build-plugins.sh).
build_metrics() {
    if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
        echo "the wasm32-wasip2 target is missing: rustup target add wasm32-wasip2" >&2
        exit 2
    fi
    local args=()
    for p in "$@"; do args+=(-p "$p"); done
    say "building the metrics ${*} (wasm32-wasip2, profile plugin)"
    cargo build --profile plugin --target wasm32-wasip2 "${args[@]}"
}

# point_config CONFIG PREFIX TARGET_DIR: CONFIG on stdout with every
# component path under PREFIX (how it names the repo's target/, e.g.
# "../target/") rewritten to TARGET_DIR.
point_config() {
    sed "s#${2//./\\.}#$(realpath "$3")/#" "$1"
}
