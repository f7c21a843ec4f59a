"""Client-side stop-loss/take-profit for venues without bracket orders.

The trader arms a bracket when an entry fills and feeds quotes; the emulator returns one closing MARKET
order the first time the stop-loss or take-profit is touched, then forgets the bracket. A long is closed on
the bid (bid <= stop_loss or bid >= take_profit), a short on the ask (ask >= stop_loss or ask <= take_profit).
Closing orders reuse the venue-side ids (``<parent>-sl`` / ``<parent>-tp``), so ids agree with brackets held
by a venue.
"""

from __future__ import annotations

import msgspec
import numpy as np
import numpy.typing as npt

from marketcore.errors import OrderError
from marketcore.orders.messages import ClientOrderId, OrderSide, OrderType, SubmitOrder


class EmulatedBracket(msgspec.Struct, frozen=True):
    parent_id: ClientOrderId
    symbol: str
    position_side: OrderSide  # BUY: the bracket protects a long
    qty: float
    stop_loss: float | None
    take_profit: float | None
    strategy_id: str = ""


class BracketEmulator:
    def __init__(self) -> None:
        self._armed: dict[ClientOrderId, EmulatedBracket] = {}

    def arm(self, bracket: EmulatedBracket) -> None:
        if bracket.stop_loss is None and bracket.take_profit is None:
            raise OrderError(f"{bracket.parent_id}: a bracket needs a stop_loss or a take_profit")
        if bracket.parent_id in self._armed:
            raise OrderError(f"bracket {bracket.parent_id} is already armed")
        self._armed[bracket.parent_id] = bracket

    def arm_from_entry(self, entry: SubmitOrder, filled_qty: float) -> EmulatedBracket:
        """Arm the bracket carried by ``entry`` (its stop_loss/take_profit) for ``filled_qty``."""
        bracket = EmulatedBracket(
            entry.client_order_id,
            entry.symbol,
            entry.side,
            filled_qty,
            entry.stop_loss,
            entry.take_profit,
            entry.strategy_id,
        )
        self.arm(bracket)
        return bracket

    def disarm(self, parent_id: str) -> bool:
        return self._armed.pop(ClientOrderId(parent_id), None) is not None

    @property
    def armed(self) -> list[EmulatedBracket]:
        return list(self._armed.values())

    def has_armed(self, symbol: str | None = None) -> bool:
        """Is any bracket armed (on ``symbol``)? Cheap: the hot path asks it for every quote batch."""
        if symbol is None:
            return bool(self._armed)
        return any(b.symbol == symbol for b in self._armed.values())

    def get(self, parent_id: str) -> EmulatedBracket | None:
        return self._armed.get(ClientOrderId(parent_id))

    def __len__(self) -> int:
        return len(self._armed)

    def on_quote(self, symbol: str, ts_ns: int, bid: float, ask: float) -> list[SubmitOrder]:
        orders: list[SubmitOrder] = []
        for parent_id, b in list(self._armed.items()):
            if b.symbol != symbol:
                continue
            leg = _touched(b, bid, ask)
            if leg:
                del self._armed[parent_id]
                orders.append(
                    SubmitOrder(
                        ClientOrderId(f"{parent_id}-{leg}"),
                        symbol,
                        b.position_side.opposite,
                        b.qty,
                        OrderType.MARKET,
                        strategy_id=b.strategy_id,
                        ts_ns=ts_ns,
                    )
                )
        return orders


def first_touch(
    brackets: list[EmulatedBracket], bid: npt.NDArray[np.float64], ask: npt.NDArray[np.float64]
) -> int:
    """The first row of a quote batch at which :meth:`BracketEmulator.on_quote` would fire one of ``brackets``
    (same rules as ``_touched``), ``len(bid)`` if none."""
    first = int(bid.size)
    for b in brackets:
        side = bid if b.position_side is OrderSide.BUY else ask
        hit = np.zeros(first, dtype=bool)
        if b.stop_loss is not None:
            hit |= (
                side[:first] <= b.stop_loss
                if b.position_side is OrderSide.BUY
                else side[:first] >= b.stop_loss
            )
        if b.take_profit is not None:
            hit |= (
                side[:first] >= b.take_profit
                if b.position_side is OrderSide.BUY
                else side[:first] <= b.take_profit
            )
        hits = np.flatnonzero(hit)
        if hits.size:
            first = int(hits[0])
    return first


def _touched(b: EmulatedBracket, bid: float, ask: float) -> str:
    if b.position_side is OrderSide.BUY:
        if b.stop_loss is not None and bid <= b.stop_loss:
            return "sl"
        if b.take_profit is not None and bid >= b.take_profit:
            return "tp"
    else:
        if b.stop_loss is not None and ask >= b.stop_loss:
            return "sl"
        if b.take_profit is not None and ask <= b.take_profit:
            return "tp"
    return ""
