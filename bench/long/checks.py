#!/usr/bin/env python3
"""The six checks of bench/long/caliper.toml as the plain, single-threaded
Python script a team would write instead (re, json, rapidfuzz).

Usage:
    python3 bench/long/checks.py DATASET.jsonl VERDICTS.tsv [--breakdown]

Writes one line per record: id and the six verdicts (pass, fail, skip, or
"-" where a check does not apply), in the order of CHECKS. --breakdown also
times each check separately (perf_counter around each call) and prints µs
per record per check; without it the loop is not instrumented.
"""

import json
import re
import sys
import time

from rapidfuzz.distance import Levenshtein

CHECKS = ["keyword", "no-email", "json", "length", "no-refusal", "similarity"]

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
REFUSAL = re.compile(
    r"(?i)\b(?:i['’]m sorry, but|i am sorry, but|i can(?:no|['’])t (?:help|assist)"
    r"|unfortunately,? i (?:am not able|can['’]t|cannot)|as an ai language model"
    r"|es tut mir leid, aber|leider (?:kann|darf) ich|ich kann diese anfrage"
    r"|je suis désolée?, mais|je ne peux pas|malheureusement, je ne|lo siento, pero"
    r"|no puedo (?:ayudar|atender|proporcionar)|lamentablemente no puedo|mi dispiace, ma"
    r"|purtroppo non posso|het spijt me, maar|helaas kan ik)\b"
)
MAX_WORDS = 300
THRESHOLD = 0.5


def keyword(rec, out, meta):
    kw = meta.get("keyword")
    if not isinstance(kw, str) or not kw.strip():
        return "skip"
    return "pass" if kw.lower() in out.lower() else "fail"


def no_email(rec, out, meta):
    return "fail" if EMAIL.search(out) else "pass"


def json_ok(rec, out, meta):
    if meta.get("expects_json") is not True:
        return "-"
    try:
        json.loads(out)
    except ValueError:
        return "fail"
    return "pass"


def length(rec, out, meta):
    return "pass" if len(out.split()) <= MAX_WORDS else "fail"


def no_refusal(rec, out, meta):
    return "fail" if REFUSAL.search(out) else "pass"


def similarity(rec, out, meta):
    expected = rec.get("expected")
    if not isinstance(expected, str) or not expected.strip():
        return "skip"
    return "pass" if Levenshtein.normalized_similarity(out, expected) >= THRESHOLD else "fail"


FUNCS = [keyword, no_email, json_ok, length, no_refusal, similarity]


def main():
    path, dest = sys.argv[1], sys.argv[2]
    breakdown = "--breakdown" in sys.argv[3:]
    spent = [0.0] * len(FUNCS)
    start = time.perf_counter()
    n = 0
    with open(path, encoding="utf-8") as f, open(dest, "w", encoding="utf-8") as w:
        for line in f:
            rec = json.loads(line)
            out = rec.get("output") or ""
            meta = rec.get("metadata") or {}
            if breakdown:
                verdicts = []
                for i, fn in enumerate(FUNCS):
                    t = time.perf_counter()
                    verdicts.append(fn(rec, out, meta))
                    spent[i] += time.perf_counter() - t
            else:
                verdicts = [fn(rec, out, meta) for fn in FUNCS]
            w.write(rec["id"] + "\t" + "\t".join(verdicts) + "\n")
            n += 1
    elapsed = time.perf_counter() - start
    print(f"{n} records in {elapsed:.3f} s", file=sys.stderr)
    if breakdown:
        print(json.dumps({name: spent[i] / n * 1e6 for i, name in enumerate(CHECKS)}))


if __name__ == "__main__":
    main()
