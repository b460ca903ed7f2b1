#!/usr/bin/env python3
"""The summary of bench/long/run.sh (markdown on stdout).

Usage:
    python3 bench/long/summary.py OUT_DIR REPEAT JOBS
"""

import json
import re
import statistics
import sys
from pathlib import Path

CHECKS = ["keyword", "no-email", "json", "length", "no-refusal", "similarity"]


def time_v(path):
    """(wall s, CPU s = user + sys, peak RSS KiB) from `/usr/bin/time -v`."""
    text = path.read_text()
    h, m, s = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", text).groups()
    wall = int(h or 0) * 3600 + int(m) * 60 + float(s)
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", text).group(1))
    sys_ = float(re.search(r"System time \(seconds\): ([\d.]+)", text).group(1))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return wall, user + sys_, rss


def medians(out, prefix, repeat):
    runs = [time_v(out / f"{prefix}-time-{i}.txt") for i in range(1, repeat + 1)]
    return [statistics.median(col) for col in zip(*runs)], runs


def main():
    out, repeat, jobs = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    (cw, cc, cr), cruns = medians(out, "caliper", repeat)
    (pw, pc, pr), pruns = medians(out, "python", repeat)
    verdicts = json.loads((out / "verdicts.json").read_text())
    py_us = json.loads((out / "python-breakdown.json").read_text().strip().splitlines()[-1])
    cmp_ = json.loads((out / "compare.json").read_text())
    records = cmp_["samples"]

    print(f"# Long answers: caliper run -j {jobs} vs a Python script (median of {repeat} interleaved runs)\n")
    print("```")
    print((out / "machine.txt").read_text().rstrip())
    print("```\n")
    print(f"{records} records, six checks; verdicts identical record by record in all {repeat} rounds.\n")
    print("| run | wall s | CPU s (user+sys) | peak RSS MiB |")
    print("|---|---:|---:|---:|")
    print(f"| `caliper run -j {jobs}` | {cw:.3f} | {cc:.3f} | {cr / 1024:.1f} |")
    print(f"| Python script (1 thread) | {pw:.3f} | {pc:.3f} | {pr / 1024:.1f} |")
    print(f"| **ratio** (Python / Caliper) | **{pw / cw:.2f}x** | {pc / cc:.2f}x | {pr / cr:.2f}x |\n")
    print("Every round (wall s, CPU s, RSS MiB): caliper "
          + ", ".join(f"{w:.3f}/{c:.2f}/{r / 1024:.1f}" for w, c, r in cruns)
          + "; python " + ", ".join(f"{w:.3f}/{c:.2f}/{r / 1024:.1f}" for w, c, r in pruns) + ".")
    load = out / "load.txt"
    if load.exists():
        print("1-minute load average before each round: " + ", ".join(load.read_text().split()) + ".")
    print()

    print("## Per check\n")
    print("Python: a timer around each check in the script (single thread). Caliper: "
          f"`caliper-bench compare`, each metric alone over all {records} records with {jobs} threads "
          "(wall and CPU µs per record, through the runner), and one call without the runner "
          "(single-threaded CPU ns per evaluated record); native = the same Rust code linked in.\n")
    print("| check | pass / fail / skip | Python µs/record | wasm µs/record (-j %d) | wasm CPU µs/record | native CPU µs/record | one call wasm ns | one call native ns |" % jobs)
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    targets = {t["name"]: t for t in cmp_["targets"]}
    calls = {c["name"]: c for c in (cmp_.get("calls") or {}).get("metrics", [])}
    for check in CHECKS:
        v = verdicts[check]
        counts = f"{v.get('pass', 0)} / {v.get('fail', 0)} / {v.get('skip', 0)}"
        t, c = targets.get(check), calls.get(check)
        cols = [
            f"{t['wasm_us_per_sample']:.2f}" if t else "",
            f"{t['wasm_cpu_us_per_sample']:.2f}" if t else "",
            f"{t['native_cpu_us_per_sample']:.2f}" if t else "",
            f"{c['wasm_ns']:.0f}" if c else "",
            f"{c['native_ns']:.0f}" if c else "",
        ]
        print(f"| {check} | {counts} | {py_us[check]:.1f} | " + " | ".join(cols) + " |")
    allt = targets.get("all")
    if allt:
        print(f"| **all six** | | {sum(py_us.values()):.1f} | {allt['wasm_us_per_sample']:.2f} | "
              f"{allt['wasm_cpu_us_per_sample']:.2f} | {allt['native_cpu_us_per_sample']:.2f} | | |")
    if cmp_.get("calls"):
        print(f"\nHost conversion of one record for all metrics (`prepare`): "
              f"{cmp_['calls']['prepare_ns_per_sample']:.0f} ns.")
    print("\nLevenshtein alone, natively, same pairs:\n")
    print("```")
    for name in ("levenshtein-rust.txt", "levenshtein-python.txt"):
        if (out / name).exists():
            print((out / name).read_text().rstrip())
    print("```")
    same = all(c["same"] for c in cmp_["checks"])
    print(f"\nNative and wasm verdicts identical in caliper-bench: {'yes' if same else 'NO'}.")


if __name__ == "__main__":
    main()
