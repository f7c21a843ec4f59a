"""Runs one strategy: the ``StrategyContext`` a brain (or a backtest) gives it, without any socket.

The runner owns the strategy, its positions (``marketcore.portfolio``, from its own fills), its intents
awaiting an ack (``PendingIntents``), warm-up from history and the brain's counters. What it cannot do
itself goes through a :class:`Transport` (send an order, send a signal, fetch bars), which the brain agent
implements on its sockets.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
from marketcore.instruments import Instrument, InstrumentRegistry
from marketcore.orders import (
    CancelOrder,
    ClientOrderId,
    ClientOrderIdGenerator,
    OrderFilled,
    OrderSide,
    OrderType,
    SubmitOrder,
)
from marketcore.orders import encode as encode_order
from marketcore.portfolio import Portfolio

from tradehive import protocol as p
from tradehive.intents import Outcome, PendingIntents
from tradehive.strategy import Strategy

COUNTS = ("orders_sent", "acks", "rejected", "duplicates", "resends", "fills", "signals_out", "signals_in", "bars",
          "dropped_while_stopped")  # fmt: skip


class Transport(Protocol):
    """What the runner needs from its host: ``origin_ns`` is the origin stamp of the data that caused it."""

    def send_order(self, data: bytes, origin_ns: int, resend: bool = False) -> None: ...

    def send_signal(self, signal: p.Signal, origin_ns: int) -> None: ...

    def fetch_bars(self, symbol: str, last_n: int, end_ns: int) -> np.ndarray: ...


class StrategyRunner:
    """A ``StrategyContext``. ``trades``: False for a signal-only brain (``submit`` then returns None)."""

    def __init__(self, name: str, session: str, transport: Transport, *, trades: bool = True,
                 ack_timeout_s: float = 2.0, max_resends: int = 5,
                 instruments: InstrumentRegistry | None = None, timeframe_ns: int = 0) -> None:  # fmt: skip
        self.name = name
        self.transport = transport
        self.trades = trades
        self.warming_up = True
        self.running = True
        self.instruments = instruments or InstrumentRegistry.default()
        self.portfolio = Portfolio(self.instruments)
        self.pending = PendingIntents(ack_timeout_s, max_resends)
        self.counts = dict.fromkeys(COUNTS, 0)
        self.origin_ns = (
            0  # origin stamp of the data being handled: travels with the orders/signals it causes
        )
        self.last_data_ns = 0
        self.timeframe_ns = timeframe_ns
        self.decision_ns = 0  # data time of what the strategy acts on: a closed bar's end, a tick's time
        self.session = session
        # one counter per symbol (``<brain>-<session>.<SYMBOL>-<n>``): a brain decides on each symbol in data-time
        # order, but on different symbols in arrival order, so one shared counter would number the same decisions
        # differently from run to run (a replay could not match a recorded session's ids)
        self._ids: dict[str, ClientOrderIdGenerator] = {}
        self._warmed: set[str] = set()
        self.strategy: Strategy | None = None
        self.on_order: Callable[[str, int], object] | None = (
            None  # (symbol, decision time) of each order sent
        )

    def attach(self, strategy: Strategy) -> None:
        self.strategy = strategy

    @property
    def _s(self) -> Strategy:
        if self.strategy is None:
            raise RuntimeError("no strategy attached")
        return self.strategy

    # -- data in --------------------------------------------------------------------------------------------
    def bars(self, symbol: str, bars: np.ndarray, origin_ns: int, partial: bool, warmup_bars: int) -> None:
        self.origin_ns = origin_ns
        if not self.running or not bars.size:
            return
        if symbol not in self._warmed and not partial:  # first live bar: warm indicators (a forming bar may
            self._warmed.add(symbol)  # be far ahead of the closed ones: warming up from it would look ahead)
            self.warm_up(symbol, int(bars["ts"][0]), warmup_bars)
        self.last_data_ns = int(bars["ts"][-1])
        if not partial:
            self.decision_ns = self.last_data_ns + self.timeframe_ns
        if partial:
            self._s.on_partial_bar(symbol, bars)
        else:
            self.counts["bars"] += int(bars.size)
            self._s.on_bar(symbol, bars)

    def warm_up(self, symbol: str, before_ns: int, last_n: int) -> int:
        hist = self.transport.fetch_bars(symbol, last_n, before_ns)
        self.warming_up = True
        try:
            if hist.size:
                self._s.on_bar(symbol, hist)
        finally:
            self.warming_up = False
        return int(hist.size)

    def ticks(self, symbol: str, ticks: np.ndarray, origin_ns: int) -> None:
        self.origin_ns = origin_ns
        if self.running and ticks.size:
            self.last_data_ns = self.decision_ns = int(ticks["ts"][-1])
            self._s.on_tick(symbol, ticks)

    def signal(self, sig: p.Signal, origin_ns: int) -> None:
        self.origin_ns = origin_ns
        self.counts["signals_in"] += 1
        self._s.on_signal(sig)

    def ack(self, ack: p.OrderAck) -> Outcome:
        outcome = self.pending.acked(ack)
        self.counts["acks"] += 1
        if outcome == "duplicate":
            self.counts["duplicates"] += 1
        elif outcome == "rejected":
            self.counts["rejected"] += 1
        self._s.on_ack(ack)
        return outcome

    def fill(self, fill: OrderFilled) -> bool:
        """A fill from the trader's stream: applied (True) when it is one of this brain's orders."""
        if not fill.client_order_id.startswith(self.name + "-"):
            return False
        self.counts["fills"] += 1
        self.portfolio.apply_fill(fill)
        self._s.on_fill(fill)
        return True

    def resend_due(self, now: float) -> list[tuple[str, int]]:
        """Re-send intents still without an ack; returns the (id, tries) given up."""
        resend, expired = self.pending.due(now)
        for _cid, data in resend:
            self.transport.send_order(data, 0, resend=True)  # a re-send carries no origin stamp
            self.counts["resends"] += 1
        return expired

    # -- the StrategyContext --------------------------------------------------------------------------------
    def submit(self, symbol: str, side: OrderSide, qty: float, *, type: OrderType = OrderType.MARKET,  # noqa: A002
               limit_price: float | None = None, stop_price: float | None = None,
               stop_loss: float | None = None, take_profit: float | None = None) -> str | None:  # fmt: skip
        if self.warming_up or not self.trades:
            return None
        if not self.running:
            self.counts["dropped_while_stopped"] += 1
            return None
        ids = self._ids.get(symbol)
        if ids is None:
            tag = "".join(c if c.isalnum() else "_" for c in symbol)
            ids = self._ids[symbol] = ClientOrderIdGenerator(self.name, f"{self.session}.{tag}")
        cid = ids.next()
        cmd = SubmitOrder(client_order_id=cid, symbol=symbol, side=side, qty=qty, type=type, limit_price=limit_price,
                          stop_price=stop_price, stop_loss=stop_loss, take_profit=take_profit,
                          strategy_id=self.name, ts_ns=time.time_ns(), data_ts_ns=self.decision_ns)  # fmt: skip
        data = encode_order(cmd)
        self.pending.add(cid, data, time.monotonic())
        self.transport.send_order(data, self.origin_ns)
        self.counts["orders_sent"] += 1
        if self.on_order is not None:
            self.on_order(symbol, self.decision_ns)
        return cid

    def cancel(self, client_order_id: str, symbol: str) -> bool:
        if not self.trades:
            return False
        cmd = CancelOrder(ClientOrderId(client_order_id), symbol, time.time_ns())
        self.transport.send_order(encode_order(cmd), self.origin_ns)
        return True

    def publish_signal(
        self, name: str, symbol: str, value: float, data: dict[str, Any] | None = None
    ) -> None:
        sig = p.Signal(brain=self.name, name=name, symbol=symbol, value=float(value),
                       ts_ns=self.decision_ns or self.last_data_ns,
                       data=data or {})  # fmt: skip
        self.transport.send_signal(sig, self.origin_ns)
        self.counts["signals_out"] += 1

    def position(self, symbol: str) -> float:
        pos = self.portfolio.positions.get(symbol)
        return 0.0 if pos is None else pos.qty

    def positions(self) -> dict[str, float]:
        return {s: pos.qty for s, pos in self.portfolio.positions.items()}

    def now_ns(self) -> int:
        return self.last_data_ns

    def history(self, symbol: str, last_n: int, end_ns: int | None = None) -> np.ndarray:
        return self.transport.fetch_bars(symbol, last_n, self.last_data_ns + 1 if end_ns is None else end_ns)

    def instrument(self, symbol: str) -> Instrument:
        return self.instruments.get(symbol)


__all__ = ["COUNTS", "StrategyRunner", "Transport"]
