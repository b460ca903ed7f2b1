"""{{name}}: a Caliper micro metric. It fails answers longer than
``max_words`` words and skips empty ones; edit ``evaluate`` to check what your
team cares about."""

from caliper_sdk import ConfigError, Metric, Outcome, Sample, exported


class {{Type}}(Metric):
    name = "{{name}}"
    version = "0.1.0"
    description = "Answers stay within a word budget"
    owner = "your-team"
    goal = "Say which business goal this metric protects"
    unit = "words"
    higher_is_better = False
    config_schema = {
        "type": "object",
        "properties": {"max_words": {"type": "integer", "minimum": 1}},
        "additionalProperties": False,
    }

    def __init__(self, config):
        unknown = set(config) - {"max_words"}
        if unknown:
            raise ConfigError(f"unknown config keys: {', '.join(sorted(unknown))}")
        self.max_words = config.get("max_words", 100)
        if isinstance(self.max_words, bool) or not isinstance(self.max_words, int) or self.max_words < 1:
            raise ConfigError("max_words must be an integer of at least 1")

    def evaluate(self, sample: Sample) -> Outcome:
        words = len(sample.output.split())
        if words == 0:
            return Outcome.skip("empty output")
        return Outcome.check(words <= self.max_words, words, f"{words} words (max {self.max_words})")


Metric = exported({{Type}})
