"""Order commands (imperative) and order events (past tense): immutable msgspec Structs.

Quantities are positive in base units; the direction is ``side``. Prices are in the instrument's quote
currency. Timestamps are integer nanoseconds since the epoch (UTC), always passed in (no wall clock here).
"""

from __future__ import annotations

import enum
import math
from typing import Final, NewType

import msgspec

from marketcore.errors import OrderError

ClientOrderId = NewType("ClientOrderId", str)
VenueOrderId = NewType("VenueOrderId", str)


class OrderSide(enum.Enum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        """+1 for BUY, -1 for SELL."""
        return 1 if self is _BUY else -1

    @property
    def opposite(self) -> OrderSide:
        return _SELL if self is _BUY else _BUY


_BUY: Final = OrderSide.BUY  # module constants: the class attribute lookup of a member costs ~150 ns
_SELL: Final = OrderSide.SELL


class OrderType(enum.Enum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP = "STOP"


class TimeInForce(enum.Enum):
    GTC = "GTC"
    IOC = "IOC"
    GTD = "GTD"  # good till ``expire_ns`` (venue time): then OrderExpired


class Liquidity(enum.Enum):
    MAKER = "MAKER"
    TAKER = "TAKER"


class _Message(msgspec.Struct, frozen=True, tag_field="msg"):
    """Base of every command and event: frozen, tagged by the ``msg`` field on the wire."""


def _positive_price(name: str, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise OrderError(f"{name} must be a finite price > 0, got {value!r}")


class SubmitOrder(_Message, frozen=True, tag="submit_order"):
    """Place an order. ``stop_loss``/``take_profit`` attach a bracket (closing orders after the fill)."""

    client_order_id: ClientOrderId
    symbol: str
    side: OrderSide
    qty: float
    type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    stop_price: float | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    stop_loss: float | None = None
    take_profit: float | None = None
    strategy_id: str = ""
    ts_ns: int = 0  # when the intent was sent (wall clock): latency metrics only
    expire_ns: int | None = None  # GTD only
    data_ts_ns: int = 0  # the data time of what caused the decision (0: unknown; the venue's latest quote)

    def __post_init__(self) -> None:
        if not self.client_order_id:
            raise OrderError("client_order_id must not be empty")
        if (self.time_in_force is TimeInForce.GTD) != (self.expire_ns is not None) or (
            self.expire_ns is not None and self.expire_ns <= 0
        ):
            raise OrderError(f"{self.client_order_id}: expire_ns (> 0) is required for GTD orders only")
        if not self.symbol:
            raise OrderError(f"{self.client_order_id}: symbol must not be empty")
        if not (math.isfinite(self.qty) and self.qty > 0):
            raise OrderError(f"{self.client_order_id}: qty must be finite and > 0, got {self.qty!r}")
        for name, value in (
            ("limit_price", self.limit_price),
            ("stop_price", self.stop_price),
            ("stop_loss", self.stop_loss),
            ("take_profit", self.take_profit),
        ):
            if value is not None and not (
                math.isfinite(value) and value > 0
            ):  # message built on failure only
                _positive_price(f"{self.client_order_id}: {name}", value)
        self._check_prices_for_type()
        if self.stop_loss is not None and self.take_profit is not None:
            self._check_bracket()

    def _check_prices_for_type(self) -> None:
        need_limit = self.type is OrderType.LIMIT
        need_stop = self.type is OrderType.STOP
        if need_limit != (self.limit_price is not None):
            raise OrderError(f"{self.client_order_id}: limit_price is required for LIMIT orders only")
        if need_stop != (self.stop_price is not None):
            raise OrderError(f"{self.client_order_id}: stop_price is required for STOP orders only")

    def _check_bracket(self) -> None:
        sl, tp = self.stop_loss, self.take_profit
        if sl is not None and tp is not None and (tp - sl) * self.side.sign <= 0:
            raise OrderError(
                f"{self.client_order_id}: bracket must have stop_loss on the losing side of take_profit "
                f"for a {self.side.value} (stop_loss={sl}, take_profit={tp})"
            )

    @property
    def has_bracket(self) -> bool:
        return self.stop_loss is not None or self.take_profit is not None


class CancelOrder(_Message, frozen=True, tag="cancel_order"):
    client_order_id: ClientOrderId
    symbol: str
    ts_ns: int = 0


class ReplaceOrder(_Message, frozen=True, tag="replace_order"):
    """Amend a working order in place (cancel/replace): a new ``qty`` and/or limit/stop price; None keeps
    the current value. The client order id stays; an adapter maps it to the venue's own ids. Answered by
    ``OrderReplaced`` or, when it cannot be applied, ``OrderCancelRejected`` (as FIX answers both)."""

    client_order_id: ClientOrderId
    symbol: str
    qty: float | None = None
    limit_price: float | None = None
    stop_price: float | None = None
    ts_ns: int = 0

    def __post_init__(self) -> None:
        if not self.client_order_id:
            raise OrderError("client_order_id must not be empty")
        if self.qty is not None and not (math.isfinite(self.qty) and self.qty > 0):
            raise OrderError(f"{self.client_order_id}: qty must be finite and > 0, got {self.qty!r}")
        _positive_price(f"{self.client_order_id}: limit_price", self.limit_price)
        _positive_price(f"{self.client_order_id}: stop_price", self.stop_price)
        if self.qty is None and self.limit_price is None and self.stop_price is None:
            raise OrderError(f"{self.client_order_id}: a replace must change qty, limit_price or stop_price")

    def applied_to(self, cmd: SubmitOrder) -> SubmitOrder:
        """``cmd`` with this replace's changes (validated like any new order)."""
        if self.limit_price is not None and cmd.type is not OrderType.LIMIT:
            raise OrderError(f"{self.client_order_id}: cannot set limit_price on a {cmd.type.value} order")
        if self.stop_price is not None and cmd.type is not OrderType.STOP:
            raise OrderError(f"{self.client_order_id}: cannot set stop_price on a {cmd.type.value} order")
        return msgspec.structs.replace(
            cmd,
            qty=cmd.qty if self.qty is None else self.qty,
            limit_price=cmd.limit_price if self.limit_price is None else self.limit_price,
            stop_price=cmd.stop_price if self.stop_price is None else self.stop_price,
        )


class OrderAccepted(_Message, frozen=True, tag="order_accepted"):
    """The venue took the order. ``parent_id`` is set for bracket children (see ``bracket_children``)."""

    client_order_id: ClientOrderId
    venue_order_id: VenueOrderId
    symbol: str
    ts_ns: int
    parent_id: ClientOrderId | None = None


class OrderRejected(_Message, frozen=True, tag="order_rejected"):
    client_order_id: ClientOrderId
    symbol: str
    reason: str
    ts_ns: int


class OrderFilled(_Message, frozen=True, tag="order_filled"):
    client_order_id: ClientOrderId
    venue_order_id: VenueOrderId
    fill_id: str
    symbol: str
    side: OrderSide
    price: float
    qty: float
    fee: float
    liquidity: Liquidity
    ts_ns: int


class OrderCancelled(_Message, frozen=True, tag="order_cancelled"):
    client_order_id: ClientOrderId
    symbol: str
    ts_ns: int
    reason: str = ""


class OrderCancelRejected(_Message, frozen=True, tag="order_cancel_rejected"):
    """A cancel that could not be applied (unknown order, already filled...)."""

    client_order_id: ClientOrderId
    symbol: str
    reason: str
    ts_ns: int


class OrderExpired(_Message, frozen=True, tag="order_expired"):
    client_order_id: ClientOrderId
    symbol: str
    ts_ns: int


class OrderReplaced(_Message, frozen=True, tag="order_replaced"):
    """A ``ReplaceOrder`` took effect: the order now works ``qty`` (total, fills included) at these prices."""

    client_order_id: ClientOrderId
    symbol: str
    ts_ns: int
    qty: float
    limit_price: float | None = None
    stop_price: float | None = None


Command = SubmitOrder | CancelOrder | ReplaceOrder
OrderEvent = (
    OrderAccepted
    | OrderRejected
    | OrderFilled
    | OrderCancelled
    | OrderCancelRejected
    | OrderExpired
    | OrderReplaced
)
Message = Command | OrderEvent


def bracket_children(parent: SubmitOrder, filled_qty: float) -> tuple[SubmitOrder, ...]:
    """The closing orders of a bracket once ``parent`` has filled ``filled_qty``.

    Stop-loss: a STOP on the opposite side at ``stop_loss`` with id ``<parent>-sl``; take-profit: a LIMIT on
    the
    opposite side at ``take_profit`` with id ``<parent>-tp``. They are one-cancels-other. Used by the paper
    venue, by the order tracker and by the bracket emulator, so ids agree everywhere.
    """
    children: list[SubmitOrder] = []
    side = parent.side.opposite
    if parent.stop_loss is not None:
        children.append(
            SubmitOrder(
                ClientOrderId(f"{parent.client_order_id}-sl"),
                parent.symbol,
                side,
                filled_qty,
                OrderType.STOP,
                stop_price=parent.stop_loss,
                strategy_id=parent.strategy_id,
                ts_ns=parent.ts_ns,
            )
        )
    if parent.take_profit is not None:
        children.append(
            SubmitOrder(
                ClientOrderId(f"{parent.client_order_id}-tp"),
                parent.symbol,
                side,
                filled_qty,
                OrderType.LIMIT,
                limit_price=parent.take_profit,
                strategy_id=parent.strategy_id,
                ts_ns=parent.ts_ns,
            )
        )
    return tuple(children)
