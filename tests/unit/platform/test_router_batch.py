"""The router's natural batching: a drained batch of one-tick messages is one engine call per symbol. What it
publishes for the batch (ticks, closed bars, the watermark) equals what message-by-message handling builds, in
fewer messages; the batch's origin stamp is its oldest message's."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import zmq
from agentcore import Message
from agentcore.sockets import is_batch_handler
from marketcore.schema import TICK_DTYPE
from tradehive import protocol as p
from tradehive.routing.runs import TickRuns, join
from tradehive_router.agent import RouterAgent, RouterConfig

MINUTE = 60_000_000_000


def ticks(ts: list[int], bid: float = 1.1) -> np.ndarray:
    out = np.zeros(len(ts), dtype=TICK_DTYPE)
    out["ts"] = ts
    out["bid"] = bid + np.arange(len(ts)) * 1e-5
    out["ask"] = out["bid"] + 2e-5
    out["last"] = np.nan
    return out


def router() -> tuple[RouterAgent, list[dict[str, Any]]]:
    cfg = RouterConfig(timeframes=["1m"], prices=["bid"], watermarks=True, publish_partial=False,
                       discover_interval=3600)  # fmt: skip
    agent = RouterAgent("router", config=cfg)
    agent.ctx = zmq.Context()
    agent.on_init()  # no name server: discovery logs a warning, the agent still works
    sent: list[dict[str, Any]] = []

    def send(alias: str, data: Any, topic: str = "", type_: str = "", origin_ns: int = 0) -> bool:
        sent.append({"data": data, "topic": topic, "type": type_, "origin_ns": origin_ns})
        return True

    agent.send = send  # type: ignore[method-assign]
    return agent, sent


def stream() -> list[Message]:
    """Two symbols interleaved, one tick per message, crossing a minute (bars close inside the batch)."""
    out = []
    for i in range(40):
        symbol = "EURUSD" if i % 2 == 0 else "NZDUSD"
        data = ticks([MINUTE * (1 + i // 10) + i])
        out.append(Message(p.tick_topic(symbol), "n", p.TYPE_TICKS, "feeder", i // 2 + 1, 0, data, data.nbytes,
                           1_000 + i))  # fmt: skip
    return out


def test_on_ticks_is_a_batch_handler() -> None:
    assert is_batch_handler(RouterAgent.on_ticks)


@pytest.mark.timeout(60)
def test_a_batch_publishes_once_per_symbol_what_single_messages_publish() -> None:
    one, one_sent = router()
    batched, batch_sent = router()
    try:
        msgs = stream()
        for m in msgs:
            one.on_ticks([m])
        batched.on_ticks(msgs)
        for symbol in ("EURUSD", "NZDUSD"):
            a, b = one.engine.books[symbol], batched.engine.books[symbol]
            assert a.tick_buf.view.tobytes() == b.tick_buf.view.tobytes()  # NaN 'last' compares by bytes
            assert a.bar_bufs[("1m", "bid")].view.tobytes() == b.bar_bufs[("1m", "bid")].view.tobytes()
            assert b.bar_bufs[("1m", "bid")].view.size == 3  # closed inside the batch
            tick_msgs = [s for s in batch_sent if s["topic"] == p.tick_topic(symbol)]
            assert len(tick_msgs) == 1 and tick_msgs[0]["data"].size == 20
            first_origin = 1_000 if symbol == "EURUSD" else 1_001
            assert tick_msgs[0]["origin_ns"] == first_origin  # the oldest tick's stamp
            wms = [s for s in batch_sent if s["topic"] == p.wm_topic(symbol)]
            assert [w["data"] for w in wms] == [int(b.last_ts)]  # one watermark per batch, the newest tick
            order = [s["topic"] for s in batch_sent]
            assert order.index(p.wm_topic(symbol)) > order.index(p.tick_topic(symbol))  # after its ticks
            bars_one = [s["data"] for s in one_sent if s["type"] == p.TYPE_BAR and symbol in s["topic"]]
            bars_batch = [s["data"] for s in batch_sent if s["type"] == p.TYPE_BAR and symbol in s["topic"]]
            assert np.concatenate(bars_one).tobytes() == np.concatenate(bars_batch).tobytes()
        assert len(batch_sent) < len(one_sent) / 5
    finally:
        one.ctx.destroy(linger=0)
        batched.ctx.destroy(linger=0)


def test_bad_payload_in_a_batch_is_counted_and_the_rest_goes_through() -> None:
    agent, sent = router()
    try:
        good = ticks([MINUTE + 1])
        bad = Message(p.tick_topic("EURUSD"), "j", p.TYPE_TICKS, "feeder", 1, 0, {"x": 1}, 7, 5)
        ok = Message(p.tick_topic("EURUSD"), "n", p.TYPE_TICKS, "feeder", 2, 0, good, good.nbytes, 6)
        agent.on_ticks([bad, ok])
        assert agent.engine.metrics.rejected.as_dict()["bad_payload"] == 1
        assert [s["data"].size for s in sent if s["topic"] == "tick.EURUSD"] == [1]
    finally:
        agent.ctx.destroy(linger=0)


def test_tick_runs_keep_arrival_order_and_the_earliest_non_zero_origin() -> None:
    runs = TickRuns()
    runs.add("B", ticks([5]), 0)
    runs.add("A", ticks([1]), 30)
    runs.add("B", ticks([6]), 20)
    runs.add("A", ticks([2]), 10)
    got = [(s, list(t["ts"]), o) for s, t, o in runs.items()]
    assert got == [("B", [5, 6], 20), ("A", [1, 2], 10)] and len(runs) == 2


def test_join_equals_concatenate_even_for_strided_parts() -> None:
    whole = ticks([1, 2, 3, 4, 5, 6])
    parts = [whole[:2], whole[2:3], whole[3:][::2]]  # the last one strided
    got = join(parts)
    assert got.dtype == TICK_DTYPE and got.tobytes() == np.concatenate(parts).tobytes()
