"""Liquidity for ordermatch in end-to-end tests: a FIX client that keeps one bid and one ask resting in
ordermatch's book at the recorded FXCM quote (read from the FIX market-data acceptor), re-quoting as it moves.

ordermatch only matches orders of its sessions against each other; this is the other side of the trader's
orders. Its quotes are never crossed or locked against itself (FXCM quotes sometimes are: the ask is then put
one tick above the bid). It uses the adapter's own venue and market-data source.
"""

from __future__ import annotations

import threading
import time

from marketcore.orders import ClientOrderId, OrderSide, OrderType, ReplaceOrder, SubmitOrder

from tradehive_fix.marketdata import FixTickSource
from tradehive_fix.venue import FixVenue


class MarketMaker:
    def __init__(
        self, venue: FixVenue, feed: FixTickSource, symbol: str, qty: float, tick: float = 1e-5
    ) -> None:
        self.venue, self.feed, self.symbol, self.qty, self.tick = venue, feed, symbol, qty, tick
        self.quotes = 0
        self.fills = 0
        self._ids = {"bid": "", "ask": ""}
        self._n = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="market-maker")

    def start(self) -> MarketMaker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        last: tuple[float, float] | None = None
        while not self._stop.wait(0.2):
            for ev in self.venue.poll_events():
                name = type(ev).__name__
                if name == "OrderFilled":
                    self.fills += 1
                if name in ("OrderFilled", "OrderCancelled", "OrderRejected") and not any(
                    o.client_order_id == ev.client_order_id for o in self.venue.open_orders()
                ):
                    for k, cid in self._ids.items():
                        if cid == ev.client_order_id:
                            self._ids[k] = ""
            runs = self.feed.poll(time.time_ns()).runs
            ticks = [t for s, t in runs if s == self.symbol and t.size]
            if not ticks:
                continue
            bid, ask = float(ticks[-1]["bid"][-1]), float(ticks[-1]["ask"][-1])
            bid, ask = min(bid, ask), max(bid, ask)
            if ask - bid < self.tick / 2:
                ask = bid + self.tick
            if (bid, ask) == last:
                continue
            last = (bid, ask)
            self._quote("bid", OrderSide.BUY, round(bid, 5))
            self._quote("ask", OrderSide.SELL, round(ask, 5))
            self.quotes += 1

    def _quote(self, key: str, side: OrderSide, price: float) -> None:
        now = time.time_ns()
        cid = self._ids[key]
        working = {o.client_order_id: o for o in self.venue.open_orders()}
        if cid and cid in working:
            if working[ClientOrderId(cid)].limit_price != price:
                self.venue.replace(ReplaceOrder(ClientOrderId(cid), self.symbol, limit_price=price), now)
            return
        self._n += 1
        cid = f"mm-{key}-{self._n}"
        self._ids[key] = cid
        self.venue.submit(SubmitOrder(ClientOrderId(cid), self.symbol, side, self.qty, OrderType.LIMIT,
                                      limit_price=price), now)  # fmt: skip


__all__ = ["MarketMaker"]
