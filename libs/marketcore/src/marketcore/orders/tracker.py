"""Order tracking by client order id: idempotent submits and event routing to ``Order`` state machines."""

from __future__ import annotations

import itertools

import msgspec

from marketcore.errors import OrderError
from marketcore.orders.messages import (
    ClientOrderId,
    OrderAccepted,
    OrderEvent,
    SubmitOrder,
    bracket_children,
)
from marketcore.orders.state import Order, OrderStatus


class TrackResult(msgspec.Struct, frozen=True):
    """Outcome of ``OrderTracker.track``: ``duplicate`` is True when the id was already known."""

    order: Order
    duplicate: bool


class OrderTracker:
    """All orders of one trader by client order id.

    ``track`` registers a ``SubmitOrder`` once: a second command with the same client order id is not placed
    again; it is reported (``duplicate=True``, counted in ``duplicates``) so the caller can drop it.
    """

    def __init__(self) -> None:
        self._orders: dict[ClientOrderId, Order] = {}
        # every order not yet seen terminal (a superset of the open ones: pruned when listed; a terminal order
        # never reopens), so open_orders() costs O(open) instead of O(every order ever tracked)
        self._maybe_open: dict[ClientOrderId, Order] = {}
        self._maybe_open_children: dict[ClientOrderId, Order] = {}  # the same for bracket children only
        self.duplicates = 0
        self.unknown_events = 0

    def track(self, command: SubmitOrder) -> TrackResult:
        existing = self._orders.get(command.client_order_id)
        if existing is not None:
            self.duplicates += 1
            return TrackResult(existing, True)
        order = Order(command)
        self._orders[command.client_order_id] = order
        self._maybe_open[command.client_order_id] = order
        return TrackResult(order, False)

    def apply(self, event: OrderEvent) -> Order | None:
        """Route ``event`` to its order; bracket children are created on their ``OrderAccepted``.

        Returns None (and counts ``unknown_events``) for an event about an order this tracker never saw.
        """
        order = self._orders.get(event.client_order_id)
        if order is None and isinstance(event, OrderAccepted) and event.parent_id is not None:
            order = self._adopt_child(event.parent_id, event.client_order_id)
        if order is None:
            self.unknown_events += 1
            return None
        order.apply(event)
        return order

    def _adopt_child(self, parent_id: ClientOrderId, child_id: ClientOrderId) -> Order | None:
        parent = self._orders.get(parent_id)
        if parent is None:
            return None
        for child in bracket_children(parent.command, parent.filled_qty):
            if child.client_order_id == child_id:
                order = Order(child, parent_id=parent_id)
                order.mark_submitted()
                self._orders[child_id] = order
                self._maybe_open[child_id] = order
                self._maybe_open_children[child_id] = order
                return order
        raise OrderError(f"{child_id} is not a bracket child of {parent_id}")

    def get(self, client_order_id: str) -> Order | None:
        return self._orders.get(ClientOrderId(client_order_id))

    def __contains__(self, client_order_id: object) -> bool:
        return client_order_id in self._orders

    def __len__(self) -> int:
        return len(self._orders)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Orders not in a final state (in tracking order), optionally of one symbol."""
        closed = [cid for cid, o in self._maybe_open.items() if not o.is_open]
        for cid in closed:
            del self._maybe_open[cid]
        return [o for o in self._maybe_open.values() if symbol is None or o.command.symbol == symbol]

    def open_children(self, symbol: str | None = None) -> list[Order]:
        """Bracket children (SL/TP held by the venue) not in a final state: O(open children), so closing a
        position does not scan every open order."""
        live = self._maybe_open_children
        if not live:
            return []
        for cid in [cid for cid, o in live.items() if not o.is_open]:
            del live[cid]
        return [o for o in live.values() if symbol is None or o.command.symbol == symbol]

    def orders(self) -> list[Order]:
        """Every order tracked, open or final, in tracking order."""
        return list(self._orders.values())

    def count_by_status(self) -> dict[OrderStatus, int]:
        """Orders per status, every status present (0 included)."""
        counts = dict.fromkeys(OrderStatus, 0)
        for o in self._orders.values():
            counts[o.status] += 1
        return counts

    def children_of(self, parent_id: str) -> list[Order]:
        return [o for o in self._orders.values() if o.parent_id == parent_id]


class ClientOrderIdGenerator:
    """Ids ``<strategy>-<session>-<counter>``; unique per (strategy, session), counter from ``start``."""

    def __init__(self, strategy: str, session: str, start: int = 1) -> None:
        for name, value in (("strategy", strategy), ("session", session)):
            if not value or any(c.isspace() for c in value):
                raise OrderError(f"{name} must be a non-empty id without whitespace, got {value!r}")
        if start < 0:
            raise OrderError(f"counter start must be >= 0, got {start}")
        self.prefix = f"{strategy}-{session}-"
        self._counter = itertools.count(start)

    def next(self) -> ClientOrderId:
        return ClientOrderId(f"{self.prefix}{next(self._counter)}")

    __call__ = next
