"""competitor-mention: fails when an answer names a competitor.

Config: {"competitors": ["Acme Bank", "Globex"], "case_sensitive": false}.
The value is the number of competitor names found; the labels list them.
"""

from caliper_sdk import ConfigError, Metric, Outcome, Sample, exported


class CompetitorMention(Metric):
    name = "competitor-mention"
    version = "0.1.0"
    description = "Fails when the answer names a competitor"
    owner = "brand-team"
    goal = "Never recommend or advertise a competitor"
    tags = ["brand", "python"]
    unit = "mentions"
    higher_is_better = False
    config_schema = {
        "type": "object",
        "properties": {
            "competitors": {"type": "array", "items": {"type": "string"}},
            "case_sensitive": {"type": "boolean"},
        },
        "required": ["competitors"],
    }

    def __init__(self, config):
        names = config.get("competitors")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            raise ConfigError("`competitors` must be a non-empty list of names")
        self.case_sensitive = bool(config.get("case_sensitive", False))
        self.names = names

    def evaluate(self, sample: Sample) -> Outcome:
        text = sample.output if self.case_sensitive else sample.output.lower()
        found = [n for n in self.names if (n if self.case_sensitive else n.lower()) in text]
        outcome = Outcome.check(
            not found,
            value=len(found),
            reason=f"mentions {', '.join(found)}" if found else None,
        )
        if found:
            outcome.with_label("competitors", ",".join(found))
        return outcome


Metric = exported(CompetitorMention)
