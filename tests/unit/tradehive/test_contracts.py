"""Typed contracts between roles: topic builders and parsers agree, event types are the msgspec tags, status
records round-trip through the JSON-able status() dict."""

from __future__ import annotations

import msgspec
import pytest
from marketcore.orders import OrderCancelled, OrderFilled, OrderRejected, SubmitOrder
from tradehive import protocol as p
from tradehive import records as r
from tradehive.errors import TradehiveError


@pytest.mark.parametrize("symbol", ["EURUSD", "BTCUSDT", "BRK.B"])
def test_topics_round_trip(symbol: str) -> None:
    assert p.parse_tick_topic(p.tick_topic(symbol)) == symbol
    for partial in (False, True):
        topic = p.bar_topic("5m", symbol, "mid", partial=partial)
        assert p.parse_bar_topic(topic) == p.BarTopic("5m", symbol, "mid", partial)
    assert p.parse_signal_topic(p.signal_topic("brain-regime", "regime")) == ("brain-regime", "regime")
    assert p.parse_exec_topic(p.exec_topic("trader")) == "trader"
    assert p.parse_pos_topic(p.pos_topic("trader")) == "trader"
    assert p.tick_topic(symbol).startswith(p.TICK_PREFIX)


@pytest.mark.parametrize(
    ("parse", "topic"),
    [(p.parse_tick_topic, "bar.1m.X.bid"), (p.parse_tick_topic, "tick."), (p.parse_bar_topic, "bar.1m.X"),
     (p.parse_bar_topic, "tick.X"), (p.parse_signal_topic, "signal.brain"), (p.parse_exec_topic, "pos.t")],
)  # fmt: skip
def test_bad_topics_are_protocol_errors(parse: object, topic: str) -> None:
    with pytest.raises(p.ProtocolError):
        parse(topic)  # type: ignore[operator]
    assert issubclass(p.ProtocolError, TradehiveError)


def test_event_types_are_the_msgspec_tags() -> None:
    assert p.tag_of(OrderFilled) == "order_filled"
    assert p.tag_of(OrderCancelled) == "order_cancelled"
    assert p.tag_of(SubmitOrder) == "submit_order"
    ev = OrderRejected("c-1", "EURUSD", "no quote", 11)
    assert p.event_type(ev) == "order_rejected" == msgspec.msgpack.decode(msgspec.msgpack.encode(ev))["msg"]
    assert p.tag_of(p.OrderAck) == "order_ack"


def test_status_records_round_trip_through_the_status_dict() -> None:
    router = r.RouterStatus(
        feeders=["feeder"], sequence_gaps=2, backfilled_ticks=10, rejected={"bad_price": 1},
        symbols={"EURUSD": r.SymbolSummary(kind="quote", sources=["bid"], ticks_held=5, bars={"1m": 3})},
    )  # fmt: skip
    extra = r.to_status(router)
    assert extra["symbols"]["EURUSD"]["bars"] == {"1m": 3} and extra["sequence_gaps"] == 2
    assert "name" not in extra  # agentcore's common fields are agentcore's
    full = {"name": "router", "role": "router", "pid": 1, "uptime_s": 1.0, "sockets": {}, **extra}
    back = r.read_status(full, r.RouterStatus)
    assert back.symbols["EURUSD"].ticks_held == 5 and back.name == "router"
    sim = r.to_status(r.FeederStatus(mode="simulator", published_ticks=3))
    assert "progress" not in sim  # absent, not null, as before
    with pytest.raises(r.StatusError):
        r.read_status({"published_ticks": "many"}, r.FeederStatus)
