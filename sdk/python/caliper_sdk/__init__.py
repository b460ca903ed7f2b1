"""Caliper SDK for Python: write a micro metric as a class.

A metric subclasses :class:`Metric`: class attributes describe it, the
constructor takes the configuration (a ``dict``; raise :class:`ConfigError`
to refuse it), and :meth:`Metric.evaluate` scores one :class:`Sample` and
returns an :class:`Outcome`. Raising :class:`MetricError` (or any other
exception) from ``evaluate`` becomes the ``error`` outcome, with the message.

The module is plain Python (it does not import the component bindings), so a
metric can be unit-tested with ``pytest`` like any class. To ship it::

    # app.py
    from caliper_sdk import Metric, Outcome, exported

    class MaxWords(Metric):
        name = "max-words"
        ...

    Metric = exported(MaxWords)   # what the component exports

    $ python -m caliper_sdk.build app.py -o max_words.wasm

The names match the Rust SDK: Metric, Sample, Message, Outcome
(pass / fail / skip / check), ConfigError, MetricError.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

__all__ = [
    "ConfigError",
    "Message",
    "Metric",
    "MetricError",
    "Outcome",
    "Sample",
    "exported",
]


class ConfigError(Exception):
    """The configuration cannot be used; reported when the metric is loaded."""


class MetricError(Exception):
    """The metric could not score a sample (the ``error`` outcome)."""


@dataclass
class Message:
    """One turn of the conversation before the output."""

    role: str
    content: str


@dataclass
class Sample:
    """One recorded LLM interaction."""

    id: str = ""
    input: str = ""
    output: str = ""
    messages: List[Message] = field(default_factory=list)
    context: List[str] = field(default_factory=list)
    expected: Optional[str] = None
    metadata: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    """What a metric says about a sample.

    ``verdict`` is ``"pass"``, ``"fail"`` or ``"skip"`` (not applicable);
    ``value`` is an optional finite number; ``labels`` are short strings.
    """

    verdict: str
    value: Optional[float] = None
    reason: Optional[str] = None
    labels: Dict[str, str] = field(default_factory=dict)

    @classmethod
    def passed(cls, value: Optional[float] = None, reason: Optional[str] = None) -> "Outcome":
        """A pass (``pass`` is a Python keyword, hence the name)."""
        return cls("pass", value, reason)

    @classmethod
    def fail(cls, value: Optional[float] = None, reason: Optional[str] = None) -> "Outcome":
        """A fail."""
        return cls("fail", value, reason)

    @classmethod
    def skip(cls, reason: Optional[str] = None) -> "Outcome":
        """Not applicable to this sample (left out of every rate)."""
        return cls("skip", None, reason)

    @classmethod
    def check(cls, ok: bool, value: Optional[float] = None, reason: Optional[str] = None) -> "Outcome":
        """Pass when ``ok``, else fail (the reason is kept either way)."""
        return cls("pass" if ok else "fail", value, reason)

    def with_label(self, key: str, value: str) -> "Outcome":
        """The outcome with one more label."""
        self.labels[key] = value
        return self


class Metric:
    """Base class of a metric. Override the class attributes, ``__init__``
    (to read the config) and :meth:`evaluate`."""

    name: str = "unnamed"
    version: str = "0.1.0"
    description: str = ""
    owner: str = ""
    goal: str = ""
    tags: List[str] = []
    unit: str = ""
    higher_is_better: bool = True
    #: JSON Schema of the configuration.
    config_schema: Dict[str, Any] = {"type": "object"}

    def __init__(self, config: Dict[str, Any]):
        self.config = config

    def evaluate(self, sample: Sample) -> Outcome:  # pragma: no cover - abstract
        raise NotImplementedError("a metric must implement evaluate(sample)")

    def evaluate_batch(self, samples: List[Sample]) -> List[Outcome]:
        """Scores several samples; override to share work across them."""
        return [self.evaluate(s) for s in samples]


def exported(metric_cls):
    """The class to bind to ``Metric`` in the module you build
    (``Metric = exported(MyMetric)``): the component's export, made by
    :func:`caliper_sdk.component.export`. Outside a build (plain Python, e.g.
    unit tests) the component bindings do not exist, and ``metric_cls`` is
    returned unchanged."""
    try:
        from .component import export
    except ImportError:
        return metric_cls
    return export(metric_cls)
