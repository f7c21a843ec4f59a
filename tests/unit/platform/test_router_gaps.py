"""The router's gap handling, in process: a jump in a feeder's sequence numbers (reported by agentcore's
``on_gap`` hook before the message is handled) triggers a history request for exactly the missing interval,
and the recovered ticks are ingested once, in order. (Every recovery case: test_router_recovery.py.)"""

from __future__ import annotations

from typing import Any

import numpy as np
import zmq
from agentcore.wire import Message
from marketcore.schema import TICK_DTYPE
from tradehive import protocol as p
from tradehive_router.agent import RouterAgent, RouterConfig


def ticks(ts: list[int]) -> np.ndarray:
    t = np.zeros(len(ts), TICK_DTYPE)
    t["ts"] = ts
    t["bid"] = 1.0 + np.asarray(ts) * 1e-9
    t["ask"] = t["bid"] + 1e-5
    t["last"] = np.nan
    return t


def msg(seq: int, data: np.ndarray) -> Message:
    return Message("tick.EURUSD", "n", p.TYPE_TICKS, "feeder", seq, 0, data, data.nbytes)


def test_sequence_gap_is_backfilled_from_feeder_history() -> None:
    router = RouterAgent("router", config=RouterConfig(timeframes=["1m"], discover_interval=3600))
    router.ctx = zmq.Context()
    try:
        router.on_init()  # no name server: discovery logs a warning, the agent still works
        everything = ticks(list(range(1, 31)))  # what the feeder published, 10 ticks per message
        requests: list[p.TickHistoryRequest] = []

        def fake_request(alias: str, data: Any, timeout: float = 2.0, type_: str = "") -> Any:
            req = p.decode(data)
            requests.append(req)  # type: ignore[arg-type]
            sel = everything[(everything["ts"] >= req.start_ns) & (everything["ts"] < req.end_ns)]
            return sel

        sent: list[tuple[str, Any]] = []
        router.request = fake_request  # type: ignore[method-assign]
        router.send = lambda alias, data, topic="", type_="", **kw: sent.append((topic, data)) or True  # type: ignore[method-assign]
        router.recovery.add_feeder("feeder")
        router.on_ticks([msg(1, everything[0:10])])
        third = msg(3, everything[20:30])  # message 2 (ticks 11..20) was lost
        router.on_gap("feeder.ticks", third, 1)  # what agentcore's channel calls first
        router.on_ticks([third])
        metrics = router.engine.metrics
        assert metrics.gaps.total() == 1 and metrics.backfilled.total() == 10
        assert router.extra_status()["sequence_gaps"] == 1 and router.extra_status()["backfilled_ticks"] == 10
        assert len(requests) == 1 and (requests[0].start_ns, requests[0].end_ns) == (10, 21)
        book = router.engine.books["EURUSD"]
        assert list(book.tick_buf.view["ts"]) == list(range(1, 31))  # every tick once, in order
        published = np.concatenate([d for t, d in sent if t == "tick.EURUSD"])
        assert list(published["ts"]) == list(range(1, 31))
    finally:
        router.ctx.destroy(linger=0)
