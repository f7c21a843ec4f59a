"""Timers, the cross-thread control channel, topic-prefix handler selection, metrics and naming helpers."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import zmq
from agentcore import naming
from agentcore.errors import ResolveError
from agentcore.loop import ControlChannel, Timers
from agentcore.metrics import AgentMetrics, FastHistogram
from agentcore.sockets import TopicHandlers

pytestmark = pytest.mark.timeout(30)


def test_one_shot_fires_once_in_order() -> None:
    t = Timers()
    fired: list[str] = []
    t.add(0.02, lambda: fired.append("late"))
    t.add(0.0, lambda: fired.append("now"))
    due = t.due()
    assert [fn() or tid for tid, fn, _late in due] == [2]
    time.sleep(0.03)
    for _tid, fn, late in t.due():
        fn()
        assert late >= 0
    assert fired == ["now", "late"]
    assert t.due() == [] and t.timeout_ms(100) == 100  # nothing left: the cap


def test_periodic_rearms_without_burst_and_cancel() -> None:
    t = Timers()
    n = []
    tid = t.add(0.0, lambda: n.append(1), interval=0.01)
    assert len(t.due()) == 1
    assert 0 <= t.timeout_ms(1000) <= 10
    time.sleep(0.05)  # five intervals late: one call, not five
    assert len(t.due()) == 1
    assert t.due() == []
    assert t.cancel(tid) is True and t.cancel(tid) is False
    time.sleep(0.02)
    assert t.due() == [] and t.timeout_ms(50) == 50  # cancelled entries are skipped


def test_timeout_ms_rounds_up_and_caps() -> None:
    t = Timers()
    t.add(0.5, lambda: None)
    assert 400 <= t.timeout_ms(1000) <= 500
    assert t.timeout_ms(100) == 100


@pytest.mark.parametrize(("delay", "interval"), [(-1.0, None), (0.0, 0.0), (0.0, -1.0)])
def test_bad_timer_arguments(delay: float, interval: float | None) -> None:
    with pytest.raises(ValueError):
        Timers().add(delay, lambda: None, interval=interval)


def test_control_channel_runs_calls_in_the_draining_thread() -> None:
    ctx = zmq.Context()
    ch = ControlChannel(ctx, "unit")
    try:
        loop_ident = threading.get_ident()
        seen: list[int] = []
        futures: list[Any] = []

        def worker() -> None:
            for i in range(200):
                futures.append(ch.submit(lambda i=i: seen.append(threading.get_ident()) or i * 2))

        threads = [threading.Thread(target=worker) for _ in range(3)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        errors: list[BaseException] = []
        poller = zmq.Poller()
        poller.register(ch.socket, zmq.POLLIN)
        assert poller.poll(5000)  # the wake-up arrived
        assert ch.run_pending(errors.append) == 600
        assert set(seen) == {loop_ident} and len(seen) == 600
        assert sorted(f.result(0) for f in futures) == sorted(i * 2 for i in range(200) for _ in range(3))
        bad = ch.submit(lambda: 1 / 0)
        ch.run_pending(errors.append)
        with pytest.raises(ZeroDivisionError):
            bad.result(0)
        assert len(errors) == 1
        pending = ch.submit(lambda: 1)
        ch.fail_pending(RuntimeError("stopped"))
        with pytest.raises(RuntimeError, match="stopped"):
            pending.result(0)
    finally:
        ch.close()
        ctx.term()


def test_topic_handlers_longest_prefix() -> None:
    def h(name: str) -> Any:
        return lambda msg: name

    th = TopicHandlers(
        {"": h("all"), "t": h("t"), "tick": h("tick"), "tick.eur": h("eur"), "tick.eurusd": h("eu")}
    )
    assert th.prefixes == ["tick.eurusd", "tick.eur", "tick", "t", ""]
    cases = {"tick.eurusd": "eu", "tick.eurgbp": "eur", "tick.gbp": "tick", "tick": "tick", "trade": "t",
             "x": "all", "": "all", "tic": "t"}  # fmt: skip
    for _ in range(2):  # the second round is served from the cache: same answers
        for topic, want in cases.items():
            handler = th.get(topic)
            assert handler is not None and handler(None) == want, topic
    only = TopicHandlers({"bar": h("bar")})
    assert only.get("tick") is None and only.get("bar.1m")(None) == "bar"  # type: ignore[misc]


def test_fast_histogram() -> None:
    hist = FastHistogram((1e-6, 1e-3, 1.0))
    assert hist.quantile(0.5) != hist.quantile(0.5)  # NaN when empty
    for v in (5e-7, 1e-6, 5e-4, 0.5, 2.0):
        hist.observe(v)
    assert hist.buckets() == [("1e-06", 2), ("0.001", 3), ("1.0", 4), ("+Inf", 5)]
    assert hist.total == pytest.approx(5e-7 + 1e-6 + 5e-4 + 0.5 + 2.0)
    assert hist.quantile(0.4) == 1e-6 and hist.quantile(0.8) == 1.0 and hist.quantile(1.0) == float("inf")


def test_agent_metrics_exported() -> None:
    from prometheus_client import generate_latest

    m = AgentMetrics("a1", "r")
    s = m.socket("in", "PULL")
    assert m.socket("in", "PULL") is s
    s.received, s.gaps = 3, 2
    s.malformed["version"] = 4
    c = m.counter("my_things", "things", ["kind"])
    c.labels("a1", "x").inc(2)
    text = generate_latest(m.registry).decode()
    assert 'agentcore_messages_received_total{agent="a1",alias="in",pattern="PULL",role="r"} 3.0' in text
    assert 'agentcore_sequence_gaps_total{agent="a1",alias="in",pattern="PULL",role="r"} 2.0' in text
    assert 'agentcore_malformed_messages_total{agent="a1",alias="in",reason="version",role="r"} 4.0' in text
    assert 'my_things_total{agent="a1",kind="x"} 2.0' in text
    assert s.as_dict()["malformed"] == {"version": 4}


def test_naming_helpers() -> None:
    tags = {
        "agentcore",
        "role:feeder",
        "ep:out=PUB@tcp://10.0.0.1:5000",
        "ep:a.b=PULL@ipc:///tmp/x",
        "ep:bad",
    }
    assert naming.parse_endpoint_tags(tags) == {
        "out": ("PUB", "tcp://10.0.0.1:5000"),
        "a.b": ("PULL", "ipc:///tmp/x"),
    }
    assert naming.endpoint_tag("out", "PUB", "tcp://h:1") == "ep:out=PUB@tcp://h:1"
    assert naming.tag_value(tags, "role:") == "feeder" and naming.tag_value(tags, "nope:") is None
    assert naming.split_address("router.market.eur") == ("router", "market.eur")
    with pytest.raises(ResolveError):
        naming.split_address("router")
    assert naming.advertised_host("0.0.0.0", "pub.example", "127.0.0.1") == "pub.example"
    assert naming.advertised_host("10.1.2.3", "", "127.0.0.1") == "10.1.2.3"
    assert (
        naming.advertised_host("0.0.0.0", "", "127.0.0.1") == "127.0.0.1"
    )  # the route towards the name server
