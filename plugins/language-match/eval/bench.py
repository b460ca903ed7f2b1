#!/usr/bin/env python3
"""Per-call cost of language-match builds, side by side, through `caliper run`.

    python3 plugins/language-match/eval/bench.py NAME=path.wasm [NAME=path.wasm ...]
    SAME_ONLY=1 python3 plugins/language-match/eval/bench.py ...   # no-switch conversations only

Scores both evaluation splits (one sample per assistant turn) COPIES times
over with one worker (`-j 1`), the builds interleaved, REPEAT rounds; prints
the best wall time per sample of each build (host overhead included, the same
for all) and its ratio to the first build, plus the component's size.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
COPIES = int(os.environ.get("COPIES", "8"))
REPEAT = int(os.environ.get("REPEAT", "5"))
# SAME_ONLY=1: only conversations without any switch (the common case in
# production traffic: no mismatch to confirm).
SAME_ONLY = os.environ.get("SAME_ONLY") == "1"
CALIPER = os.environ.get("CALIPER", str(ROOT / "target/debug/caliper"))


def main():
    builds = [a.split("=", 1) for a in sys.argv[1:]]
    if not builds:
        sys.exit(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.jsonl"
        turns = 0
        with open(data, "w", encoding="utf-8") as out:
            for copy in range(COPIES):
                for split in ["tune", "heldout"]:
                    for line in open(HERE / f"{split}.jsonl", encoding="utf-8"):
                        rec = json.loads(line)
                        if SAME_ONLY and any(a != b for a, b in
                                             (t.split(":") for t in rec["truth"])):
                            continue
                        rec["id"] = f"{copy}-{rec['id']}"
                        turns += len(rec["truth"])
                        out.write(json.dumps(rec, ensure_ascii=False) + "\n")
        configs = []
        for name, path in builds:
            config = Path(tmp) / f"{name}.toml"
            config.write_text(f'[input]\nexpand_turns = true\n\n[[metric]]\nname = "{name}"\n'
                              f'path = "{os.path.abspath(path)}"\n')
            configs.append(config)
        best = [float("inf")] * len(builds)
        for _ in range(REPEAT):
            for i, config in enumerate(configs):
                cmd = [CALIPER, "run", str(data), "-c", str(config), "-o", os.devnull, "-q",
                       "--no-history", "-j", "1"]
                started = time.perf_counter()
                p = subprocess.run(cmd, capture_output=True, text=True)
                elapsed = time.perf_counter() - started
                if p.returncode not in (0, 1):
                    sys.exit(p.stderr)
                best[i] = min(best[i], elapsed)
        print(f"{turns} samples{' (no switch)' if SAME_ONLY else ''}, best of {REPEAT}, one worker")
        print("| build | size | µs per sample | ratio |")
        print("|---|---|---|---|")
        for (name, path), b in zip(builds, best):
            size = os.path.getsize(path)
            print(f"| {name} | {size / 1000:.0f} KB | {b / turns * 1e6:.1f} | {b / best[0]:.2f}x |")


if __name__ == "__main__":
    main()
