#!/usr/bin/env python3
"""Scores the evaluation set with the real component through `caliper run`.

    cargo build -p language-match --profile plugin --target wasm32-wasip2
    python3 plugins/language-match/eval/eval.py                 # both splits
    python3 plugins/language-match/eval/eval.py --wasm OLD.wasm # another build

For every assistant turn (`expand_turns = true`, see caliper.toml) the truth
`"<user's language>:<assistant's language>"` of the record says whether the
assistant switched language. Figures: recall = switched turns that fail;
false alarms = same-language turns that fail; skips = all turns that skip.
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]


def run(caliper, config, dataset, out):
    cmd = [caliper, "run", str(dataset), "-c", str(config), "-o", str(out), "-q", "--no-history"]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if p.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")


def score(dataset, results):
    truth = {}
    for line in open(dataset, encoding="utf-8"):
        rec = json.loads(line)
        for n, t in enumerate(rec["truth"], 1):
            expected, actual = t.split(":")
            truth[f"{rec['id']}#{n}"] = (expected, actual, rec)
    c = collections.Counter()
    misses = []
    for line in open(results, encoding="utf-8"):
        r = json.loads(line)
        expected, actual, rec = truth.pop(r["sample_id"])
        kind = "switched" if expected != actual else "same"
        c[kind, r["outcome"]] += 1
        c[kind] += 1
        wrong = (kind == "switched") != (r["outcome"] == "fail") or r["outcome"] != "pass" and kind == "same"
        if wrong:
            misses.append((r["sample_id"], kind, expected, actual, r["outcome"], r.get("reason"),
                           r.get("labels")))
    assert not truth, f"{len(truth)} turns without a result"
    return c, misses


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wasm", help="component to evaluate (default: the one in caliper.toml)")
    ap.add_argument("--caliper", default=str(ROOT / "target/debug/caliper"))
    ap.add_argument("--split", action="append", choices=["tune", "heldout"])
    ap.add_argument("--show", type=int, default=0, help="print this many wrong verdicts")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    config = HERE / "caliper.toml"
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.wasm:
            text = config.read_text().replace(
                "../../../target/wasm32-wasip2/plugin/language_match.wasm",
                os.path.abspath(args.wasm))
            config = Path(tmp) / "caliper.toml"
            config.write_text(text)
        for split in args.split or ["tune", "heldout"]:
            out = Path(tmp) / f"{split}.results.jsonl"
            run(args.caliper, config, HERE / f"{split}.jsonl", out)
            c, misses = score(HERE / f"{split}.jsonl", out)
            total = c["switched"] + c["same"]
            f = {
                "conversations": sum(1 for _ in open(HERE / f"{split}.jsonl")),
                "turns": total,
                "switched_turns": c["switched"],
                "same_language_turns": c["same"],
                "recall": c["switched", "fail"] / c["switched"],
                "false_alarms": c["same", "fail"] / c["same"],
                "skips": (c["switched", "skip"] + c["same", "skip"]) / total,
                "switched_skipped": c["switched", "skip"] / c["switched"],
                "same_skipped": c["same", "skip"] / c["same"],
                "errors": c["switched", "error"] + c["same", "error"],
            }
            figures[split] = f
            print(f"{split:8} {f['conversations']} conversations, {total} turns "
                  f"({f['switched_turns']} switched): recall {f['recall']:.1%}, "
                  f"false alarms {f['false_alarms']:.1%}, skips {f['skips']:.1%} "
                  f"(switched {f['switched_skipped']:.1%}, same {f['same_skipped']:.1%}), "
                  f"errors {f['errors']}")
            for m in misses[: args.show]:
                print("   ", *m)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
