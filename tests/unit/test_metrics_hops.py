"""Each hop records exactly the latency injected: role handlers called offline (no sockets) with Messages
built with known stamps and a patched clock; the origin stamp travels feeder -> router -> brain -> trader."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from agentcore import Agent, Message, RequestTimeout
from marketcore.orders import OrderSide, SubmitOrder
from marketcore.orders import encode as encode_order
from marketcore.schema import TICK_DTYPE
from tradehive import protocol as p
from tradehive.latency import HOP_METRIC, Hop

T = 1_800_000_000_000_000_000  # the patched "now" (ns)
MINUTE = 60_000_000_000


class Sent(list[dict[str, Any]]):
    def on(self, alias: str) -> list[dict[str, Any]]:
        return [s for s in self if s["alias"] == alias]


def offline(agent: Agent) -> Sent:
    """Replace everything that touches the network on this instance; returns the list of recorded sends."""
    sent = Sent()

    def send(alias: str, data: Any, topic: str = "", type_: str = "", origin_ns: int = 0) -> bool:
        sent.append({"alias": alias, "data": data, "topic": topic, "type": type_, "origin_ns": origin_ns})
        return True

    a: Any = agent
    a.send = send
    a.bind = lambda *args, **kw: "inproc://offline"
    a.connect = lambda address, handler=None, alias=None, **kw: alias or address
    a.every = lambda *args, **kw: 0
    a.after = lambda *args, **kw: 0
    a.discover = lambda role: {}

    def request(alias: str, data: Any, timeout: float = 2.0, type_: str = "") -> Any:
        raise RequestTimeout(f"offline: no reply from {alias}")

    a.request = request
    return sent


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(time, "time_ns", lambda: T)
    yield


def hop(agent: Agent, name: Hop, what: str = "sum") -> float | None:
    return agent.metrics.registry.get_sample_value(f"{HOP_METRIC}_{what}", {"agent": agent.name, "hop": name})


def ticks(ts: list[int], bid: float = 1.1) -> np.ndarray:
    out = np.zeros(len(ts), dtype=TICK_DTYPE)
    out["ts"] = ts
    out["bid"], out["ask"] = bid, bid + 0.0001
    out["last"], out["volume"] = np.nan, 0.0
    return out


def msg(topic: str, data: Any, *, sent_ns: int, origin_ns: int, seq: int = 1, type_: str = "") -> Message:
    kind = "n" if isinstance(data, np.ndarray) else "m"
    return Message(topic, kind, type_, "upstream", seq, sent_ns, data, 0, origin_ns)


@pytest.mark.timeout(30)
def test_feeder_stamps_origin_and_observes_venue_to_feeder(clock: None) -> None:
    from tradehive_feeder.agent import FeederAgent, FeederConfig

    feeder = FeederAgent("feeder", config=FeederConfig(symbols=["EURUSD"]))
    sent = offline(feeder)
    feeder.on_init()
    assert feeder.mode == "simulator"
    feeder._publish_runs([("EURUSD", ticks([T - 900_000, T - 300_000]))])
    assert [(s["topic"], s["origin_ns"]) for s in sent.on(p.FEEDER_TICKS)] == [("tick.EURUSD", T)]
    assert hop(feeder, Hop.VENUE_TO_FEEDER) == pytest.approx(300e-6)  # from the batch's newest tick
    assert hop(feeder, Hop.VENUE_TO_FEEDER, "count") == 1
    feeder.mode = "replay"  # replayed data carry historic stamps: never a latency
    feeder._publish_runs([("EURUSD", ticks([1, 2]))])
    assert hop(feeder, Hop.VENUE_TO_FEEDER, "count") == 1 and sent[-1]["origin_ns"] == T


@pytest.mark.timeout(30)
def test_router_observes_feeder_to_router_and_forwards_origin_on_ticks_and_bars(clock: None) -> None:
    from tradehive_router.agent import RouterAgent, RouterConfig

    router = RouterAgent("router", config=RouterConfig(timeframes=["1m"], prices=["bid"], feeders=["feeder"]))
    sent = offline(router)
    router.on_init()
    origin = T - 500_000
    first = ticks([10 * MINUTE + 1, 10 * MINUTE + 2])
    second = ticks([11 * MINUTE + 5])  # closes the 10th minute's bar
    router.on_ticks([msg("tick.EURUSD", first, sent_ns=T - 120_000, origin_ns=origin - 7, seq=1)])
    router.on_ticks([msg("tick.EURUSD", second, sent_ns=T - 80_000, origin_ns=origin, seq=2)])
    assert hop(router, Hop.FEEDER_TO_ROUTER) == pytest.approx(200e-6)
    assert hop(router, Hop.FEEDER_TO_ROUTER, "count") == 2
    out = sent.on(p.ROUTER_MARKET)
    closed = [s for s in out if s["type"] == p.TYPE_BAR]
    assert [s["topic"] for s in closed] == ["bar.1m.EURUSD.bid"]
    assert closed[0]["origin_ns"] == origin  # the bar closed by the second batch carries its origin
    tick_out = [s["origin_ns"] for s in out if s["topic"] == "tick.EURUSD"]
    assert tick_out == [origin - 7, origin]
    assert all(s["origin_ns"] for s in out)  # partial bars too


@pytest.mark.timeout(30)
def test_brain_observes_router_to_brain_and_puts_the_data_origin_on_its_order(clock: None) -> None:
    from tradehive_brain.agent import BrainAgent, BrainConfig

    brain = BrainAgent("brain", config=BrainConfig(strategy="tick_echo", symbols=["EURUSD"]))
    sent = offline(brain)
    brain.on_init()
    origin = T - 700_000
    brain.on_tick_msg(msg("tick.EURUSD", ticks([T - 1_000_000]), sent_ns=T - 80_000, origin_ns=origin))
    assert hop(brain, Hop.ROUTER_TO_BRAIN) == pytest.approx(80e-6)
    orders = sent.on("orders")
    assert len(orders) == 1 and orders[0]["origin_ns"] == origin


@pytest.mark.timeout(30)
def test_trader_observes_brain_to_trader_tick_to_order_and_venue(clock: None) -> None:
    from tradehive_trader.agent import TraderAgent

    trader = TraderAgent("trader")
    sent = offline(trader)
    trader.on_init()
    trader.on_ticks([msg("tick.EURUSD", ticks([T - 2_000_000]), sent_ns=T - 30_000, origin_ns=T - 60_000)])
    assert hop(trader, Hop.ROUTER_TO_TRADER) == pytest.approx(30e-6)
    cmd = SubmitOrder(
        client_order_id="b-1", symbol="EURUSD", side=OrderSide.BUY, qty=1000.0, ts_ns=T - 40_000
    )
    origin = T - 900_000
    ack = trader.on_intent(
        msg("", encode_order(cmd), sent_ns=T - 10_000, origin_ns=origin, type_=p.TYPE_ORDER)
    )
    assert isinstance(p.decode(ack), p.OrderAck) and p.decode(ack).accepted
    assert hop(trader, Hop.BRAIN_TO_TRADER) == pytest.approx(40e-6)  # decision time -> trader
    assert hop(trader, Hop.TICK_TO_ORDER) == pytest.approx(900e-6)  # origin -> trader
    assert hop(trader, Hop.TRADER_TO_VENUE, "count") == 1
    events = sent.on(p.TRADER_EVENTS)
    assert events and all(e["origin_ns"] == origin for e in events)  # the order's events carry its origin
    resend = msg("", encode_order(cmd), sent_ns=T, origin_ns=0, type_=p.TYPE_ORDER)  # a re-send: no origin
    trader.on_intent(resend)
    assert hop(trader, Hop.TICK_TO_ORDER, "count") == 1 and hop(trader, Hop.BRAIN_TO_TRADER, "count") == 2


@pytest.mark.timeout(30)
def test_switch_off_makes_role_metrics_no_ops(clock: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from tradehive_router.agent import RouterAgent, RouterConfig

    monkeypatch.setenv("TRADEHIVE_METRICS", "off")
    router = RouterAgent("router", config=RouterConfig(timeframes=["1m"], prices=["bid"]))
    sent = offline(router)
    router.on_init()
    router.on_ticks([msg("tick.EURUSD", ticks([MINUTE]), sent_ns=T - 120_000, origin_ns=T - 1)])
    assert hop(router, Hop.FEEDER_TO_ROUTER, "count") is None
    reg = router.metrics.registry
    assert (
        reg.get_sample_value("tradehive_router_ticks_in_total", {"agent": "router", "symbol": "EURUSD"})
        is None
    )
    assert sent.on(p.ROUTER_MARKET)[0]["origin_ns"] == T - 1  # the stamp still travels
