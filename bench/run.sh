#!/usr/bin/env bash
# Caliper's published benchmark, in one command:
#
#     bash bench/run.sh
#
# It builds what it needs (the release `caliper` and `caliper-bench`
# binaries, every standard metric as a wasm32-wasip2 component), generates
# the dataset (bench/gen_dataset.py, seeded), installs the Python baseline's
# pinned requirements into a venv, then measures, side by side in one run:
#
#   1. `caliper run` over the dataset with every standard metric
#      (bench/caliper.toml): throughput and peak memory (/usr/bin/time -v),
#      with all cores and with one worker;
#   2. `caliper-bench compare`: the same metric code compiled natively vs
#      as Wasm components through caliper-engine, in one process, same samples,
#      same threads: the wasm/native ratio per metric and in total;
#   3. bench/baseline.py: the same checks as a plain Python script.
#
# Every measurement is repeated $REPEAT times (default 3) and the median is
# reported. Results land in $OUT (default target/bench): raw JSON/logs and
# summary.md, which is also printed at the end.
#
# Environment: RECORDS (dataset size, default 10000), REPEAT (3), JOBS
# (worker threads, default: nproc), OUT (target/bench), SKIP_BUILD=1 (use the
# binaries and components already built), PYTHON (python3).
set -euo pipefail

cd "$(dirname "$0")/.."
RECORDS=${RECORDS:-10000}
REPEAT=${REPEAT:-3}
JOBS=${JOBS:-$(nproc)}
OUT=${OUT:-target/bench}
PYTHON=${PYTHON:-python3}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
CONFIG=bench/caliper.toml

# The standard metrics: cargo package names (the regex metric's package is
# `regex-metric`; its component is regex_metric.wasm).
PLUGINS=(response-length language-match refusal keyword regex-metric json pii-leak similarity budget)

source bench/lib.sh

mkdir -p "$OUT"
DATA="$OUT/bench.jsonl"

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    build_release caliper-cli caliper-bench
    build_metrics "${PLUGINS[@]}"
fi
if [[ "$TARGET_DIR" != target ]]; then
    # caliper.toml names components under ../target; point it at this target dir.
    point_config "$CONFIG" ../target/ "$TARGET_DIR" > "$OUT/caliper.toml"
    CONFIG="$OUT/caliper.toml"
fi
CALIPER="$TARGET_DIR/release/caliper"
BENCH="$TARGET_DIR/release/caliper-bench"

say "generating $RECORDS records -> $DATA"
"$PYTHON" bench/gen_dataset.py "$DATA" --records "$RECORDS"

say "installing the Python baseline's requirements (venv $OUT/venv)"
[[ -x "$OUT/venv/bin/python" ]] || "$PYTHON" -m venv "$OUT/venv"
"$OUT/venv/bin/python" -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt

if [[ ! -x /usr/bin/time ]]; then
    say "installing GNU time (for peak memory)"
    apt-get install -y -qq time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
fi

# Machine facts.
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc: $(nproc)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "memory: $(free -h | awk '/^Mem:/ {print $2}')"
    echo "rustc: $(rustc --version)"
    echo "python: $("$OUT/venv/bin/python" --version 2>&1)"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

say "warming the compile cache (first load compiles every component)"
/usr/bin/time -f '%e' -o "$OUT/cold-load.txt" "$CALIPER" -q run "$DATA" -c "$CONFIG" \
    --format none --no-progress -j "$JOBS" >/dev/null || true

for i in $(seq 1 "$REPEAT"); do
    say "round $i/$REPEAT: caliper run (-j $JOBS)"
    /usr/bin/time -v -o "$OUT/caliper-time-$i.txt" "$CALIPER" -q run "$DATA" -c "$CONFIG" \
        --summary "$OUT/caliper-summary-$i.json" --format none --no-progress -j "$JOBS"
    say "round $i/$REPEAT: caliper run (-j 1)"
    /usr/bin/time -v -o "$OUT/caliper1-time-$i.txt" "$CALIPER" -q run "$DATA" -c "$CONFIG" \
        --summary "$OUT/caliper1-summary-$i.json" --format none --no-progress -j 1
    say "round $i/$REPEAT: python baseline"
    /usr/bin/time -v -o "$OUT/python-time-$i.txt" "$OUT/venv/bin/python" bench/baseline.py "$DATA" \
        --config "$CONFIG" --json "$OUT/python-$i.json"
done

say "caliper-bench compare: native vs wasm, $REPEAT rounds, -j $JOBS"
"$BENCH" compare "$DATA" -c "$CONFIG" -j "$JOBS" --repeat "$REPEAT" --calls --json "$OUT/compare.json" \
    | tee "$OUT/compare.txt"

say "caliper-bench serve: guardrail latency, throughput, hot-reload time"
"$BENCH" serve "$DATA" -c "$CONFIG" --caliper "$CALIPER" --json "$OUT/serve.json" \
    | tee "$OUT/serve.txt"

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"

say "summary ($OUT/summary.md)"
"$PYTHON" - "$OUT" "$REPEAT" "$JOBS" <<'EOF' | tee "$OUT/summary.md"
import json, re, statistics, sys
from pathlib import Path

out, repeat, jobs = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])

def time_v(path):
    text = path.read_text()
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", text)
    h, m, s = wall.groups()
    secs = int(h or 0) * 3600 + int(m) * 60 + float(s)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return secs, rss

def caliper(prefix):
    walls, rsss, inner, samples, evals = [], [], [], 0, 0
    for i in range(1, repeat + 1):
        w, r = time_v(out / f"{prefix}-time-{i}.txt")
        s = json.loads((out / f"{prefix}-summary-{i}.json").read_text())
        walls.append(w); rsss.append(r); inner.append(s["elapsed_s"])
        samples = s["samples"]; evals = sum(m["evaluated"] for m in s["metrics"])
    return dict(wall=statistics.median(walls), rss=statistics.median(rsss),
                run=statistics.median(inner), samples=samples, evals=evals)

cal, cal1 = caliper("caliper"), caliper("caliper1")
py_runs = [json.loads((out / f"python-{i}.json").read_text()) for i in range(1, repeat + 1)]
py_wall = statistics.median([time_v(out / f"python-time-{i}.txt")[0] for i in range(1, repeat + 1)])
py_rss = statistics.median([time_v(out / f"python-time-{i}.txt")[1] for i in range(1, repeat + 1)])
py_loop = statistics.median([r["elapsed_s"] for r in py_runs])
py_samples = py_runs[0]["samples"]; py_evals = py_runs[0]["evaluations"]
cmp_ = json.loads((out / "compare.json").read_text())

print(f"# Benchmark results (median of {repeat} runs)\n")
print("```"); print((out / "machine.txt").read_text().rstrip()); print("```\n")
print("## Wasm vs native (caliper-bench compare)\n")
print(f"{cmp_['samples']} samples, {cmp_['jobs']} threads per side. µs per sample = wall time / samples, "
      "and CPU time of the whole process (all threads) / samples.\n")
print("| metric | native µs/sample | wasm µs/sample | wasm/native | native CPU µs/sample | wasm CPU µs/sample | wasm/native (CPU) |")
print("|---|---:|---:|---:|---:|---:|---:|")
for t in cmp_["targets"]:
    name = "**all metrics**" if t["name"] == "all" else t["name"]
    print(f"| {name} | {t['native_us_per_sample']:.2f} | {t['wasm_us_per_sample']:.2f} | {t['ratio']:.2f}x"
          f" | {t['native_cpu_us_per_sample']:.2f} | {t['wasm_cpu_us_per_sample']:.2f} | {t['cpu_ratio']:.2f}x |")
calls = cmp_.get("calls")
if calls:
    print("\nSingle-threaded cost of one call, without the runner (CPU ns per evaluated sample):\n")
    print("| metric | native ns | wasm ns | wasm/native | wasm − native |")
    print("|---|---:|---:|---:|---:|")
    for c in calls["metrics"]:
        print(f"| {c['name']} | {c['native_ns']:.0f} | {c['wasm_ns']:.0f} | {c['ratio']:.2f}x | {c['wasm_ns'] - c['native_ns']:.0f} |")
    print(f"\nHost conversion of one sample for all metrics (`prepare`): {calls['prepare_ns_per_sample']:.0f} ns.")
same = all(c["same"] for c in cmp_["checks"])
print(f"\nVerdicts identical on both sides: {'yes' if same else 'NO (see compare.txt)'}.\n")
print("## End to end\n")
print("| run | wall s | samples/s | evaluations/s | peak RSS MiB |")
print("|---|---:|---:|---:|---:|")
for label, c in ((f"caliper run -j {jobs}", cal), ("caliper run -j 1", cal1)):
    print(f"| {label} | {c['wall']:.2f} | {c['samples'] / c['wall']:.0f} | {c['evals'] / c['wall']:.0f} | {c['rss'] / 1024:.0f} |")
print(f"| python baseline (1 process) | {py_wall:.2f} | {py_samples / py_wall:.0f} | {py_evals / py_wall:.0f} | {py_rss / 1024:.0f} |")
print(f"\ncaliper run -j {jobs} vs python: {py_wall / cal['wall']:.1f}x the throughput; "
      f"caliper run -j 1 vs python: {py_wall / cal1['wall']:.1f}x.")
print(f"(Wall time includes process start and loading; the scoring loop alone: caliper {cal['run']:.2f} s, "
      f"-j 1 {cal1['run']:.2f} s, python {py_loop:.2f} s.)")
print("\n## Python baseline per metric (µs/sample, single thread)\n")
print("| metric | µs/sample | pass | fail | skip |")
print("|---|---:|---:|---:|---:|")
for name, m in py_runs[0]["metrics"].items():
    us = statistics.median([r["metrics"][name]["us_per_sample"] for r in py_runs])
    print(f"| {name} | {us:.1f} | {m['pass']} | {m['fail']} | {m['skip']} |")
EOF
