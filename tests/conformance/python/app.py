"""The conformance metric of tests/conformance/SPEC.md, written with the
Python SDK. Every SDK language implements the same spec; the suite requires
identical results."""

from caliper_sdk import ConfigError, Metric, MetricError, Outcome, Sample, exported

# SPEC.md's ASCII whitespace; str.split() would also split on U+00A0 etc.
ASCII_SPACE = " \t\n\x0b\x0c\r"
ASCII_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
TO_LOWER = str.maketrans(ASCII_UPPER, ASCII_UPPER.lower())


def words(text: str) -> int:
    count, inside = 0, False
    for ch in text:
        if ch in ASCII_SPACE:
            inside = False
        elif not inside:
            inside, count = True, count + 1
    return count


def ascii_lower(text: str) -> str:
    return text.translate(TO_LOWER)


class Conformance(Metric):
    name = "conformance"
    version = "1.0.0"
    description = "The cross-language conformance metric (tests/conformance/SPEC.md)"
    owner = "caliper"
    goal = "every SDK scores alike"
    tags = ["conformance", "python"]
    unit = "ratio"
    higher_is_better = True

    def __init__(self, config):
        if not isinstance(config, dict):
            raise ConfigError("the config must be a JSON object")
        unknown = sorted(set(config) - {"banned", "min_words"})
        if unknown:
            raise ConfigError(f"unknown key: {unknown[0]}")
        banned = config.get("banned", [])
        if not isinstance(banned, list) or not all(isinstance(t, str) and t for t in banned):
            raise ConfigError("`banned` must be a list of non-empty strings")
        min_words = config.get("min_words", 1)
        if isinstance(min_words, bool) or not isinstance(min_words, int) or min_words < 0:
            raise ConfigError("`min_words` must be a non-negative integer")
        self.banned = [(ascii_lower(t), t) for t in banned]
        self.min_words = min_words

    def evaluate(self, sample: Sample) -> Outcome:
        output = sample.output
        if "!error" in output:
            raise MetricError("asked to fail")
        if "!crash" in output:
            raise RuntimeError("asked to crash")
        n = words(output)
        if n == 0:
            outcome = Outcome.skip("empty output")
        else:
            value = n / max(words(sample.input), 1)
            lower = ascii_lower(output)
            hit = next((term for low, term in self.banned if low in lower), None)
            if hit is not None:
                outcome = Outcome.fail(value, f"mentions {hit}")
            elif n < self.min_words:
                outcome = Outcome.fail(value, f"too short: {n} < {self.min_words}")
            else:
                outcome = Outcome.passed(value)
        return self.label(outcome, sample)

    @staticmethod
    def label(outcome: Outcome, sample: Sample) -> Outcome:
        outcome.with_label("chars", str(len(sample.output)))
        outcome.with_label("turns", str(len(sample.messages)))
        outcome.with_label("context", str(len(sample.context)))
        outcome.with_label("expected", "yes" if sample.expected is not None else "no")
        if sample.messages:
            outcome.with_label("last_role", sample.messages[-1].role)
        meta = sample.metadata
        if isinstance(meta.get("lang"), str):
            outcome.with_label("lang", meta["lang"])
        tokens = meta.get("tokens")
        if isinstance(tokens, (int, float)) and not isinstance(tokens, bool):
            outcome.with_label("tokens", "high" if tokens > 100 else "low")
        if isinstance(meta.get("flagged"), bool):
            outcome.with_label("flagged", "true" if meta["flagged"] else "false")
        outcome.with_label("meta_keys", str(len(meta)))
        return outcome


Metric = exported(Conformance)
