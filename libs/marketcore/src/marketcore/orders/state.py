"""The order state machine: one ``Order`` per client order id, driven by order events.

NEW -> SUBMITTED -> ACCEPTED -> PARTIALLY_FILLED -> FILLED, with the terminal exits CANCELLED, REJECTED and
EXPIRED. Any other change raises :class:`InvalidOrderTransition` naming both states.
"""

from __future__ import annotations

import enum
import math
from typing import Final

import msgspec

from marketcore.errors import InvalidOrderTransition, OrderError
from marketcore.orders.messages import (
    ClientOrderId,
    OrderAccepted,
    OrderCancelled,
    OrderCancelRejected,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
    SubmitOrder,
    VenueOrderId,
)


class OrderStatus(enum.Enum):
    NEW = "NEW"
    SUBMITTED = "SUBMITTED"
    ACCEPTED = "ACCEPTED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"

    _terminal: bool  # set per member below: the hot path reads an attribute, not an Enum hash + set lookup

    @property
    def is_terminal(self) -> bool:
        return self._terminal


S = OrderStatus
TERMINAL: Final = frozenset({S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED})
for _s in OrderStatus:
    _s._terminal = _s in TERMINAL
ALLOWED: Final[dict[OrderStatus, frozenset[OrderStatus]]] = {
    S.NEW: frozenset({S.SUBMITTED, S.REJECTED}),  # REJECTED: refused before sending (pre-trade risk)
    S.SUBMITTED: frozenset({S.ACCEPTED, S.REJECTED}),
    S.ACCEPTED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED}),
    S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED}),
    S.FILLED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}

# Relative tolerance when deciding that cumulative fills complete the order quantity.
_QTY_EPS = 1e-9


class Order:
    """Mutable lifecycle of one order (the command itself stays immutable in ``command``)."""

    def __init__(self, command: SubmitOrder, parent_id: ClientOrderId | None = None) -> None:
        self.command = command
        self.parent_id = parent_id
        self.status = OrderStatus.NEW
        self.venue_order_id: VenueOrderId | None = None
        self.filled_qty = 0.0
        self.avg_fill_price = math.nan
        self.fees = 0.0
        self.reason = ""
        self.fill_ids: list[str] = []

    @property
    def client_order_id(self) -> ClientOrderId:
        return self.command.client_order_id

    @property
    def remaining_qty(self) -> float:
        return max(self.command.qty - self.filled_qty, 0.0)

    @property
    def is_open(self) -> bool:
        return not self.status._terminal

    def transition(self, to: OrderStatus) -> None:
        if to not in ALLOWED[self.status]:
            raise InvalidOrderTransition(
                f"order {self.client_order_id}: illegal transition {self.status.value} -> {to.value}"
            )
        self.status = to

    def mark_submitted(self) -> None:
        self.transition(OrderStatus.SUBMITTED)

    def apply(self, event: OrderEvent) -> None:
        """Update from a venue event for this order (a cancel reject changes nothing)."""
        if event.client_order_id != self.client_order_id:
            raise OrderError(f"event for {event.client_order_id} applied to order {self.client_order_id}")
        if isinstance(event, OrderAccepted):
            self.transition(OrderStatus.ACCEPTED)
            self.venue_order_id = event.venue_order_id
        elif isinstance(event, OrderFilled):
            self._apply_fill(event)
        elif isinstance(event, OrderRejected):
            self.transition(OrderStatus.REJECTED)
            self.reason = event.reason
        elif isinstance(event, OrderCancelled):
            self.transition(OrderStatus.CANCELLED)
            self.reason = event.reason
        elif isinstance(event, OrderExpired):
            self.transition(OrderStatus.EXPIRED)
        elif isinstance(event, OrderCancelRejected):
            self.reason = event.reason
        elif isinstance(event, OrderReplaced):
            self._apply_replace(event)
        else:  # pragma: no cover - the union is exhaustive
            raise OrderError(f"unknown order event {type(event).__name__}")

    def _apply_replace(self, event: OrderReplaced) -> None:
        if self.status not in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED):
            raise InvalidOrderTransition(
                f"order {self.client_order_id}: cannot replace a {self.status.value} order"
            )
        if event.qty < self.filled_qty * (1 - _QTY_EPS):
            raise OrderError(
                f"order {self.client_order_id}: replaced qty {event.qty} < filled {self.filled_qty}"
            )
        self.command = msgspec.structs.replace(
            self.command, qty=event.qty, limit_price=event.limit_price, stop_price=event.stop_price
        )

    def _apply_fill(self, fill: OrderFilled) -> None:
        if fill.fill_id in self.fill_ids:
            raise OrderError(f"order {self.client_order_id}: duplicate fill {fill.fill_id}")
        if fill.qty <= 0 or fill.qty > self.remaining_qty * (1 + _QTY_EPS):
            raise OrderError(
                f"order {self.client_order_id}: fill qty {fill.qty} exceeds remaining {self.remaining_qty}"
            )
        new_filled = self.filled_qty + fill.qty
        complete = new_filled >= self.command.qty * (1 - _QTY_EPS)
        self.transition(OrderStatus.FILLED if complete else OrderStatus.PARTIALLY_FILLED)
        prior = 0.0 if self.filled_qty == 0 else self.avg_fill_price * self.filled_qty
        self.avg_fill_price = (prior + fill.price * fill.qty) / new_filled
        self.filled_qty = new_filled
        self.fees += fill.fee
        self.fill_ids.append(fill.fill_id)

    def __repr__(self) -> str:
        cid, status = self.client_order_id, self.status.value
        return f"Order({cid!r}, {status}, filled={self.filled_qty}/{self.command.qty})"
