"""groundedness: the share of the answer's content words found in the
retrieved context passages.

Config: {"min_share": 0.6, "min_words": 3}. Words are lower-cased runs of
letters and digits; words of up to 3 characters and the stop words below do
not count. The value is the share (0 to 1). A sample with no context, or an
answer with fewer than `min_words` content words, is skipped.
"""

import re

from caliper_sdk import ConfigError, Metric, Outcome, Sample, exported

WORD = re.compile(r"[^\W_]+", re.UNICODE)
STOP = {
    "this", "that", "with", "from", "have", "your", "there", "their", "about", "which",
    "would", "could", "should", "will", "were", "been", "also", "they", "them", "then",
    "than", "into", "only", "some", "very", "what", "when", "where", "here",
}


def content_words(text):
    return [w for w in (m.group(0).lower() for m in WORD.finditer(text)) if len(w) > 3 and w not in STOP]


class Groundedness(Metric):
    name = "groundedness"
    version = "0.1.0"
    description = "Share of the answer's content words found in the retrieved context"
    owner = "rag-team"
    goal = "Answers stick to the documents we retrieved"
    tags = ["rag", "python"]
    unit = "share of content words"
    higher_is_better = True
    config_schema = {
        "type": "object",
        "properties": {
            "min_share": {"type": "number", "minimum": 0, "maximum": 1},
            "min_words": {"type": "integer", "minimum": 1},
        },
    }

    def __init__(self, config):
        self.min_share = config.get("min_share", 0.6)
        self.min_words = config.get("min_words", 3)
        if not isinstance(self.min_share, (int, float)) or not 0 <= self.min_share <= 1:
            raise ConfigError("`min_share` must be a number between 0 and 1")
        if not isinstance(self.min_words, int) or self.min_words < 1:
            raise ConfigError("`min_words` must be a positive integer")

    def evaluate(self, sample: Sample) -> Outcome:
        if not sample.context:
            return Outcome.skip("no retrieved context")
        words = content_words(sample.output)
        if len(words) < self.min_words:
            return Outcome.skip(f"only {len(words)} content words in the answer")
        known = set()
        for passage in sample.context:
            known.update(content_words(passage))
        missing = [w for w in words if w not in known]
        share = 1 - len(missing) / len(words)
        reason = None
        if missing:
            shown = ", ".join(sorted(set(missing))[:5])
            reason = f"{len(missing)} of {len(words)} content words not in the context: {shown}"
        return Outcome.check(share >= self.min_share, value=round(share, 6), reason=reason)


Metric = exported(Groundedness)
