#!/usr/bin/env bash
# Throughput of `caliper run --dispatch` on 1 and 2 `caliper worker`s
# (issue 16), beside a local `caliper run`, in one command:
#
#     bash bench/dispatch/run.sh
#
# The example chats (examples/chats.jsonl) repeated to $SAMPLES samples
# with distinct ids, scored by the nine standard metrics of
# examples/caliper.toml (built in), by the release binary:
#
#   local      caliper run -j 2;
#   1 worker   caliper run --dispatch on one worker with 2 lanes;
#   2 workers  on two workers with 1 lane each.
#
# Every round also checks that the dispatched results equal the local ones
# (timings aside). A nats-server with JetStream (file storage in $OUT) is
# started on a free port on 127.0.0.1 and stopped at the end. This machine
# has 2 cores: workers and the server share them with the dispatcher, so
# the figures say what dispatching costs, not what more machines gain.
#
# Environment: SAMPLES (20000), ROUNDS (3), OUT (target/bench-dispatch),
# SKIP_BUILD=1, CARGO_TARGET_DIR.
set -euo pipefail

cd "$(dirname "$0")/../.."
source bench/lib.sh
SAMPLES=${SAMPLES:-20000}
ROUNDS=${ROUNDS:-3}
OUT=${OUT:-target/bench-dispatch}
TARGET=${CARGO_TARGET_DIR:-target}
BIN="$TARGET/release/caliper"
command -v nats-server >/dev/null || { echo "nats-server is missing (scripts/install-deps.sh)" >&2; exit 2; }
[ "${SKIP_BUILD:-}" = 1 ] || build_release caliper-cli

rm -rf "$OUT" && mkdir -p "$OUT"
export CALIPER_CACHE_DIR="$OUT/cache"
cp examples/caliper.toml "$OUT/caliper.toml"
python3 - "$SAMPLES" > "$OUT/chats.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open("examples/chats.jsonl")]
n = int(sys.argv[1])
for i in range(n):
    r = dict(lines[i % len(lines)])
    r["id"] = f"{r['id']}-{i}"
    print(json.dumps(r))
PY

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
nats-server -js -a 127.0.0.1 -p "$port" -sd "$OUT/nats" > "$OUT/nats.log" 2>&1 &
nats_pid=$!
workers=()
cleanup() {
    for w in "${workers[@]}"; do kill -INT "$w" 2>/dev/null || true; done
    kill "$nats_pid" 2>/dev/null || true
}
trap cleanup EXIT
url="nats://127.0.0.1:$port"
sleep 0.5

cd "$OUT"
BIN=$(realpath "../../$BIN" 2>/dev/null || realpath "$OLDPWD/$BIN")
"$BIN" run chats.jsonl -q --no-history -o /dev/null --format none -j 2 || true  # warm the compile cache

start_workers() {  # start_workers COUNT LANES
    for w in "${workers[@]}"; do kill -INT "$w" 2>/dev/null || true; wait "$w" 2>/dev/null || true; done
    workers=()
    for i in $(seq 1 "$1"); do
        "$BIN" worker -q --nats "$url" --jobs "$2" --name "w$i" 2> "worker$i.log" &
        workers+=($!)
    done
    sleep 1.5
}

timed() {  # timed LABEL ARGS...: wall seconds of one run
    local label=$1; shift
    local t0 t1
    t0=$(date +%s.%N)
    "$BIN" run chats.jsonl -q --no-history --format none "$@" || true
    t1=$(date +%s.%N)
    echo "$label $(echo "$t1 - $t0" | bc)" >> times.txt
}

untimed() { python3 -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l); r.pop("duration_us", None); print(json.dumps(r, sort_keys=True))' "$1"; }

: > times.txt
for r in $(seq 1 "$ROUNDS"); do
    say "round $r of $ROUNDS"
    timed local -j 2 -o local.jsonl
    start_workers 1 2
    timed one --dispatch "$url" -o one.jsonl
    start_workers 2 1
    timed two --dispatch "$url" -o two.jsonl
    cmp <(untimed local.jsonl) <(untimed one.jsonl)
    cmp <(untimed local.jsonl) <(untimed two.jsonl)
done

python3 - "$SAMPLES" <<'PY' | tee summary.md
import statistics, sys
n = int(sys.argv[1])
t = {}
for line in open("times.txt"):
    k, v = line.split(); t.setdefault(k, []).append(float(v))
med = {k: statistics.median(v) for k, v in t.items()}
print(f"{n} samples x 9 metrics, median of {len(t['local'])} rounds (results identical to the local run in every round)\n")
print("| run | wall (s) | samples/s | vs local |")
print("|---|---|---|---|")
for k, name in [("local", "local `caliper run -j 2`"), ("one", "`--dispatch`, 1 worker (2 lanes)"), ("two", "`--dispatch`, 2 workers (1 lane each)")]:
    print(f"| {name} | {med[k]:.2f} | {n / med[k]:,.0f} | {med[k] / med['local']:.2f}x |")
PY
