"""StrategyRunner and PendingIntents without processes: the strategy's context, ack/resend with back-off,
positions from its own fills (marketcore.portfolio), warm-up from history, pause."""

from __future__ import annotations

import numpy as np
import pytest
from marketcore.orders import (
    ClientOrderId,
    Liquidity,
    OrderFilled,
    OrderSide,
    SubmitOrder,
    VenueOrderId,
    decode,
)
from marketcore.schema import BAR_DTYPE
from tradehive import protocol as p
from tradehive.intents import PendingIntents
from tradehive.runner import StrategyRunner
from tradehive.strategy import Strategy, StrategyContext

pytestmark = pytest.mark.timeout(30)
E = "EURUSD"


class Wire:
    def __init__(self, history: np.ndarray | None = None) -> None:
        self.orders: list[tuple[bytes, int, bool]] = []
        self.signals: list[p.Signal] = []
        self.asked: list[tuple[str, int, int]] = []
        self.hist = np.zeros(0, BAR_DTYPE) if history is None else history

    def send_order(self, data: bytes, origin_ns: int, resend: bool = False) -> None:
        self.orders.append((data, origin_ns, resend))

    def send_signal(self, signal: p.Signal, origin_ns: int) -> None:
        self.signals.append(signal)

    def fetch_bars(self, symbol: str, last_n: int, end_ns: int) -> np.ndarray:
        self.asked.append((symbol, last_n, end_ns))
        return self.hist


class Buyer(Strategy):
    name = "buyer"
    defaults = {"qty": 1000.0}

    def on_bar(self, symbol: str, bars: np.ndarray) -> None:
        self.seen = getattr(self, "seen", 0) + int(bars.size)
        self.ctx.publish_signal("n", symbol, float(bars.size))
        self.ctx.submit(symbol, OrderSide.BUY, self.params["qty"])


def bars(ts: list[int]) -> np.ndarray:
    b = np.zeros(len(ts), BAR_DTYPE)
    b["ts"], b["close"] = ts, 1.1
    return b


def fill(cid: str, qty: float, side: OrderSide = OrderSide.BUY) -> OrderFilled:
    return OrderFilled(
        ClientOrderId(cid), VenueOrderId("V"), f"F-{cid}", E, side, 1.1, qty, 0.0, Liquidity.TAKER, 1
    )


def test_runner_is_a_strategy_context_and_warms_up_without_trading() -> None:
    wire = Wire(bars([10, 20, 30]))
    r = StrategyRunner("brain-x", "s1", wire)
    assert isinstance(r, StrategyContext)
    s = Buyer(r, {})
    r.attach(s)
    r.warming_up = False
    r.bars(E, bars([40]), origin_ns=77, partial=False, warmup_bars=100)
    assert wire.asked == [(E, 100, 40)] and s.seen == 4 and r.counts["bars"] == 1
    ((data, origin, resend),) = wire.orders  # the 3 history bars sent nothing
    cmd = decode(data)
    assert (
        isinstance(cmd, SubmitOrder) and cmd.client_order_id == "brain-x-s1.EURUSD-1" and origin == 77 and not resend
    )
    assert len(wire.signals) == 2 and r.now_ns() == 40 and len(r.pending) == 1
    assert r.history(E, 5) is wire.hist and wire.asked[-1] == (E, 5, 41)


def test_acks_resends_and_positions_from_own_fills() -> None:
    wire = Wire()
    r = StrategyRunner("brain-x", "s1", wire, ack_timeout_s=1.0, max_resends=2)
    r.attach(Buyer(r, {}))
    r.warming_up = False
    cid = r.submit(E, OrderSide.BUY, 1000.0)
    assert cid is not None
    t0 = r.pending._pending[cid][1]  # noqa: SLF001 - the send time, to step the clock from
    assert r.resend_due(t0 + 0.5) == [] and len(wire.orders) == 1
    assert r.resend_due(t0 + 1.0) == [] and wire.orders[-1][2] is True  # first re-send after 1 s
    assert r.resend_due(t0 + 2.0) == []  # the next one waits 2 s more
    r.resend_due(t0 + 3.0)
    assert r.counts["resends"] == 2 and r.resend_due(t0 + 8.0) == [(cid, 3)] and not r.pending
    assert r.ack(p.OrderAck(cid, True, duplicate=True)) == "duplicate" and r.counts["duplicates"] == 1
    assert r.fill(fill(cid, 1000.0)) and not r.fill(fill("other-brain-1", 5.0))
    r.fill(fill("brain-x-s1-9", 1000.0, OrderSide.SELL))
    assert r.position(E) == 0.0 and r.positions() == {E: 0.0} and r.counts["fills"] == 2


def test_pause_drops_orders_and_signal_only_brains_never_trade() -> None:
    r = StrategyRunner("b", "s", Wire())
    r.warming_up, r.running = False, False
    assert r.submit(E, OrderSide.BUY, 1.0) is None and r.counts["dropped_while_stopped"] == 1
    q = StrategyRunner("b", "s", Wire(), trades=False)
    q.warming_up = False
    assert q.submit(E, OrderSide.BUY, 1.0) is None and not q.cancel("x", E)


def test_pending_intents_outcomes() -> None:
    pi = PendingIntents(1.0, 1)
    pi.add("a", b"x", 0.0)
    assert "a" in pi and pi.acked(p.OrderAck("a", False, reason="no")) == "rejected" and "a" not in pi
