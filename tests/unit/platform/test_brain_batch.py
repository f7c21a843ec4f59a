"""The brain's market handler takes every message waiting as one batch: each closed bar and each tick message
still reaches the strategy (one decision each, in order), a forming bar only when no newer forming bar of the
same topic is in the batch; the router->brain hop is observed once per batch."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from agentcore import Message
from marketcore.schema import BAR_DTYPE, TICK_DTYPE
from tradehive import protocol as p
from tradehive.latency import HOP_METRIC, Hop
from tradehive.strategy import Strategy

M = 60_000_000_000


def offline(agent: Any) -> None:
    """No network: sends dropped, binds and connects recorded by name, history refused."""
    from agentcore import RequestTimeout

    def request(*args: Any, **kw: Any) -> Any:
        raise RequestTimeout("offline")

    agent.send = lambda *args, **kw: True
    agent.bind = lambda *args, **kw: "inproc://offline"
    agent.connect = lambda address, handler=None, alias=None, **kw: alias or address
    agent.every = agent.after = lambda *args, **kw: 0
    agent.request = request


class Recorder(Strategy):
    name = "recorder"
    wants_ticks = True

    def __init__(self, ctx: Any, params: dict[str, Any]) -> None:
        super().__init__(ctx, params)
        self.seen: list[tuple[str, int]] = []

    def on_bar(self, symbol: str, bars: np.ndarray) -> None:
        self.seen += [("bar", int(b["ts"])) for b in bars]

    def on_partial_bar(self, symbol: str, bar: np.ndarray) -> None:
        self.seen.append(("partial", int(bar["close"][0])))

    def on_tick(self, symbol: str, ticks: np.ndarray) -> None:
        self.seen.append(("tick", int(ticks["ts"][-1])))


def _bar(ts: int, close: float) -> np.ndarray:
    b = np.zeros(1, dtype=BAR_DTYPE)
    b["ts"], b["close"] = ts, close
    return b


def _tick(ts: int) -> np.ndarray:
    t = np.zeros(1, dtype=TICK_DTYPE)
    t["ts"], t["bid"], t["ask"], t["last"] = ts, 1.1, 1.1001, np.nan
    return t


def _msg(topic: str, type_: str, data: np.ndarray, seq: int) -> Message:
    return Message(topic, "n", type_, "router", seq, 1_000 + seq, data, 0, 5_000 + seq)


@pytest.mark.timeout(30)
def test_market_batch_keeps_every_decision_and_skips_stale_forming_bars() -> None:
    from tradehive_brain.agent import BrainAgent, BrainConfig

    brain = BrainAgent("brain", config=BrainConfig(strategy="tick_echo", symbols=["EURUSD"], warmup_bars=0))
    offline(brain)
    brain.on_init()
    rec = Recorder(brain.runner, {})
    brain.runner.attach(rec)
    bar, part, tick = (
        p.bar_topic("1m", "EURUSD", "mid"),
        p.bar_topic("1m", "EURUSD", "mid") + ".partial",
        "tick.EURUSD",
    )
    batch = [
        _msg(tick, p.TYPE_TICKS, _tick(M + 1), 1),
        _msg(part, p.TYPE_BAR_PARTIAL, _bar(M, 1.0), 2),  # stale: a newer forming bar follows
        _msg(tick, p.TYPE_TICKS, _tick(M + 2), 3),
        _msg(part, p.TYPE_BAR_PARTIAL, _bar(M, 2.0), 4),  # stale too
        _msg(bar, p.TYPE_BAR, _bar(0, 3.0), 5),
        _msg(tick, p.TYPE_TICKS, _tick(M + 3), 6),
        _msg(part, p.TYPE_BAR_PARTIAL, _bar(M, 4.0), 7),  # the newest: handed over
    ]
    brain.on_market(batch)
    assert rec.seen == [("tick", M + 1), ("tick", M + 2), ("bar", 0), ("tick", M + 3), ("partial", 4)]
    count = brain.metrics.registry.get_sample_value(
        f"{HOP_METRIC}_count", {"agent": "brain", "hop": Hop.ROUTER_TO_BRAIN}
    )
    assert count == 1
    brain.on_market([_msg(part, p.TYPE_BAR_PARTIAL, _bar(M, 5.0), 8)])  # alone in its batch: handed over
    assert rec.seen[-1] == ("partial", 5)


@pytest.mark.timeout(30)
def test_ack_and_event_batches_reach_the_runner() -> None:
    from marketcore.orders import Liquidity, OrderFilled, OrderSide, VenueOrderId
    from marketcore.orders import encode as encode_order
    from tradehive_brain.agent import BrainAgent, BrainConfig

    brain = BrainAgent("brain", config=BrainConfig(strategy="tick_echo", symbols=["EURUSD"], warmup_bars=0))
    offline(brain)
    brain.on_init()
    cids = [brain.runner.submit("EURUSD", OrderSide.BUY, 1.0) for _ in range(2)]
    assert all(cids) and len(brain.runner.pending) == 2
    acks = [Message("", "b", "order_ack", "trader", i + 1, 0,
                    p.encode(p.OrderAck(str(c), True)), 0, 0) for i, c in enumerate(cids)]  # fmt: skip
    brain.on_acks(acks)
    assert len(brain.runner.pending) == 0 and brain.runner.counts["acks"] == 2
    fill = OrderFilled(cids[0], VenueOrderId("V1"), "F1", "EURUSD", OrderSide.BUY, 1.1, 1.0, 0.0,  # type: ignore[arg-type]
                       Liquidity.TAKER, 5)  # fmt: skip
    log = Message("exec.trader", "b", "submit_order", "trader", 1, 0, b"not decoded", 0, 0)
    filled = Message("exec.trader", "b", "order_filled", "trader", 2, 0, encode_order(fill), 0, 0)
    brain.on_exec_msgs([log, filled])  # the order log entry is passed over undecoded; the fill is applied
    assert brain.runner.counts["fills"] == 1 and brain.runner.position("EURUSD") == 1.0


@pytest.mark.timeout(30)
def test_a_bad_ack_is_reported_and_the_rest_of_its_batch_still_handled() -> None:
    from marketcore.orders import OrderSide
    from tradehive_brain.agent import BrainAgent, BrainConfig

    brain = BrainAgent("brain", config=BrainConfig(strategy="tick_echo", symbols=["EURUSD"], warmup_bars=0))
    offline(brain)
    brain.on_init()
    cid = brain.runner.submit("EURUSD", OrderSide.BUY, 1.0)
    bad = Message("", "b", "order_ack", "trader", 1, 0, b"\x93garbage", 0, 0)
    good = Message("", "b", "order_ack", "trader", 2, 0, p.encode(p.OrderAck(str(cid), True)), 0, 0)
    errors0 = brain.errors
    brain.on_acks([bad, good])
    assert brain.errors == errors0 + 1 and len(brain.runner.pending) == 0 and brain.runner.counts["acks"] == 1
