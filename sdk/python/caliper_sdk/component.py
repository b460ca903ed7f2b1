"""The glue between a :class:`caliper_sdk.Metric` and the component
bindings that ``componentize-py`` generates from ``wit/metric.wit``.

Only importable while componentizing (it imports ``wit_world``). Use
:func:`export` in the module you build::

    Metric = export(MyMetric)
"""

from __future__ import annotations

import json

import wit_world
from componentize_py_types import Err, Ok
from wit_world.exports import metric as wit_metric
from wit_world.imports import types

from . import ConfigError, Message, MetricError, Outcome, Sample

_VERDICTS = {
    "pass": types.Verdict.PASS,
    "fail": types.Verdict.FAIL,
    "skip": types.Verdict.SKIP,
}


def _meta_value(v):
    if isinstance(v, types.MetaValue_Null):
        return None
    if isinstance(v, types.MetaValue_Json):
        return json.loads(v.value)
    return v.value


def _sample(s: types.Sample) -> Sample:
    return Sample(
        id=s.id,
        input=s.input,
        output=s.output,
        messages=[Message(m.role, m.content) for m in s.messages],
        context=list(s.context),
        expected=s.expected,
        metadata={k: _meta_value(v) for k, v in s.metadata},
    )


def _outcome(o: Outcome) -> types.Outcome:
    if not isinstance(o, Outcome):
        raise MetricError(f"evaluate returned {type(o).__name__}, not an Outcome")
    if o.verdict not in _VERDICTS:
        raise MetricError(f"unknown verdict {o.verdict!r} (use pass, fail or skip)")
    value = None if o.value is None else float(o.value)
    return types.Outcome(
        verdict=_VERDICTS[o.verdict],
        value=value,
        reason=o.reason,
        labels=[(str(k), str(v)) for k, v in o.labels.items()],
    )


def _error(e: BaseException) -> types.EvalError:
    if isinstance(e, MetricError):
        return types.EvalError(message=str(e))
    return types.EvalError(message=f"{type(e).__name__}: {e}")


def export(metric_cls):
    """The class ``componentize-py`` exports for ``metric_cls``."""

    class Evaluator(wit_metric.Evaluator):
        def __init__(self, metric):
            self.metric = metric

        def evaluate(self, sample):
            try:
                return _outcome(self.metric.evaluate(_sample(sample)))
            except Exception as e:  # every failure is an outcome
                raise Err(_error(e))

        def evaluate_batch(self, samples):
            try:
                outcomes = self.metric.evaluate_batch([_sample(s) for s in samples])
            except Exception:
                # One bad sample must not fail the others: score one by one.
                outcomes = None
            if outcomes is None or len(outcomes) != len(samples):
                results = []
                for s in samples:
                    try:
                        results.append(Ok(_outcome(self.metric.evaluate(_sample(s)))))
                    except Exception as e:
                        results.append(Err(_error(e)))
                return results
            results = []
            for o in outcomes:
                try:
                    results.append(Ok(_outcome(o)))
                except Exception as e:
                    results.append(Err(_error(e)))
            return results

    class Exported(wit_world.exports.Metric):
        def describe(self):
            m = metric_cls
            return types.Descriptor(
                name=m.name,
                version=m.version,
                description=m.description,
                owner=m.owner,
                goal=m.goal,
                tags=list(m.tags),
                value=types.ValueMeaning(unit=m.unit, higher_is_better=m.higher_is_better),
                config_schema=json.dumps(m.config_schema),
            )

        def configure(self, config):
            try:
                parsed = json.loads(config)
                if not isinstance(parsed, dict):
                    raise ConfigError("the config must be a JSON object")
                return Evaluator(metric_cls(parsed))
            except ConfigError as e:
                raise Err(types.ConfigError(message=str(e)))
            except Exception as e:
                raise Err(types.ConfigError(message=f"{type(e).__name__}: {e}"))

    return Exported


__all__ = ["export"]
