#!/usr/bin/env python3
"""Python rapidfuzz (C++) Levenshtein on the output/expected pairs of a
dataset, best of 5 rounds, in µs per pair; the counterpart of
`cargo run --release -p similarity --example levenshtein_speed -- DATASET`.

Usage:
    python3 bench/long/levenshtein_speed.py DATASET.jsonl
"""

import json
import sys
import time

from rapidfuzz.distance import Levenshtein


def main():
    pairs = []
    for line in open(sys.argv[1], encoding="utf-8"):
        r = json.loads(line)
        if isinstance(r.get("expected"), str):
            pairs.append((r["output"], r["expected"]))
    us, total = best_of(pairs)
    ascii_pairs = [p for p in pairs if p[0].isascii() and p[1].isascii()]
    other_pairs = [p for p in pairs if not (p[0].isascii() and p[1].isascii())]
    print(f"{len(pairs)} pairs ({len(ascii_pairs)} both ASCII): Python rapidfuzz {us:.2f} µs/pair; "
          f"checksum {total:.6f}")
    print(f"ASCII pairs: Python rapidfuzz {best_of(ascii_pairs)[0]:.2f} µs/pair; "
          f"other pairs: {best_of(other_pairs)[0]:.2f}")


def best_of(pairs):
    """(best µs per pair of 5 rounds, sum of the similarities)."""
    sim = Levenshtein.normalized_similarity
    best = float("inf")
    total = 0.0
    for _ in range(5):
        start = time.perf_counter()
        total = 0.0
        for o, e in pairs:
            total += sim(o, e)
        best = min(best, time.perf_counter() - start)
    return best / len(pairs) * 1e6, total


if __name__ == "__main__":
    main()
