"""Role metrics in a few lines per service, counted once.

A role declares its families on a :class:`RoleMetrics` bound to its agent::

    m = RoleMetrics(agent)
    rejected = m.counter("tradehive_router_rejected_ticks_total", "Inputs refused.", ["reason"],
                         preset=REJECT_REASONS)
    rejected("bad_price").inc(3)       # a cached series: no label lookup, no lock
    rejected.as_dict()                 # {"bad_price": 3, ...}: what status() reports, from the same count

Every series is a plain number kept in the agent's loop; a collector turns the families into Prometheus
samples when ``/metrics`` is scraped (the same scheme as agentcore's fabric counters). The service keeps no
second dict beside it: status reads the family. ``agent`` is always the first label, filled in here.

``TRADEHIVE_METRICS=off`` (see :mod:`tradehive.instrument`) makes histograms no-ops and exports families with
no samples (the families stay registered, ``/metrics`` keeps its shape); counters and gauges still count, since
``status()`` reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final, Protocol

from agentcore.metrics import MICRO_BUCKETS, FastHistogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from tradehive.instrument import metrics_enabled

COUNTER: Final = "counter"
GAUGE: Final = "gauge"


class _HasMetrics(Protocol):
    """What :class:`RoleMetrics` needs from an agent: its name and its metric registry holder."""

    name: str

    @property
    def metrics(self) -> Any: ...


class Series:
    """One labelled series of a counter or gauge: a number the loop updates in place."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: float = 0

    def inc(self, amount: float = 1) -> None:
        self.value += amount

    def dec(self, amount: float = 1) -> None:
        self.value -= amount

    def set(self, value: float) -> None:
        self.value = value


class _NullHistogram:
    __slots__ = ()

    def observe(self, _seconds: float) -> None:
        return None


_NULL_HIST: Final = _NullHistogram()


class Family:
    """A counter or gauge family bound to one agent; ``family(*label_values)`` is the cached series."""

    def __init__(
        self, name: str, doc: str, labels: Sequence[str], kind: str, agent: str, export: bool
    ) -> None:
        self.name, self.doc, self.labels, self.kind = name, doc, tuple(labels), kind
        self._agent, self._export = agent, export
        self._series: dict[tuple[str, ...], Series] = {}

    def __call__(self, *values: str) -> Series:
        try:
            return self._series[values]
        except KeyError:
            if len(values) != len(self.labels):
                raise ValueError(f"{self.name}: labels {self.labels}, got values {values}") from None
            series = self._series[values] = Series()
            return series

    def preset(self, *label_values: str | tuple[str, ...]) -> Family:
        """Create series at 0 now (bounded label sets: queries and alerts see them before the first event)."""
        for v in label_values:
            self(*(v if isinstance(v, tuple) else (v,)))
        return self

    def items(self) -> list[tuple[tuple[str, ...], float]]:
        return [(k, s.value) for k, s in list(self._series.items())]

    def as_dict(self) -> dict[str, float]:
        """``{label value: value}`` of a one-label family (for status)."""
        if len(self.labels) != 1:
            raise ValueError(f"{self.name} has labels {self.labels}: use items()")
        return {k[0]: v for k, v in self.items()}

    def total(self) -> float:
        return sum(v for _k, v in self.items())

    def collect(self) -> Iterator[Any]:
        cls = CounterMetricFamily if self.kind == COUNTER else GaugeMetricFamily
        fam = cls(self.name, self.doc, labels=["agent", *self.labels])
        if self._export:
            for key, value in self.items():
                fam.add_metric([self._agent, *key], value)
        yield fam


class HistogramFamily:
    """A histogram family bound to one agent; ``family(*label_values)`` is the cached series (``observe``)."""

    def __init__(
        self, name: str, doc: str, labels: Sequence[str], buckets: Sequence[float], agent: str, on: bool
    ) -> None:
        self.name, self.doc, self.labels, self.buckets = name, doc, tuple(labels), tuple(buckets)
        self._agent, self._on = agent, on
        self._series: dict[tuple[str, ...], FastHistogram] = {}

    def __call__(self, *values: str) -> FastHistogram | _NullHistogram:
        if not self._on:
            return _NULL_HIST
        try:
            return self._series[values]
        except KeyError:
            if len(values) != len(self.labels):
                raise ValueError(f"{self.name}: labels {self.labels}, got values {values}") from None
            series = self._series[values] = FastHistogram(self.buckets)
            return series

    def collect(self) -> Iterator[Any]:
        fam = HistogramMetricFamily(self.name, self.doc, labels=["agent", *self.labels])
        for key, h in list(self._series.items()):
            fam.add_metric([self._agent, *key], h.buckets(), h.total)
        yield fam


class _FamilyCollector(Collector):
    def __init__(self, family: Family | HistogramFamily) -> None:
        self._family = family

    def collect(self) -> Iterator[Any]:
        return self._family.collect()


class RoleMetrics:
    """The metric families of one role, bound to its agent (name as the ``agent`` label, its registry)."""

    def __init__(self, agent: _HasMetrics) -> None:
        self.agent = agent.name
        self.registry: CollectorRegistry = agent.metrics.registry
        self.enabled = metrics_enabled()

    def _register(self, family: Family | HistogramFamily) -> None:
        self.registry.register(_FamilyCollector(family))

    def counter(self, name: str, doc: str, labels: Sequence[str] = (), preset: Iterable[Any] = ()) -> Family:
        fam = Family(name, doc, labels, COUNTER, self.agent, self.enabled)
        fam.preset(*preset)
        self._register(fam)
        return fam

    def gauge(self, name: str, doc: str, labels: Sequence[str] = (), preset: Iterable[Any] = ()) -> Family:
        fam = Family(name, doc, labels, GAUGE, self.agent, self.enabled)
        fam.preset(*preset)
        self._register(fam)
        return fam

    def histogram(
        self, name: str, doc: str, labels: Sequence[str] = (), buckets: Sequence[float] = MICRO_BUCKETS
    ) -> HistogramFamily:
        fam = HistogramFamily(name, doc, labels, buckets, self.agent, self.enabled)
        self._register(fam)
        return fam


__all__ = ["Family", "HistogramFamily", "RoleMetrics", "Series"]
