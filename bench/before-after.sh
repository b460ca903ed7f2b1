#!/usr/bin/env bash
# Before vs after: the same benchmark run with Caliper built at an earlier
# commit and at the working tree, side by side on one machine:
#
#     bash bench/before-after.sh [REV]        # REV defaults to HEAD~1
#
# It checks REV out into a detached git worktree ($OUT/before-src), builds
# the release `caliper` and the nine standard metrics (wasm32-wasip2,
# profile plugin) there and in the working tree (separate target dirs),
# generates the benchmark dataset (bench/gen_dataset.py), points
# bench/caliper.toml at each build's components, then measures, in
# interleaved rounds (before, after, before, after, ...):
#
#   1. `caliper run -j $JOBS` and `caliper run -j 1` over the dataset, with a
#      warm compile cache (each build has its own cache dir): wall time;
#   2. a cold load: `caliper --no-cache run` over one record, which compiles
#      every component (what a start or a hot reload that must compile pays);
#
# and reports the medians, the after/before ratios, every component's size,
# and whether the summaries of both builds agree. Results land in $OUT
# (default target/before-after): raw logs and summary.md.
#
# Environment: REV (or $1), RECORDS (10000), ROUNDS (5), JOBS (nproc),
# OUT (target/before-after), PYTHON (python3).
set -euo pipefail

cd "$(dirname "$0")/.."
REV=${1:-${REV:-HEAD~1}}
RECORDS=${RECORDS:-10000}
ROUNDS=${ROUNDS:-5}
JOBS=${JOBS:-$(nproc)}
OUT=${OUT:-target/before-after}
PYTHON=${PYTHON:-python3}
PLUGINS=(response-length language-match refusal keyword regex-metric json pii-leak similarity budget)

say() { printf '\n== %s\n' "$*" >&2; }

mkdir -p "$OUT"
OUT=$(realpath "$OUT")
SRC="$OUT/before-src"
sha=$(git rev-parse --verify "$REV^{commit}")
if [[ -d "$SRC" ]]; then
    git -C "$SRC" checkout -q --detach "$sha"
else
    git worktree add -q --detach "$SRC" "$sha"
fi

build() { # build <source dir> <target dir>
    local args=()
    for p in "${PLUGINS[@]}"; do args+=(-p "$p"); done
    (cd "$1" && CARGO_TARGET_DIR="$2" cargo build -q --release -p caliper-cli &&
        CARGO_TARGET_DIR="$2" cargo build -q --profile plugin --target wasm32-wasip2 "${args[@]}")
}
say "building before ($(git log -1 --format='%h %s' "$sha" | cut -c1-72))"
build "$SRC" "$OUT/before-target"
say "building after (the working tree)"
build "$PWD" "$PWD/target"

config() { # config <target dir> <file>
    sed "s#\.\./target/#$1/#" bench/caliper.toml > "$2"
}
config "$OUT/before-target" "$OUT/before.toml"
config "$(realpath target)" "$OUT/after.toml"

DATA="$OUT/bench.jsonl"
say "generating $RECORDS records -> $DATA"
"$PYTHON" bench/gen_dataset.py "$DATA" --records "$RECORDS"
head -n 1 "$DATA" > "$OUT/one.jsonl"

if [[ ! -x /usr/bin/time ]]; then
    apt-get install -y -qq time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
fi

run() { # run <side> <label> <round> <args...>
    local side=$1 label=$2 round=$3
    shift 3
    local bin="$OUT/$side-target/release/caliper"
    [[ $side == after ]] && bin=target/release/caliper
    /usr/bin/time -f '%e' -o "$OUT/$side-$label-$round.time" "$bin" -q --cache-dir "$OUT/$side-cache" \
        "$@" -c "$OUT/$side.toml" --format none --no-progress >/dev/null
}

say "warming both compile caches"
for side in before after; do run "$side" warm 0 run "$DATA" -j "$JOBS" || true; done

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc: $(nproc)"
    echo "before: $(git log -1 --format='%h %s' "$sha" | cut -c1-100)"
    echo "after: $(git rev-parse --short HEAD) + working tree"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/machine.txt"

for i in $(seq 1 "$ROUNDS"); do
    for side in before after; do
        say "round $i/$ROUNDS: $side"
        run "$side" "j$JOBS" "$i" run "$DATA" -j "$JOBS" --summary "$OUT/$side-summary-$i.json"
        run "$side" j1 "$i" run "$DATA" -j 1
        run "$side" cold "$i" --no-cache run "$OUT/one.jsonl" -j 1
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"

say "summary ($OUT/summary.md)"
"$PYTHON" - "$OUT" "$ROUNDS" "$JOBS" "${PLUGINS[@]}" <<'EOF' | tee "$OUT/summary.md"
import json, statistics, sys
from pathlib import Path

out, rounds, jobs, plugins = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
after_target = Path("target").resolve()

def median(side, label):
    return statistics.median(float((out / f"{side}-{label}-{i}.time").read_text()) for i in range(1, rounds + 1))

def figures(side, i):
    s = json.loads((out / f"{side}-summary-{i}.json").read_text())
    return [(m["name"], m["evaluated"], m.get("pass_rate")) for m in s["metrics"]]

print(f"# Before vs after (median of {rounds} interleaved rounds)\n")
print("```"); print((out / "machine.txt").read_text().rstrip()); print("```\n")
print("| measurement | before s | after s | after/before |")
print("|---|---:|---:|---:|")
for label, what in ((f"j{jobs}", f"`caliper run -j {jobs}`, warm cache"), ("j1", "`caliper run -j 1`, warm cache"),
                    ("cold", "cold load: `--no-cache run` of one record")):
    b, a = median("before", label), median("after", label)
    print(f"| {what} | {b:.2f} | {a:.2f} | {a / b:.2f}x |")
same = all(figures("before", i) == figures("after", i) for i in range(1, rounds + 1))
print(f"\nPer-metric counts and pass rates identical before and after: {'yes' if same else 'NO'}.\n")
print("| component | before KiB | after KiB | after/before |")
print("|---|---:|---:|---:|")
for p in plugins:
    name = p.replace("-", "_") + ".wasm"
    b = (out / "before-target/wasm32-wasip2/plugin" / name).stat().st_size
    a = (after_target / "wasm32-wasip2/plugin" / name).stat().st_size
    print(f"| {p} | {b / 1024:.0f} | {a / 1024:.0f} | {a / b:.2f}x |")
EOF
