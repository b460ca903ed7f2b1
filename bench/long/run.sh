#!/usr/bin/env bash
# The long-answer benchmark (issue 12), in one command:
#
#     bash bench/long/run.sh
#
# Six simple checks over 10,000 recorded answers of 50-3,000 characters
# (mean ~780): the term named in metadata.keyword appears (any case), no
# e-mail address, the output parses as JSON when metadata.expects_json, at
# most 300 words, no refusal phrase, Levenshtein similarity to `expected`
# >= 0.5. Once as a Caliper config (bench/long/caliper.toml: standard
# metrics only, the keyword from the sample) and once as the plain
# single-threaded Python script a team would write (bench/long/checks.py:
# re, json, rapidfuzz).
#
# It builds what it needs (the release `caliper` and `caliper-bench`, the
# five standard metrics used, as wasm32-wasip2 components), generates the
# dataset (bench/long/gen_long.py, seeded), installs the Python requirements
# (bench/requirements.txt) into a venv, then:
#
#   1. warms Caliper's compile cache with one untimed run;
#   2. $REPEAT interleaved rounds of `caliper run -j $JOBS` and the Python
#      script, each under /usr/bin/time -v, each writing its verdict for
#      every record and every check;
#   3. compares the verdicts of every round record by record and exits
#      with status 1, listing the differences, if any differs;
#   4. the per-metric breakdown: the Python script with a timer around
#      every check, and `caliper-bench compare` (the same metric code
#      natively and as components, per metric, one process);
#   5. Levenshtein alone, natively: the similarity metric's code
#      (plugins/similarity/examples/levenshtein_speed.rs) against Python's
#      C++ rapidfuzz (bench/long/levenshtein_speed.py) on the same pairs;
#   6. prints the medians (wall, CPU = user + sys, peak RSS) and the ratios,
#      and writes them to $OUT/summary.md.
#
# Environment: RECORDS (10000), REPEAT (5), JOBS (2), OUT (target/bench-long),
# SKIP_BUILD=1 (use what is built), PYTHON (python3), CARGO_TARGET_DIR.
set -euo pipefail

cd "$(dirname "$0")/../.."
RECORDS=${RECORDS:-10000}
REPEAT=${REPEAT:-5}
JOBS=${JOBS:-2}
OUT=${OUT:-target/bench-long}
PYTHON=${PYTHON:-python3}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
PLUGINS=(keyword regex-metric json response-length similarity)

source bench/lib.sh

mkdir -p "$OUT"
DATA="$OUT/long.jsonl"

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    build_release caliper-cli caliper-bench
    build_metrics "${PLUGINS[@]}"
fi
# caliper.toml names components under ../../target; point it at this target dir.
point_config bench/long/caliper.toml ../../target/ "$TARGET_DIR" > "$OUT/caliper.toml"
CONFIG="$OUT/caliper.toml"
CALIPER="$TARGET_DIR/release/caliper"
BENCH="$TARGET_DIR/release/caliper-bench"

say "generating $RECORDS records -> $DATA"
"$PYTHON" bench/long/gen_long.py "$DATA" --records "$RECORDS"

say "Python requirements (venv $OUT/venv)"
[[ -x "$OUT/venv/bin/python" ]] || "$PYTHON" -m venv "$OUT/venv"
"$OUT/venv/bin/python" -c 'import rapidfuzz' 2>/dev/null ||
    "$OUT/venv/bin/python" -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
PY="$OUT/venv/bin/python"

if [[ ! -x /usr/bin/time ]]; then
    say "installing GNU time (for CPU time and peak memory)"
    apt-get install -y -qq time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
fi

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc: $(nproc)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "rustc: $(rustc --version)"
    echo "python: $("$PY" --version 2>&1), rapidfuzz $("$PY" -c 'import rapidfuzz; print(rapidfuzz.__version__)')"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

say "warming the compile cache (the first load compiles every component)"
"$CALIPER" -q run "$DATA" -c "$CONFIG" --format none --no-progress --no-history -j "$JOBS" >/dev/null

: > "$OUT/load.txt"
for i in $(seq 1 "$REPEAT"); do
    # The 1-minute load average before each round (the machine may be shared).
    echo "$(cut -d' ' -f1 /proc/loadavg)" >> "$OUT/load.txt"
    say "round $i/$REPEAT: caliper run -j $JOBS"
    /usr/bin/time -v -o "$OUT/caliper-time-$i.txt" "$CALIPER" -q run "$DATA" -c "$CONFIG" \
        -o "$OUT/caliper-$i.jsonl" --format none --no-progress --no-history -j "$JOBS" ||
        { echo "caliper run failed" >&2; exit 2; }
    say "round $i/$REPEAT: python script"
    /usr/bin/time -v -o "$OUT/python-time-$i.txt" "$PY" bench/long/checks.py "$DATA" "$OUT/python-$i.tsv"
done

say "comparing verdicts record by record (every round)"
"$PY" bench/long/compare.py "$OUT" "$REPEAT"

say "per-metric breakdown: python, a timer around every check"
"$PY" bench/long/checks.py "$DATA" "$OUT/python-breakdown.tsv" --breakdown > "$OUT/python-breakdown.json"
say "per-metric breakdown: caliper-bench compare (native vs wasm, -j $JOBS, $REPEAT rounds)"
"$BENCH" compare "$DATA" -c "$CONFIG" -j "$JOBS" --repeat "$REPEAT" --calls --json "$OUT/compare.json" \
    > "$OUT/compare.txt"

say "Levenshtein alone, natively: similarity's code vs Python's C++ rapidfuzz, same pairs"
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    cargo build --release -q -p similarity --example levenshtein_speed
fi
"$TARGET_DIR/release/examples/levenshtein_speed" "$DATA" | tee "$OUT/levenshtein-rust.txt"
"$PY" bench/long/levenshtein_speed.py "$DATA" | tee "$OUT/levenshtein-python.txt"

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
say "summary ($OUT/summary.md)"
"$PY" bench/long/summary.py "$OUT" "$REPEAT" "$JOBS" | tee "$OUT/summary.md"
