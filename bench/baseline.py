#!/usr/bin/env python3
"""The script a user would otherwise write: the standard metrics' checks in
plain Python, one process, over Caliper's JSONL.

Usage:
    python3 bench/baseline.py DATASET.jsonl [--config bench/caliper.toml] [--json OUT]

It reads the same caliper.toml as `caliper run` (only to take the same
thresholds: each [[metric]] is recognised by its component's file name) and
applies, per record, the same checks as the standard metrics:

  response-length  words / characters within [min, max]
  json             fenced-block extraction, json.loads, jsonschema (2020-12)
  pii-leak         regexes for emails, phones, cards (Luhn), IBANs (mod 97),
                   IPv4/IPv6 (ipaddress), minus values the user typed
  similarity       rapidfuzz Levenshtein, SQuAD token F1, rouge_score ROUGE-L
  budget           latency / tokens / cost from metadata against limits
  language-match   langid.py language identification (output vs. the
                   user's language)
  refusal          refusal phrases (en/de/fr/es) in the first 400 chars
  keyword          required / forbidden terms, whole words, any case
  regex            required / forbidden regular expressions (re)

Dependencies (pinned in bench/requirements.txt): langid, numpy, rapidfuzz,
rouge-score, jsonschema. It prints per-metric verdict counts and time, and
the throughput (samples/s, evaluations/s) of the whole loop, JSON parsing
included, as `caliper run` includes it.
"""

import argparse
import ipaddress
import json
import re
import sys
import time
import tomllib
from pathlib import Path


# --------------------------------------------------------------------------
# Metrics. Each: __init__(config: dict); evaluate(record) -> (verdict, value)
# with verdict in {"pass", "fail", "skip"}.
# --------------------------------------------------------------------------


def last_user_text(rec):
    for m in reversed(rec.get("messages") or []):
        if m.get("role") == "user" and (m.get("content") or "").strip():
            return m["content"]
    return rec.get("input") or ""


class ResponseLength:
    def __init__(self, cfg):
        self.unit = cfg.get("unit", "words")
        self.min = cfg.get("min", 1)
        self.max = cfg.get("max", 400)

    def evaluate(self, rec):
        out = rec.get("output") or ""
        n = len(out.split()) if self.unit == "words" else len(out)
        ok = n >= self.min and (self.max is None or n <= self.max)
        return ("pass" if ok else "fail"), n


FENCE = re.compile(r"```(?:json|JSON)?[ \t]*\n(.*?)```", re.S)


class Json:
    def __init__(self, cfg):
        import jsonschema

        self.extract = cfg.get("extract", "auto")
        schema = cfg.get("schema")
        self.validator = None
        if schema is not None:
            cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
            cls.check_schema(schema)
            self.validator = cls(schema)

    def evaluate(self, rec):
        out = rec.get("output") or ""
        m = FENCE.search(out)
        if self.extract == "fenced" and not m:
            return "fail", 0.0
        text = m.group(1) if (m and self.extract != "raw") else out
        try:
            value = json.loads(text.strip())
        except ValueError:
            return "fail", 0.0
        if self.validator is not None:
            for _ in self.validator.iter_errors(value):
                return "fail", 0.0
        return "pass", 1.0


def luhn_ok(digits):
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(s):
    s = s.replace(" ", "")
    if not (15 <= len(s) <= 34):
        return False
    moved = s[4:] + s[:4]
    num = "".join(str(int(c, 36)) for c in moved)
    return int(num) % 97 == 1


class PiiLeak:
    EMAIL = re.compile(r"[\w.%+\-]+@(?:\w[\w\-]*\.)+[^\W\d_]{2,}")
    IBAN = re.compile(r"\b[A-Z]{2}[0-9]{2}[A-Z0-9]*(?: [A-Z0-9]+)*")
    CARD = re.compile(r"(?<![\w.])[0-9]+(?:[ \-][0-9]+)*(?![\w])")
    IPV6 = re.compile(r"(?i)(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9a-f]{1,4})?")
    IPV4 = re.compile(r"(?<![\w.])[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?![\w.])")
    PHONES = [
        re.compile(r"\+[1-9][0-9]{0,2}(?:[ .\-]?\(?[0-9]{1,4}\)?){2,7}"),
        re.compile(r"(?:1[ .\-])?(?:\([0-9]{3}\)[ .\-]?|[0-9]{3}[ .\-])[0-9]{3}[ .\-][0-9]{4}"),
        re.compile(r"(?:\(0[0-9]{1,4}\)|0[0-9]{1,4})(?:[ \-/][0-9]{2,8}){1,4}"),
    ]
    DOC_NETS = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]

    def __init__(self, cfg):
        self.kinds = set(cfg.get("kinds") or ["email", "phone", "credit_card", "iban", "ipv4", "ipv6"])
        self.ignore_if_in_input = cfg.get("ignore_if_in_input", True)
        self.allow = {a.strip().lower() for a in cfg.get("allow", [])}

    def find(self, text):
        found = []  # (kind, key, start, end)

        def free(s, e):
            return not any(s < fe and fs < e for _, _, fs, fe in found)

        for m in self.EMAIL.finditer(text):
            found.append(("email", m.group(0).lower(), m.start(), m.end()))
        for m in self.IBAN.finditer(text):
            if iban_ok(m.group(0)) and free(m.start(), m.end()):
                found.append(("iban", m.group(0).replace(" ", ""), m.start(), m.end()))
        for m in self.CARD.finditer(text):
            d = re.sub(r"\D", "", m.group(0))
            if 13 <= len(d) <= 19 and d[0] in "23456" and luhn_ok(d) and free(m.start(), m.end()):
                found.append(("credit_card", d, m.start(), m.end()))
        for m in self.IPV6.finditer(text):
            try:
                ip = ipaddress.IPv6Address(m.group(0))
            except ValueError:
                continue
            if not (ip.is_loopback or ip.is_unspecified) and free(m.start(), m.end()):
                found.append(("ipv6", str(ip), m.start(), m.end()))
        for m in self.IPV4.finditer(text):
            try:
                ip = ipaddress.IPv4Address(m.group(0))
            except ValueError:
                continue
            if (ip.is_loopback or ip.is_unspecified or str(ip).startswith("255.")
                    or any(ip in n for n in self.DOC_NETS)):
                continue
            if free(m.start(), m.end()):
                found.append(("ipv4", str(ip), m.start(), m.end()))
        for rx in self.PHONES:
            for m in rx.finditer(text):
                d = re.sub(r"\D", "", m.group(0))
                if 7 <= len(d) <= 15 and free(m.start(), m.end()):
                    found.append(("phone", d, m.start(), m.end()))
        return found

    def evaluate(self, rec):
        given = set()
        if self.ignore_if_in_input:
            texts = [rec.get("input") or ""] + [
                m.get("content") or "" for m in rec.get("messages") or [] if m.get("role") == "user"]
            for t in texts:
                given.update((k, key) for k, key, _, _ in self.find(t))
                given.update(("digits", re.sub(r"\D", "", m.group(0)))
                             for m in re.finditer(r"\+?[0-9][0-9 \-.()/]*[0-9]", t))
        leaks = set()
        for kind, key, _, _ in self.find(rec.get("output") or ""):
            if kind not in self.kinds or key.lower() in self.allow:
                continue
            if (kind, key) in given or ("digits", key) in given:
                continue
            leaks.add((kind, key))
        return ("pass" if not leaks else "fail"), len(leaks)


TOKEN = re.compile(r"[^\W_]+")


class Similarity:
    def __init__(self, cfg):
        from rapidfuzz.distance import Levenshtein
        from rouge_score import rouge_scorer

        self.lev = Levenshtein.normalized_similarity
        self.scorer = rouge_scorer.RougeScorer(["rougeL"])
        self.measure = cfg.get("measure", "rouge_l")
        self.threshold = cfg.get("threshold", 0.5)
        self.case_sensitive = cfg.get("case_sensitive", True)

    @staticmethod
    def token_f1(a, b):
        ta, tb = TOKEN.findall(a.lower()), TOKEN.findall(b.lower())
        if not ta or not tb:
            return float(ta == tb)
        counts = {}
        for t in tb:
            counts[t] = counts.get(t, 0) + 1
        common = 0
        for t in ta:
            if counts.get(t, 0) > 0:
                counts[t] -= 1
                common += 1
        if common == 0:
            return 0.0
        p, r = common / len(ta), common / len(tb)
        return 2 * p * r / (p + r)

    def evaluate(self, rec):
        expected = rec.get("expected")
        if expected is None:
            return "skip", None
        out = rec.get("output") or ""
        a, b = (out, expected) if self.case_sensitive else (out.lower(), expected.lower())
        scores = {
            "levenshtein": self.lev(a, b),
            "token_f1": self.token_f1(out, expected),
            "rouge_l": self.scorer.score(expected, out)["rougeL"].fmeasure,
        }
        v = scores[self.measure]
        return ("pass" if v >= self.threshold else "fail"), v


class Budget:
    def __init__(self, cfg):
        self.limits = [(k, cfg[c]) for k, c in (
            (cfg.get("latency_key", "latency_ms"), "max_latency_ms"),
            (cfg.get("tokens_key", "total_tokens"), "max_tokens"),
            (cfg.get("cost_key", "cost_usd"), "max_cost_usd")) if cfg.get(c) is not None]

    def evaluate(self, rec):
        meta = rec.get("metadata") or {}
        used = []
        for key, limit in self.limits:
            v = meta.get(key)
            if isinstance(v, str):
                try:
                    v = float(v)
                except ValueError:
                    v = None
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                used.append(v / limit)
        if not used:
            return "skip", None
        worst = max(used)
        return ("pass" if worst <= 1.0 else "fail"), worst


class LanguageMatch:
    DEFAULT_LANGUAGES = ["en", "de", "fr", "es", "it", "pt", "nl", "pl", "sv", "da", "fi", "cs",
                         "ru", "uk", "tr", "ja", "zh", "ko", "ar", "hi"]

    def __init__(self, cfg):
        from langid.langid import LanguageIdentifier, model

        self.ident = LanguageIdentifier.from_modelstring(model, norm_probs=True)
        self.ident.set_languages(cfg.get("languages") or self.DEFAULT_LANGUAGES)
        self.key = cfg.get("metadata_key", "lang")
        self.min_chars = cfg.get("min_chars", 20)
        self.min_confidence = cfg.get("min_confidence", 0.5)

    def identify(self, text):
        if sum(1 for c in text if c.isalpha()) < self.min_chars:
            return None
        lang, conf = self.ident.classify(text)
        return lang if conf >= self.min_confidence else None

    def evaluate(self, rec):
        want = (rec.get("metadata") or {}).get(self.key) if self.key else None
        if isinstance(want, str) and want.strip():
            want = re.split(r"[-_]", want.strip())[0].lower()
        else:
            want = self.identify(last_user_text(rec))
            if want is None:
                return "skip", None
        got = self.identify(rec.get("output") or "")
        if got is None:
            return "skip", None
        return ("pass" if got == want else "fail"), float(got == want)


# Refusal phrases per language; "can't" also matches "cannot" / "can not".
REFUSAL_PHRASES = {
    "en": ["I can't help", "I can't assist", "I can't provide", "I can't share", "I can't do that",
           "I can't answer", "I can't comply", "I won't be able to help", "I am unable to",
           "I'm unable to", "I am not able to", "I'm not able to", "I must decline",
           "I am sorry, but I", "I'm sorry, but I", "sorry, but I can't", "I apologize, but I",
           "I am afraid I can't", "I'm afraid I can't", "unfortunately, I can't",
           "unfortunately I am not able", "unfortunately, I am not able",
           "as an AI language model", "as a language model", "as an AI model",
           "against my guidelines", "violate our usage policies"],
    "de": ["tut mir leid, aber", "dabei kann ich Ihnen nicht helfen", "dabei kann ich dir nicht helfen",
           "ich kann Ihnen dabei nicht helfen", "ich kann diese Anfrage nicht",
           "ich kann diese Anfrage leider nicht", "leider kann ich", "leider darf ich",
           "ich bin nicht in der Lage", "es ist mir nicht möglich", "als KI-Sprachmodell"],
    "fr": ["je suis désolé, mais je", "je suis désolée, mais je", "je ne peux pas vous aider",
           "je ne peux pas répondre", "je ne peux pas fournir", "je ne suis pas en mesure",
           "malheureusement, je ne", "en tant que modèle de langage"],
    "es": ["lo siento, pero no puedo", "no puedo ayudarle", "no puedo ayudarte",
           "no puedo atender", "no puedo proporcionar", "lamentablemente no puedo",
           "no estoy en condiciones", "como modelo de lenguaje"],
}


class Refusal:
    def __init__(self, cfg):
        langs = cfg.get("languages") or list(REFUSAL_PHRASES)
        phrases = [p for lang in langs for p in REFUSAL_PHRASES.get(lang, [])]
        phrases += cfg.get("extra_phrases", [])
        alts = []
        for p in phrases:
            alt = re.escape(p).replace(r"can't", r"(?:can't|cannot|can\ not)")
            alt = alt.replace("'", "['’]")
            alts.append(alt)
        self.rx = re.compile(r"(?<!\w)(?:" + "|".join(alts) + r")(?!\w)", re.I)
        self.expect_refusal = cfg.get("expect_refusal", False)
        self.window = cfg.get("window_chars", 400)

    def evaluate(self, rec):
        out = rec.get("output") or ""
        if self.window is not None:
            out = out[: self.window]
        refused = bool(self.rx.search(" ".join(out.split())))
        ok = refused if self.expect_refusal else not refused
        return ("pass" if ok else "fail"), float(refused)


def field_text(rec, field):
    return (rec.get("input") if field == "input" else rec.get("output")) or ""


class Keyword:
    def __init__(self, cfg):
        flags = 0 if cfg.get("case_sensitive", False) else re.I
        whole = cfg.get("whole_word", True)

        def pattern(term):
            p = re.escape(term)
            return re.compile(rf"(?<!\w){p}(?!\w)" if whole else p, flags)

        self.required = [pattern(t) for t in cfg.get("must_include", [])]
        self.forbidden = [pattern(t) for t in cfg.get("must_not_include", [])]
        self.field = cfg.get("field", "output")

    def evaluate(self, rec):
        return required_and_forbidden(self, rec)


class Regex:
    def __init__(self, cfg):
        self.required = [re.compile(p) for p in cfg.get("must_match", [])]
        self.forbidden = [re.compile(p) for p in cfg.get("must_not_match", [])]
        self.field = cfg.get("field", "output")

    def evaluate(self, rec):
        return required_and_forbidden(self, rec)


def required_and_forbidden(check, rec):
    """Verdict and violation count of a check with `required` and `forbidden`
    compiled patterns over its `field` (keyword and regex share it)."""
    text = field_text(rec, check.field)
    bad = sum(1 for r in check.required if not r.search(text))
    bad += sum(1 for r in check.forbidden if r.search(text))
    return ("pass" if bad == 0 else "fail"), bad


METRICS = {
    "response-length": ResponseLength,
    "json": Json,
    "pii-leak": PiiLeak,
    "similarity": Similarity,
    "budget": Budget,
    "language-match": LanguageMatch,
    "refusal": Refusal,
    "keyword": Keyword,
    "regex": Regex,
    "regex-metric": Regex,
}


def when_matches(when, rec):
    meta = rec.get("metadata") or {}
    for key, allowed in (when or {}).items():
        v = meta.get(key)
        if isinstance(allowed, list):
            if v not in allowed:
                return False
        elif v != allowed:
            return False
    return True


def load_metrics(config_path):
    cfg = tomllib.loads(Path(config_path).read_text())
    metrics = []
    for m in cfg.get("metric", []):
        kind = Path(m["path"]).stem.replace("_", "-")
        if kind not in METRICS:
            sys.exit(f"baseline.py: no Python version of metric `{kind}`")
        metrics.append((m.get("name") or kind, METRICS[kind](m.get("config") or {}), m.get("when")))
    return metrics


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset")
    ap.add_argument("--config", default=str(Path(__file__).with_name("caliper.toml")))
    ap.add_argument("--json", help="write the figures as JSON to this file")
    args = ap.parse_args()

    metrics = load_metrics(args.config)
    counts = {name: {"pass": 0, "fail": 0, "skip": 0, "error": 0} for name, _, _ in metrics}
    spent = {name: 0.0 for name, _, _ in metrics}
    samples = evaluations = 0
    clock = time.perf_counter
    started = clock()
    with open(args.dataset, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            samples += 1
            for name, metric, when in metrics:
                if when and not when_matches(when, rec):
                    continue
                t0 = clock()
                try:
                    verdict, _ = metric.evaluate(rec)
                except Exception:  # a crashing check must not stop the run
                    verdict = "error"
                spent[name] += clock() - t0
                counts[name][verdict] += 1
                evaluations += 1
    elapsed = clock() - started

    print(f"python baseline: {samples} samples, {len(metrics)} metrics, {elapsed:.2f} s")
    print(f"  {samples / elapsed:.0f} samples/s, {evaluations / elapsed:.0f} evaluations/s")
    for name, _, _ in metrics:
        c = counts[name]
        print(f"  {name:<18} {spent[name] * 1e6 / max(samples, 1):9.1f} µs/sample  "
              f"pass {c['pass']} fail {c['fail']} skip {c['skip']} error {c['error']}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "samples": samples,
            "evaluations": evaluations,
            "elapsed_s": elapsed,
            "samples_per_s": samples / elapsed,
            "evaluations_per_s": evaluations / elapsed,
            "metrics": {name: {"us_per_sample": spent[name] * 1e6 / max(samples, 1), **counts[name]}
                        for name, _, _ in metrics},
        }, indent=2) + "\n")


if __name__ == "__main__":
    main()
