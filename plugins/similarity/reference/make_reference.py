#!/usr/bin/env python3
"""Generate reference/pairs.jsonl: (output, expected) pairs scored by the
Python references the `similarity` metric must agree with.

- levenshtein: rapidfuzz.distance.Levenshtein.normalized_similarity(output, expected)
- rouge_l:     rouge_score RougeScorer(["rougeL"], use_stemmer=False)
               .score(target=expected, prediction=output)["rougeL"].fmeasure
- token_f1:    a plain reimplementation of the README definition (below)

Deterministic (fixed seed): rerunning it rewrites the same file.
Usage: python3 make_reference.py   (needs: pip install rapidfuzz rouge-score regex)
With RapidFuzz 3.14.6, rouge_score 0.1.2 and regex 2026.11.19 (the versions
bench/requirements.txt pins) it rewrites the committed pairs.jsonl byte for byte.
"""

import json
import os
import random
from collections import Counter

import regex  # for \p{Alphabetic}, which the stdlib `re` lacks
from rapidfuzz.distance import Levenshtein
from rouge_score import rouge_scorer

SEED = 20261107
HERE = os.path.dirname(os.path.abspath(__file__))

# Token F1 tokens: lower-case, then maximal runs of characters that are
# Alphabetic or in a number category (Nd, Nl, No) -- Rust's
# char::is_alphanumeric.
F1_TOKEN = regex.compile(r"[\p{Alphabetic}\p{Nd}\p{Nl}\p{No}]+")


def f1_tokens(text):
    return F1_TOKEN.findall(text.lower())


def token_f1(output, expected):
    out, exp = f1_tokens(output), f1_tokens(expected)
    if not out and not exp:
        return 1.0
    if not out or not exp:
        return 0.0
    common = sum((Counter(out) & Counter(exp)).values())
    precision = common / len(out)
    recall = common / len(exp)
    if precision + recall > 0:
        return 2 * precision * recall / (precision + recall)
    return 0.0


SCORER = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def rouge_l(output, expected):
    return SCORER.score(expected, output)["rougeL"].fmeasure


# --- text material -----------------------------------------------------------

ENGLISH = (
    "the quick brown fox jumps over lazy dog a an of to in is was for on with "
    "as by at from that this it be are or have not but what all were when we "
    "there can your which their said if do will each about how up out them then "
    "she many some so these would other into has more her two like him see time "
    "could no make than first been its who now people my made over did down only "
    "way find use may water long little very after words called just where most "
    "know refund order account password shipping invoice customer support answer "
    "Paris Berlin Tokyo 2024 42 3.14 API HTTP JSON don't it's O'Neil e-mail "
    "state-of-the-art snake_case CamelCase"
).split()

GERMAN = (
    "Grüße aus München Straße Öl Übermut ärgerlich schön Fußgänger Käse "
    "Bücher Mädchen heißt größer Ärzte Köln Zürich Düsseldorf über für "
    "die der das und ist nicht mit eine Rückerstattung Bestellung"
).split()

EMOJI = ["🦀", "❤️", "👍🏽", "🇩🇪", "👨‍👩‍👧", "😀", "🚀", "✨", "🎉", "☕"]

CJK = [
    "我喜欢编程", "今天天气很好", "东京", "北京欢迎你", "日本語のテキスト",
    "ひらがな", "カタカナ", "한국어", "안녕하세요", "中文和English混合",
    "第2024年", "１２３", "ｆｕｌｌｗｉｄｔｈ",
]

TRICKY = [
    "ΟΔΟΣ", "Οδός", "ΣΟΦΟΣ σοφός", "İstanbul", "ıi", "K Kelvin", "Å ångström",
    "ﬁnance", "Ⅻ chapters", "½ cup", "²³", "x²", "naïve café", "cafe\u0301",
    "ß ẞ", "ǅemal", "\t tabs \n newlines ", "___", "--", "a_b-c.d", "١٢٣",
    "Ⓐ circled", "ऋषि", "नमस्ते दुनिया",
]


def words(rng, n, pool=ENGLISH):
    return " ".join(rng.choice(pool) for _ in range(n))


def mutate_chars(rng, text, rate):
    chars = list(text)
    out = []
    alphabet = "abcdefghijklmnopqrstuvwxyzäöüßé🦀中 .,"
    for c in chars:
        r = rng.random()
        if r < rate / 3:
            continue  # delete
        if r < 2 * rate / 3:
            out.append(rng.choice(alphabet))  # substitute
            continue
        out.append(c)
        if r < rate:
            out.append(rng.choice(alphabet))  # insert
    return "".join(out)


def mutate_words(rng, text, rate):
    toks = text.split(" ")
    out = []
    for t in toks:
        r = rng.random()
        if r < rate / 3:
            continue
        if r < 2 * rate / 3:
            out.append(rng.choice(ENGLISH))
            continue
        out.append(t)
        if r < rate:
            out.append(rng.choice(ENGLISH))
    return " ".join(out)


def reorder(rng, text):
    toks = text.split(" ")
    rng.shuffle(toks)
    return " ".join(toks)


def recase(rng, text):
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)


def pairs(rng):
    # Hand-picked edge cases first.
    fixed = [
        ("", ""),
        ("", "abc"),
        ("abc", ""),
        ("   ", ""),
        ("...", "!!!"),
        ("a", "a"),
        ("a", "b"),
        ("The cat sat.", "the cat sat"),
        ("HELLO WORLD", "hello world"),
        ("Paris is nice", "The capital is Paris"),
        ("a a b", "a b b"),
        ("b a", "a b"),
        ("a c b d", "a b c d"),
        ("Grüße aus München!", "Gruesse aus Muenchen!"),
        ("Straße", "Strasse"),
        ("café", "cafe\u0301"),
        ("🦀🦀", "🦀"),
        ("I ❤️ Rust 🦀", "I love Rust"),
        ("👨‍👩‍👧 family", "👨‍👩‍👦 family"),
        ("我喜欢编程", "我喜欢编程"),
        ("我喜欢编程", "我喜欢写代码"),
        ("中文和English混合", "English混合"),
        ("ΟΔΟΣ ΣΟΦΟΣ", "οδος σοφος"),
        ("İstanbul", "istanbul"),
        ("K is Kelvin", "k is kelvin"),
        ("ﬁnance report", "finance report"),
        ("１２３ apples", "123 apples"),
        ("snake_case and CamelCase", "snake case and camelcase"),
        ("don't stop", "do not stop"),
        ("3.14 is pi", "pi is 3.14"),
        ("नमस्ते दुनिया", "नमस्ते"),
        ("Ⓐ circled", "A circled"),
        ("x" * 64, "x" * 63 + "y"),
        ("ab" * 70, "ba" * 70),
    ]
    yield from fixed

    # ASCII sentences with word edits, char edits, reorderings, case changes.
    for _ in range(40):
        base = words(rng, rng.randint(3, 25))
        yield base, mutate_words(rng, base, rng.choice([0.1, 0.3, 0.6]))
    for _ in range(25):
        base = words(rng, rng.randint(2, 15))
        yield mutate_chars(rng, base, rng.choice([0.05, 0.2, 0.5])), base
    for _ in range(15):
        base = words(rng, rng.randint(2, 20))
        yield reorder(rng, base), base
    for _ in range(8):
        base = words(rng, rng.randint(2, 10))
        yield recase(rng, base), base
    for _ in range(8):
        yield words(rng, rng.randint(1, 12)), words(rng, rng.randint(1, 12))

    # German with umlauts and ß, mixed with English.
    for _ in range(15):
        base = words(rng, rng.randint(3, 12), GERMAN + ENGLISH[:40])
        variant = rng.choice([
            mutate_chars(rng, base, 0.1),
            reorder(rng, base),
            base.replace("ü", "ue").replace("ö", "oe").replace("ä", "ae").replace("ß", "ss"),
            base.upper(),
        ])
        yield variant, base

    # Emoji sprinkled into text.
    for _ in range(12):
        base = " ".join(
            rng.choice(EMOJI) if rng.random() < 0.3 else rng.choice(ENGLISH)
            for _ in range(rng.randint(2, 12))
        )
        yield mutate_chars(rng, base, 0.1) if rng.random() < 0.5 else reorder(rng, base), base

    # CJK and other scripts.
    for _ in range(15):
        a = "".join(rng.choice(CJK) for _ in range(rng.randint(1, 4)))
        b = "".join(rng.choice(CJK) for _ in range(rng.randint(1, 4)))
        yield a, rng.choice([b, a, mutate_chars(rng, a, 0.2)])
    for _ in range(12):
        a = " ".join(rng.choice(TRICKY + ENGLISH[:30]) for _ in range(rng.randint(1, 6)))
        b = " ".join(rng.choice(TRICKY + ENGLISH[:30]) for _ in range(rng.randint(1, 6)))
        yield a, rng.choice([b, a.upper(), a.lower(), mutate_chars(rng, a, 0.15)])

    # Long texts: several hundred words, beyond rapidfuzz's 64-char block.
    for _ in range(12):
        base = words(rng, rng.randint(150, 600))
        variant = rng.choice([
            mutate_words(rng, base, 0.1),
            mutate_chars(rng, base, 0.05),
            reorder(rng, base),
            base + " " + words(rng, 50),
        ])
        yield variant, base
    for _ in range(4):
        base = words(rng, rng.randint(80, 200), GERMAN + ENGLISH)
        yield mutate_chars(rng, base, 0.08), base


def main():
    rng = random.Random(SEED)
    path = os.path.join(HERE, "pairs.jsonl")
    count = 0
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for output, expected in pairs(rng):
            row = {
                "output": output,
                "expected": expected,
                "levenshtein": float(Levenshtein.normalized_similarity(output, expected)),
                "token_f1": float(token_f1(output, expected)),
                "rouge_l": float(rouge_l(output, expected)),
            }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    print(f"wrote {count} pairs to {path}")


if __name__ == "__main__":
    main()
