#!/usr/bin/env python3
"""Compare the verdicts of `caliper run` and bench/long/checks.py, record by
record and check by check, for every round of bench/long/run.sh.

Usage:
    python3 bench/long/compare.py OUT_DIR REPEAT

Reads OUT_DIR/caliper-N.jsonl (Caliper's results: one evaluation per line)
and OUT_DIR/python-N.tsv (id and six verdicts per line) for N = 1..REPEAT.
A check that does not apply to a record ("-" in the script; no evaluation
from Caliper, whose `when` filter left it out) must not apply on both
sides. Exits 1 and lists the first differences when any verdict differs.
Writes OUT_DIR/verdicts.json: pass/fail/skip counts per check.
"""

import json
import sys
from collections import Counter
from pathlib import Path

CHECKS = ["keyword", "no-email", "json", "length", "no-refusal", "similarity"]


def caliper_verdicts(path):
    table = {}
    for line in path.open(encoding="utf-8"):
        r = json.loads(line)
        key = (r["sample_id"], r["metric"])
        if key in table:
            raise SystemExit(f"{path}: two evaluations of {key}")
        table[key] = r["outcome"]
    return table


def python_verdicts(path):
    rows = {}
    for line in path.open(encoding="utf-8"):
        rid, *verdicts = line.rstrip("\n").split("\t")
        rows[rid] = dict(zip(CHECKS, verdicts))
    return rows


def main():
    out, repeat = Path(sys.argv[1]), int(sys.argv[2])
    bad = 0
    counts = None
    for i in range(1, repeat + 1):
        cal = caliper_verdicts(out / f"caliper-{i}.jsonl")
        py = python_verdicts(out / f"python-{i}.tsv")
        diffs = []
        for rid, row in py.items():
            for check in CHECKS:
                a = cal.pop((rid, check), "-")
                if a != row[check]:
                    diffs.append(f"{rid} {check}: caliper {a}, python {row[check]}")
        diffs += [f"{rid} {check}: only caliper evaluated it ({v})" for (rid, check), v in cal.items()]
        if diffs:
            bad += 1
            print(f"round {i}: {len(diffs)} verdicts differ:", file=sys.stderr)
            for d in diffs[:30]:
                print("  " + d, file=sys.stderr)
        else:
            print(f"round {i}: {len(py)} records x {len(CHECKS)} checks, identical verdicts", file=sys.stderr)
        if counts is None:
            counts = {c: Counter(row[c] for row in py.values()) for c in CHECKS}
    (out / "verdicts.json").write_text(json.dumps(counts, indent=1))
    if bad:
        print(f"VERDICTS DIFFER in {bad} of {repeat} rounds", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
