"""The role-metrics helper: families bound to the agent, cached series, preset series, one count read by both
Prometheus and status, and the TRADEHIVE_METRICS switch."""

from __future__ import annotations

from typing import Any

import pytest
from agentcore.metrics import AgentMetrics
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from tradehive.metrics import RoleMetrics


class FakeAgent:  # what RoleMetrics reads from an agent: its name and its AgentMetrics (real registry)
    def __init__(self, name: str = "router") -> None:
        self.name = name
        self.metrics = AgentMetrics(name, "router")


def sample(agent: Any, name: str, **labels: str) -> float | None:
    return agent.metrics.registry.get_sample_value(name, {"agent": agent.name, **labels})


def test_counter_counts_once_for_prometheus_and_status() -> None:
    agent = FakeAgent()
    m = RoleMetrics(agent)
    rej = m.counter("x_rejected_total", "Refused.", ["reason"], preset=["bad_price", "out_of_order"])
    assert sample(agent, "x_rejected_total", reason="bad_price") == 0  # preset: exists before the first event
    series = rej("bad_price")
    assert rej("bad_price") is series  # cached: no label lookup per call
    series.inc(3)
    rej("out_of_order").inc()
    assert sample(agent, "x_rejected_total", reason="bad_price") == 3
    assert rej.as_dict() == {"bad_price": 3, "out_of_order": 1}  # status reads the same count
    assert rej.total() == 4
    with pytest.raises(ValueError, match="labels"):
        rej("a", "b")


def test_families_keep_their_types_and_gauges_set() -> None:
    agent = FakeAgent()
    m = RoleMetrics(agent)
    m.gauge("x_rows", "Rows.", ["symbol", "buffer"])("EURUSD", "ticks").set(4)
    m.gauge("x_kill_switch", "Halted.").preset(())
    h = m.histogram("x_seconds", "Time.", ["hop"], buckets=(1e-3, 1e-2))
    h("a").observe(5e-3)
    h("a").observe(1e-3)  # an upper bound belongs to its bucket (le)
    assert sample(agent, "x_rows", symbol="EURUSD", buffer="ticks") == 4
    assert sample(agent, "x_kill_switch") == 0
    assert sample(agent, "x_seconds_count", hop="a") == 2
    assert sample(agent, "x_seconds_bucket", hop="a", le="0.001") == 1
    text = generate_latest(agent.metrics.registry).decode()
    types = {f.name: f.type for f in text_string_to_metric_families(text)}
    assert types["x_rows"] == "gauge" and types["x_seconds"] == "histogram"


def test_switch_off_exports_no_samples_but_status_still_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEHIVE_METRICS", "off")
    agent = FakeAgent()
    m = RoleMetrics(agent)
    c = m.counter("x_in_total", "In.", ["symbol"], preset=["EURUSD"])
    c("EURUSD").inc(2)
    h = m.histogram("x_seconds", "Time.")
    h().observe(1.0)
    assert sample(agent, "x_in_total", symbol="EURUSD") is None
    assert sample(agent, "x_seconds_count") is None
    assert c.as_dict() == {"EURUSD": 2}
    text = generate_latest(agent.metrics.registry).decode()
    assert "# TYPE x_in_total counter" in text  # the family stays registered
