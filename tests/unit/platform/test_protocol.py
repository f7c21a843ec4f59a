"""The records roles exchange: round trips, strict decoding, versioning."""

from __future__ import annotations

import msgspec
import pytest
from tradehive import protocol as p


@pytest.mark.parametrize(
    "rec",
    [
        p.TickHistoryRequest(symbol="EURUSD", start_ns=1, end_ns=2, limit=5),
        p.BarHistoryRequest(symbol="EURUSD", timeframe="5m", price="ask", last_n=3),
        p.Signal(brain="b", name="regime", symbol="EURUSD", value=1.0, ts_ns=3, data={"ratio": 2.0}),
        p.OrderAck(client_order_id="x-1", accepted=False, reason="halted", rule="kill_switch"),
        p.ErrorReply(reason="unknown symbol"),
    ],
)
def test_round_trip(rec: p.Record) -> None:
    assert p.decode(p.encode(rec)) == rec


def test_garbage_and_wrong_version_are_protocol_errors() -> None:
    with pytest.raises(p.ProtocolError):
        p.decode(b"\xc1garbage")
    future = msgspec.msgpack.encode({"v": 99, "r": {"type": "error", "reason": "x"}})
    with pytest.raises(p.ProtocolError):
        p.decode(future)
    unknown_field = msgspec.msgpack.encode({"v": 1, "r": {"type": "error", "reason": "x", "extra": 1}})
    with pytest.raises(p.ProtocolError):
        p.decode(unknown_field)


def test_topics() -> None:
    assert p.tick_topic("EURUSD") == "tick.EURUSD"
    assert p.bar_topic("1m", "EURUSD", "bid") == "bar.1m.EURUSD.bid"
    assert p.bar_topic("1m", "EURUSD", "bid", partial=True) == "bar.1m.EURUSD.bid.partial"
    assert p.signal_topic("brain-regime", "regime") == "signal.brain-regime.regime"
