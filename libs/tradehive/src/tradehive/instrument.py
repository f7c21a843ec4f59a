"""Role metrics that can be switched off: ``TRADEHIVE_METRICS=off`` turns every role's observe/inc/set into a
no-op (the families stay registered, so ``/metrics`` keeps its shape with no samples). Used to measure what
the instrumentation costs (``bench/metrics_overhead.py``); the agentcore built-in counters are not affected.
"""

from __future__ import annotations

import os
from typing import Any, Final, TypeVar

ENV_SWITCH: Final = "TRADEHIVE_METRICS"
_OFF: Final = frozenset({"0", "off", "false", "no"})

M = TypeVar("M")


def metrics_enabled() -> bool:
    """False when ``TRADEHIVE_METRICS`` is ``off`` (or 0/false/no); read when an agent defines its metrics."""
    return os.environ.get(ENV_SWITCH, "on").strip().lower() not in _OFF


class NullMetric:
    """Stands in for a prometheus-client metric (and its labelled children): every call does nothing."""

    __slots__ = ()

    def labels(self, *_args: Any, **_kwargs: Any) -> NullMetric:
        return self

    def inc(self, _amount: float = 1.0) -> None:
        return None

    def dec(self, _amount: float = 1.0) -> None:
        return None

    def set(self, _value: float) -> None:
        return None

    def observe(self, _value: float) -> None:
        return None


NULL: Final = NullMetric()


class Children:
    """Labelled children of one metric family, cached per label values (prometheus-client's ``labels()``
    validates and locks on every call: ~10 µs, more than a whole hop on the hot path). ``agent`` comes first."""

    __slots__ = ("_agent", "_cache", "_metric")

    def __init__(self, metric: Any, agent: str) -> None:
        self._metric = metric
        self._agent = agent
        self._cache: dict[tuple[str, ...], Any] = {}

    def __call__(self, *values: str) -> Any:
        try:
            return self._cache[values]
        except KeyError:
            child = self._cache[values] = self._metric.labels(self._agent, *values)
            return child


def instrument(metric: M) -> M:
    """``metric`` itself, or :data:`NULL` when role metrics are switched off."""
    return metric if metrics_enabled() else NULL  # type: ignore[return-value]


__all__ = ["ENV_SWITCH", "NULL", "Children", "NullMetric", "instrument", "metrics_enabled"]
