"""The seam between the execution engine and a market: the ``Venue`` protocol and the venue registry.

A venue takes commands (submit, cancel, replace) and produces order events. Two delivery paths, so both a
simulator and a real broker fit:

* events known at once (the paper venue matches synchronously) are **returned** by the call that caused them;
* events that arrive later on the adapter's own thread (a FIX session, a broker's websocket) are queued by
  the adapter and **drained** by the engine with ``poll_events()``. The adapter calls the listener given to
  ``set_event_listener`` (from any thread, it must be cheap and thread-safe) so the host loop knows to drain.

The engine handles both paths the same way and never blocks on a venue. For reconciliation after a restart
a venue answers ``open_orders()`` and ``positions()`` as it knows them (a broker: queried at start).

``make_venue(name, context)`` builds a venue by name: ``paper`` is built in; adapters register with
``register_venue`` or through the ``marketcore.venues`` entry-point group (``name = "pkg.module:factory"``),
so a service chooses its venue by configuration (``TRADEHIVE_TRADER_VENUE=paper``) without importing it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

import msgspec

from marketcore.clock import Clock, WallClock
from marketcore.errors import VenueError
from marketcore.instruments import InstrumentRegistry
from marketcore.orders.messages import (
    CancelOrder,
    ClientOrderId,
    OrderEvent,
    OrderSide,
    OrderType,
    ReplaceOrder,
    SubmitOrder,
    VenueOrderId,
)

ENTRY_POINT_GROUP = "marketcore.venues"


class VenueCapabilities(msgspec.Struct, frozen=True):
    """What a venue does itself. ``brackets``: it holds SL/TP children (else the engine emulates them);
    ``replace``: it amends working orders; ``quotes``: it matches against the quotes fed to ``on_quote``
    (a simulator; a broker has its own market and ignores them); ``journaled``: the venue's own state is
    written in the engine's journal transactions (the paper venue on the journal's store), so an order needs
    no separate durable "sent" record before the venue sees it (one fsync per order instead of two)."""

    brackets: bool = False
    replace: bool = True
    quotes: bool = False
    journaled: bool = False


class VenueOrder(msgspec.Struct, frozen=True):
    """A working order as the venue knows it (for reconciliation)."""

    client_order_id: ClientOrderId
    symbol: str
    side: OrderSide
    qty: float
    filled_qty: float
    type: OrderType
    limit_price: float | None = None
    stop_price: float | None = None
    venue_order_id: VenueOrderId | None = None
    parent_id: ClientOrderId | None = None


EventListener = Callable[[], None]


class StateStore(Protocol):
    """Durable rows by (namespace, key), written in the execution journal's transactions: where a simulated
    venue (the paper venue plays the broker) keeps its book so that it survives a restart."""

    def put(self, ns: str, key: str, value: bytes) -> None: ...

    def delete(self, ns: str, key: str) -> None: ...

    def items(self, ns: str) -> list[tuple[str, bytes]]: ...


@runtime_checkable
class Venue(Protocol):
    """What the execution engine needs from a market (the paper venue, a FIX adapter, a broker API)."""

    name: str

    @property
    def capabilities(self) -> VenueCapabilities: ...

    def start(self) -> None:
        """Connect / log on (may return before the session is up; its events come through ``poll_events``)."""
        ...

    def close(self) -> None:
        """Disconnect and release threads and sockets (idempotent)."""
        ...

    def submit(self, cmd: SubmitOrder, now_ns: int) -> list[OrderEvent]:
        """Send a new order; returns the events known at once (may be empty)."""
        ...

    def cancel(self, cmd: CancelOrder, now_ns: int) -> list[OrderEvent]: ...

    def replace(self, cmd: ReplaceOrder, now_ns: int) -> list[OrderEvent]: ...

    def on_quote(self, symbol: str, ts_ns: int, bid: float, ask: float) -> list[OrderEvent]:
        """A market quote (a simulator matches on it; a broker adapter returns [])."""
        ...

    def poll_events(self) -> list[OrderEvent]:
        """Events that arrived asynchronously since the last call, in arrival order (thread-safe)."""
        ...

    def set_event_listener(self, listener: EventListener | None) -> None:
        """``listener()`` is called (from any thread) whenever ``poll_events`` has something new."""
        ...

    def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        """Working orders (bracket children included) as the venue knows them."""
        ...

    def positions(self) -> dict[str, float]:
        """Signed net position per symbol as the venue knows it (flat symbols may be omitted)."""
        ...

    def busy(self, symbol: str) -> bool:
        """True while every quote of ``symbol`` matters to the venue (orders in flight or resting)."""
        ...


@dataclass(frozen=True)
class VenueContext:
    """What a venue factory gets: instruments, the clock, the venue's options (from configuration), a durable
    ``store`` for a simulated venue's book (None: kept in memory) and the owner's name (for logs, sessions)."""

    instruments: InstrumentRegistry
    clock: Clock = field(default_factory=WallClock)
    options: Mapping[str, Any] = field(default_factory=dict)
    store: StateStore | None = None
    name: str = ""


VenueFactory = Callable[[VenueContext], Venue]

_FACTORIES: dict[str, VenueFactory | str] = {"paper": "marketcore.paper.venue:make_paper_venue"}


def register_venue(name: str, factory: VenueFactory | str) -> None:
    """Register ``factory`` (a callable or a lazy ``"module:attr"`` path) under ``name``."""
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise VenueError(f"venue name must be a simple word, got {name!r}")
    _FACTORIES[name] = factory


def available_venues() -> list[str]:
    names = set(_FACTORIES)
    names.update(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    return sorted(names)


def make_venue(name: str, context: VenueContext) -> Venue:
    """Build the venue registered as ``name``; unknown names list the known ones."""
    factory: VenueFactory | str | None = _FACTORIES.get(name)
    if factory is None:
        eps = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
        if not eps:
            raise VenueError(f"unknown venue {name!r}; available: {', '.join(available_venues())}")
        factory = eps[0].value
    if isinstance(factory, str):
        factory = _load(factory)
    venue = factory(context)
    if not isinstance(venue, Venue):
        raise VenueError(f"venue factory {name!r} built {type(venue).__name__}, which is not a Venue")
    return venue


def _load(path: str) -> VenueFactory:
    module, _, attr = path.partition(":")
    try:
        fn: VenueFactory = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise VenueError(f"cannot load venue factory {path!r}: {exc}") from exc
    return fn


__all__ = [
    "ENTRY_POINT_GROUP",
    "EventListener",
    "StateStore",
    "Venue",
    "VenueCapabilities",
    "VenueContext",
    "VenueFactory",
    "VenueOrder",
    "available_venues",
    "make_venue",
    "register_venue",
]
