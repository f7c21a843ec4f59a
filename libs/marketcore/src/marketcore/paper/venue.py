"""The paper venue: an embedded broker that fills orders against the live quote stream.

Deterministic: no wall clock; time comes from the caller (``now_ns``, else the venue's ``Clock``) and from
quote timestamps. Implements ``marketcore.venue.Venue`` (every event is returned by the call that caused it;
``poll_events`` is always empty).

Rules
- A command sent at ``now_ns`` reaches the venue at ``arrival = now_ns + latency_ns``. It is processed against
  the first quote of its symbol at or after ``arrival``: immediately if the venue's latest quote is already at
  or
  after it, otherwise when such a quote comes in (its OrderAccepted then carries ``ts = arrival``).
- Checked at submit (rejected immediately, ``ts = arrival``): duplicate client order id, unknown symbol, size
  off the instrument's grid or below its minimum, no quote seen yet for the symbol, a bracket on a venue
  without bracket support.
- MARKET: fills at the ask (buy) / bid (sell) of that quote, plus adverse slippage (taker).
- LIMIT buy (sell): marketable when ask <= limit (bid >= limit). Marketable on arrival: fills as a taker at
  the
  quote plus slippage, capped at the limit. Resting, then crossed by a later quote: fills at the limit price
  (maker, no slippage, no price improvement).
- STOP buy (sell): triggers when ask >= stop (bid <= stop), then fills at that quote like a market order.
- IOC: a LIMIT/STOP that does not fill on arrival expires.
- GTD: a working order expires (``OrderExpired`` at ``expire_ns``) on its symbol's first quote at or after
  ``expire_ns`` (venue time: the quotes' clock), before that quote could fill it.
- Quantities fill in full (FXCM quotes carry no size), so PARTIALLY_FILLED does not occur here.
- Crossed/locked quotes (bid >= ask) are normal feed data: buys fill at the ask, sells at the bid, as quoted.
- Brackets (``supports_brackets``): when the parent fills, its children (``bracket_children``) are accepted
  (``parent_id`` set) and become active from the next quote; they are OCO: when one fills the other is
  cancelled (reason "oco").
- Trade prints (``on_trade``) act as a quote with bid = ask = trade price (last-price markets).
- A quote with a non-finite or non-positive side, or older than the symbol's last quote, is counted
  (``bad_quotes``/``stale_quotes``) and skipped.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import msgspec
import numpy as np
import numpy.typing as npt

from marketcore.clock import Clock, WallClock
from marketcore.errors import OrderError, UnknownSymbol, VenueError
from marketcore.instruments import Instrument, InstrumentRegistry
from marketcore.orders.messages import (
    CancelOrder,
    ClientOrderId,
    Command,
    Liquidity,
    OrderAccepted,
    OrderCancelled,
    OrderCancelRejected,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
    OrderSide,
    OrderType,
    ReplaceOrder,
    SubmitOrder,
    TimeInForce,
    VenueOrderId,
    bracket_children,
)
from marketcore.paper.config import PaperVenueConfig
from marketcore.paper.pricing import fee, taker_price
from marketcore.ticks import valid_quote
from marketcore.venue import EventListener, StateStore, VenueCapabilities, VenueContext, VenueOrder


@dataclass(frozen=True)
class Quote:
    ts_ns: int
    bid: float
    ask: float


@dataclass
class _Working:
    cmd: SubmitOrder
    venue_order_id: VenueOrderId
    parent_id: ClientOrderId | None = None
    siblings: tuple[ClientOrderId, ...] = ()
    fresh: bool = True  # arrived but not yet matched against a quote
    active_after_ts: int = -1  # bracket children: only quotes strictly after this time


class _WorkingRec(msgspec.Struct, frozen=True):
    cmd: SubmitOrder
    venue_order_id: VenueOrderId
    parent_id: ClientOrderId | None
    siblings: tuple[ClientOrderId, ...]
    fresh: bool
    active_after_ts: int


class _PendingRec(msgspec.Struct, frozen=True):
    arrival_ns: int
    seq: int
    command: Command


_enc = msgspec.msgpack.Encoder()
_NS_WORKING, _NS_PENDING, _NS_IDS, _NS_NET, _NS_META = (
    "paper.working", "paper.pending", "paper.ids", "paper.net", "paper.meta"
)  # fmt: skip


@dataclass(order=True)
class _Pending:
    arrival_ns: int
    seq: int
    command: Command = field(compare=False)


class PaperVenue:
    """Simulated execution against quotes. Every input method returns the events it caused, in order."""

    name = "paper"

    def __init__(
        self,
        config: PaperVenueConfig | None = None,
        instruments: InstrumentRegistry | None = None,
        clock: Clock | None = None,
        store: StateStore | None = None,
    ):
        self.config = config or PaperVenueConfig()
        self.instruments = instruments or InstrumentRegistry.default()
        self.clock: Clock = clock or WallClock()
        self._capabilities = VenueCapabilities(
            brackets=self.config.supports_brackets, replace=True, quotes=True, journaled=store is not None
        )
        self._net: dict[str, float] = {}
        self._listener: EventListener | None = None
        self._quotes: dict[str, Quote] = {}
        self._pending: dict[str, list[_Pending]] = {}
        self._working: dict[str, dict[ClientOrderId, _Working]] = {}
        self._final: dict[ClientOrderId, str] = {}  # terminal state by id (for cancel rejects)
        self._known: set[ClientOrderId] = set()
        self._seq = 0
        self._fill_seq = 0
        self.store = store
        self.bad_quotes = 0
        self.stale_quotes = 0

    # ---------------------------------------------------------------------------------------------- inputs
    @property
    def capabilities(self) -> VenueCapabilities:
        return self._capabilities

    def start(self) -> None:
        """Nothing to connect: the paper venue lives in the caller's process."""

    def close(self) -> None:
        """Nothing to release."""

    def poll_events(self) -> list[OrderEvent]:
        return []  # every event is returned by the call that caused it

    def set_event_listener(self, listener: EventListener | None) -> None:
        self._listener = listener  # never called: nothing arrives asynchronously

    def _arrival(self, now_ns: int | None) -> int:
        return (self.clock.now_ns() if now_ns is None else now_ns) + self.config.latency_ns

    def submit(self, cmd: SubmitOrder, now_ns: int | None = None) -> list[OrderEvent]:
        arrival = self._arrival(now_ns)
        reason = self._submit_problem(cmd)
        if reason:
            if cmd.client_order_id not in self._known:
                self._set_final(cmd.client_order_id, "REJECTED")
            return [OrderRejected(cmd.client_order_id, cmd.symbol, reason, arrival)]
        self._add_known(cmd.client_order_id)
        return self._enqueue(cmd.symbol, arrival, cmd)

    def cancel(self, cmd: CancelOrder, now_ns: int | None = None) -> list[OrderEvent]:
        arrival = self._arrival(now_ns)
        if cmd.symbol not in self._quotes:
            reason = f"unknown order {cmd.client_order_id} for {cmd.symbol}"
            return [OrderCancelRejected(cmd.client_order_id, cmd.symbol, reason, arrival)]
        return self._enqueue(cmd.symbol, arrival, cmd)

    def replace(self, cmd: ReplaceOrder, now_ns: int | None = None) -> list[OrderEvent]:
        """Amend a working order (applied on arrival, like a cancel); a replaced order that has become
        marketable fills on arrival as a taker."""
        arrival = self._arrival(now_ns)
        if cmd.symbol not in self._quotes:
            reason = f"replace rejected: unknown order {cmd.client_order_id} for {cmd.symbol}"
            return [OrderCancelRejected(cmd.client_order_id, cmd.symbol, reason, arrival)]
        return self._enqueue(cmd.symbol, arrival, cmd)

    def on_quote(self, symbol: str, ts_ns: int, bid: float, ask: float) -> list[OrderEvent]:
        if not valid_quote(bid, ask):
            self.bad_quotes += 1
            return []
        last = self._quotes.get(symbol)
        if last is not None and ts_ns < last.ts_ns:
            self.stale_quotes += 1
            return []
        quote = Quote(ts_ns, bid, ask)
        self._quotes[symbol] = quote
        events: list[OrderEvent] = []
        self._process_arrivals(symbol, ts_ns, events)
        self._match(symbol, quote, events, fresh_only=False)
        return events

    def on_trade(self, symbol: str, ts_ns: int, price: float) -> list[OrderEvent]:
        """A trade print on a last-price market: a quote with bid = ask = ``price``."""
        return self.on_quote(symbol, ts_ns, price, price)

    # ------------------------------------------------------------------------------------------- queries
    def quote(self, symbol: str) -> Quote | None:
        return self._quotes.get(symbol)

    def busy(self, symbol: str) -> bool:
        """True while ``symbol`` has orders in flight (latency) or resting: every quote matters then."""
        return bool(self._pending.get(symbol)) or bool(self._working.get(symbol))

    # ------------------------------------------------------------------------------ batches (vectorised)
    def quote_mask(self, symbol: str, ts: npt.NDArray[np.int64], bid: npt.NDArray[np.float64],
                   ask: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:  # fmt: skip
        """Which rows of a batch ``on_quote`` would take as the symbol's quote, fed one by one: valid, and not
        older than the newest valid one before it (``bad_quotes``/``stale_quotes`` otherwise)."""
        valid = np.isfinite(bid) & np.isfinite(ask) & (bid > 0) & (ask > 0)
        last = self._quotes.get(symbol)
        floor = np.iinfo(np.int64).min if last is None else last.ts_ns
        newest = np.maximum.accumulate(np.where(valid, ts, np.iinfo(np.int64).min))
        before = np.empty_like(newest)
        before[0] = floor
        np.maximum(newest[:-1], floor, out=before[1:])
        taken: npt.NDArray[np.bool_] = valid & (ts >= before)
        return taken

    def first_event(self, symbol: str, ts: npt.NDArray[np.int64], bid: npt.NDArray[np.float64],
                    ask: npt.NDArray[np.float64], taken: npt.NDArray[np.bool_]) -> int:  # fmt: skip
        """The first row of a batch (``taken``: :meth:`quote_mask`) at which ``on_quote`` could cause an event
        for ``symbol`` (an arrival due, a resting order marketable or triggered, a GTD expiry), ``len(ts)`` if
        none: fed one by one, the rows before it would change nothing but the venue's last quote.
        Conservative: a row it names may still cause nothing."""
        n = int(ts.size)
        first = n
        pending = self._pending.get(symbol)
        if pending:
            first = _first(taken & (ts >= pending[0].arrival_ns), first)
        for w in self._working.get(symbol, {}).values():
            if w.fresh:
                return _first(taken, first)
            cmd, buy = w.cmd, w.cmd.side is OrderSide.BUY
            if cmd.type is OrderType.MARKET:
                hit = np.ones(n, dtype=bool)
            elif cmd.type is OrderType.STOP:
                assert cmd.stop_price is not None
                hit = ask >= cmd.stop_price if buy else bid <= cmd.stop_price
            else:
                assert cmd.limit_price is not None
                hit = ask <= cmd.limit_price if buy else bid >= cmd.limit_price
            if cmd.expire_ns is not None:
                hit = hit | (ts >= cmd.expire_ns)
            first = _first(taken & hit & (ts > w.active_after_ts), first)
        return first

    def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        """Working orders, then new orders still in flight (latency: no venue order id yet)."""
        books = [self._working.get(symbol, {})] if symbol else list(self._working.values())
        out = [
            VenueOrder(w.cmd.client_order_id, w.cmd.symbol, w.cmd.side, w.cmd.qty, 0.0, w.cmd.type,
                       w.cmd.limit_price, w.cmd.stop_price, w.venue_order_id, w.parent_id)
            for book in books for w in book.values()
        ]  # fmt: skip
        queues = [self._pending.get(symbol, [])] if symbol else list(self._pending.values())
        for queue in queues:
            for item in sorted(queue):
                c = item.command
                if isinstance(c, SubmitOrder):
                    out.append(VenueOrder(c.client_order_id, c.symbol, c.side, c.qty, 0.0, c.type,
                                          c.limit_price, c.stop_price))  # fmt: skip
        return out

    def positions(self) -> dict[str, float]:
        """Net position per symbol from this venue's own fills."""
        return {s: q for s, q in self._net.items() if q != 0.0}

    # ------------------------------------------------------------------------------------------ internals
    def _submit_problem(self, cmd: SubmitOrder) -> str:
        if cmd.client_order_id in self._known or cmd.client_order_id in self._final:
            return f"duplicate client_order_id {cmd.client_order_id}"
        try:
            inst = self.instruments.get(cmd.symbol)
        except UnknownSymbol:
            return f"unknown symbol {cmd.symbol}"
        if not inst.is_valid_size(cmd.qty):
            return f"qty {cmd.qty} not a multiple of {inst.size_step} >= {inst.min_size}"
        if cmd.has_bracket and not self.config.supports_brackets:
            return "brackets not supported by this venue (emulate stop_loss/take_profit)"
        if cmd.symbol not in self._quotes:
            return f"no quote yet for {cmd.symbol}"
        return ""

    def _enqueue(self, symbol: str, arrival: int, cmd: Command) -> list[OrderEvent]:
        item = _Pending(arrival, self._next_seq(), cmd)
        heapq.heappush(self._pending.setdefault(symbol, []), item)
        if self.store is not None:
            self.store.put(_NS_PENDING, f"{item.seq:020d}", _enc.encode(_PendingRec(arrival, item.seq, cmd)))
        quote = self._quotes[symbol]
        events: list[OrderEvent] = []
        if quote.ts_ns >= arrival:
            self._process_arrivals(symbol, quote.ts_ns, events)
            self._match(symbol, quote, events, fresh_only=True)
        return events

    def _process_arrivals(self, symbol: str, upto_ns: int, events: list[OrderEvent]) -> None:
        pending = self._pending.get(symbol)
        while pending and pending[0].arrival_ns <= upto_ns:
            item = heapq.heappop(pending)
            if self.store is not None:
                self.store.delete(_NS_PENDING, f"{item.seq:020d}")
            if isinstance(item.command, SubmitOrder):
                self._accept(item.command, item.arrival_ns, events)
            elif isinstance(item.command, ReplaceOrder):
                self._replace(item.command, item.arrival_ns, events)
            else:
                self._cancel(item.command, item.arrival_ns, events)

    def _accept(
        self,
        cmd: SubmitOrder,
        ts: int,
        events: list[OrderEvent],
        parent_id: ClientOrderId | None = None,
        siblings: tuple[ClientOrderId, ...] = (),
    ) -> None:
        venue_id = VenueOrderId(f"{self.config.venue_id}-{self._next_seq()}")
        working = _Working(cmd, venue_id, parent_id, siblings, fresh=parent_id is None)
        if parent_id is not None:
            working.active_after_ts = ts
        self._working.setdefault(cmd.symbol, {})[cmd.client_order_id] = working
        self._save_working(working)
        events.append(OrderAccepted(cmd.client_order_id, venue_id, cmd.symbol, ts, parent_id))

    def _cancel(self, cmd: CancelOrder, ts: int, events: list[OrderEvent]) -> None:
        working = self._working.get(cmd.symbol, {}).pop(cmd.client_order_id, None)
        if working is None:
            state = self._final.get(cmd.client_order_id, "unknown")
            reason = f"order {cmd.client_order_id} is {state}" if state != "unknown" else "unknown order"
            events.append(OrderCancelRejected(cmd.client_order_id, cmd.symbol, reason, ts))
            return
        self._set_final(cmd.client_order_id, "CANCELLED", cmd.symbol)
        events.append(OrderCancelled(cmd.client_order_id, cmd.symbol, ts, "cancelled by client"))

    def _replace(self, cmd: ReplaceOrder, ts: int, events: list[OrderEvent]) -> None:
        working = self._working.get(cmd.symbol, {}).get(cmd.client_order_id)
        if working is None:
            state = self._final.get(cmd.client_order_id, "unknown")
            reason = f"replace rejected: order {cmd.client_order_id} is {state}"
            events.append(OrderCancelRejected(cmd.client_order_id, cmd.symbol, reason, ts))
            return
        try:
            new = cmd.applied_to(working.cmd)
            if not self.instruments.get(cmd.symbol).is_valid_size(new.qty):
                raise OrderError(f"qty {new.qty} is off the instrument's size grid")
        except OrderError as exc:
            events.append(
                OrderCancelRejected(cmd.client_order_id, cmd.symbol, f"replace rejected: {exc}", ts)
            )
            return
        working.cmd, working.fresh = new, working.parent_id is None
        self._save_working(working)
        events.append(
            OrderReplaced(cmd.client_order_id, cmd.symbol, ts, new.qty, new.limit_price, new.stop_price)
        )

    # ------------------------------------------------------------------------------------- durable state
    def _next_seq(self) -> int:
        self._seq += 1
        if self.store is not None:
            self.store.put(_NS_META, "seq", _enc.encode(self._seq))
        return self._seq

    def _add_known(self, cid: ClientOrderId) -> None:
        self._known.add(cid)
        if self.store is not None:
            self.store.put(_NS_IDS, cid, b"KNOWN")

    def _set_final(self, cid: ClientOrderId, state: str, symbol: str = "") -> None:
        self._final[cid] = state
        if self.store is not None:
            self.store.put(_NS_IDS, cid, state.encode())
            if symbol:
                self.store.delete(_NS_WORKING, cid)

    def _save_working(self, w: _Working) -> None:
        if self.store is not None:
            rec = _WorkingRec(w.cmd, w.venue_order_id, w.parent_id, w.siblings, w.fresh, w.active_after_ts)
            self.store.put(_NS_WORKING, w.cmd.client_order_id, _enc.encode(rec))

    def restore(self) -> int:
        """Reload the book (working and in-flight orders, ids seen, positions, counters) from ``store``;
        returns the number of working plus in-flight orders."""
        if self.store is None:
            return 0
        dec = msgspec.msgpack.Decoder
        for cid, state in self.store.items(_NS_IDS):
            if state == b"KNOWN":
                self._known.add(ClientOrderId(cid))
            else:
                self._known.add(ClientOrderId(cid))
                self._final[ClientOrderId(cid)] = state.decode()
        n = 0
        for _, blob in self.store.items(_NS_WORKING):
            r = dec(_WorkingRec).decode(blob)
            w = _Working(r.cmd, r.venue_order_id, r.parent_id, tuple(r.siblings), r.fresh, r.active_after_ts)
            self._working.setdefault(r.cmd.symbol, {})[r.cmd.client_order_id] = w
            n += 1
        for _, blob in self.store.items(_NS_PENDING):
            pr = dec(_PendingRec).decode(blob)
            heapq.heappush(
                self._pending.setdefault(pr.command.symbol, []), _Pending(pr.arrival_ns, pr.seq, pr.command)
            )
            n += 1
        for sym, blob in self.store.items(_NS_NET):
            self._net[sym] = dec(float).decode(blob)
        meta = dict(self.store.items(_NS_META))
        self._seq = dec(int).decode(meta["seq"]) if "seq" in meta else 0
        self._fill_seq = dec(int).decode(meta["fill_seq"]) if "fill_seq" in meta else 0
        return n

    def _match(self, symbol: str, quote: Quote, events: list[OrderEvent], fresh_only: bool) -> None:
        book = self._working.get(symbol)
        if not book:
            return
        inst = self.instruments.get(symbol)
        for cid in list(book):
            working = book.get(cid)
            if (
                working is None
                or (fresh_only and not working.fresh)
                or quote.ts_ns <= working.active_after_ts
            ):
                continue
            if working.cmd.expire_ns is not None and quote.ts_ns >= working.cmd.expire_ns:
                del book[cid]  # GTD: expired by venue time before this quote could fill it
                self._set_final(cid, "EXPIRED", symbol)
                events.append(OrderExpired(cid, symbol, working.cmd.expire_ns))
                continue
            was_fresh, working.fresh = working.fresh, False
            if was_fresh:
                self._save_working(working)
            priced = self._fill_price(working.cmd, quote, inst, was_fresh)
            if priced is not None:
                self._fill(working, priced[0], priced[1], quote.ts_ns, inst, events)
            elif was_fresh and working.cmd.time_in_force is TimeInForce.IOC:
                del book[cid]
                self._set_final(cid, "EXPIRED", symbol)
                events.append(OrderExpired(cid, symbol, quote.ts_ns))

    def _fill_price(
        self, cmd: SubmitOrder, q: Quote, inst: Instrument, on_arrival: bool
    ) -> tuple[float, Liquidity] | None:
        buy = cmd.side is OrderSide.BUY
        if cmd.type is OrderType.MARKET:
            return taker_price(cmd.side, q.bid, q.ask, inst, self.config), Liquidity.TAKER
        if cmd.type is OrderType.STOP:
            assert cmd.stop_price is not None
            triggered = q.ask >= cmd.stop_price if buy else q.bid <= cmd.stop_price
            return (
                (taker_price(cmd.side, q.bid, q.ask, inst, self.config), Liquidity.TAKER)
                if triggered
                else None
            )
        assert cmd.limit_price is not None
        limit = cmd.limit_price
        if not (q.ask <= limit if buy else q.bid >= limit):
            return None
        if not on_arrival:
            return limit, Liquidity.MAKER
        price = taker_price(cmd.side, q.bid, q.ask, inst, self.config)
        return (min(price, limit) if buy else max(price, limit)), Liquidity.TAKER

    def _fill(
        self,
        w: _Working,
        price: float,
        liquidity: Liquidity,
        ts: int,
        inst: Instrument,
        events: list[OrderEvent],
    ) -> None:
        cmd = w.cmd
        del self._working[cmd.symbol][cmd.client_order_id]
        self._set_final(cmd.client_order_id, "FILLED", cmd.symbol)
        self._net[cmd.symbol] = self._net.get(cmd.symbol, 0.0) + cmd.side.sign * cmd.qty
        self._fill_seq += 1
        if self.store is not None:
            self.store.put(_NS_NET, cmd.symbol, _enc.encode(self._net[cmd.symbol]))
            self.store.put(_NS_META, "fill_seq", _enc.encode(self._fill_seq))
        events.append(
            OrderFilled(
                cmd.client_order_id,
                w.venue_order_id,
                f"{self.config.venue_id}-F{self._fill_seq}",
                cmd.symbol,
                cmd.side,
                price,
                cmd.qty,
                fee(price, cmd.qty, True, inst, self.config),
                liquidity,
                ts,
            )
        )
        for sibling in w.siblings:  # OCO
            if self._working[cmd.symbol].pop(sibling, None) is not None:
                self._set_final(sibling, "CANCELLED", cmd.symbol)
                events.append(OrderCancelled(sibling, cmd.symbol, ts, "oco"))
        if cmd.has_bracket and w.parent_id is None:
            children = bracket_children(cmd, cmd.qty)
            ids = tuple(c.client_order_id for c in children)
            for child in children:
                self._add_known(child.client_order_id)
                others = tuple(i for i in ids if i != child.client_order_id)
                self._accept(child, ts, events, parent_id=cmd.client_order_id, siblings=others)


def make_paper_venue(context: VenueContext) -> PaperVenue:
    """The ``paper`` venue factory: ``context.options`` are ``PaperVenueConfig`` fields."""
    try:
        config = msgspec.convert(dict(context.options), PaperVenueConfig, strict=False)
    except (msgspec.ValidationError, VenueError) as exc:
        raise VenueError(f"bad paper venue options: {exc}") from exc
    venue = PaperVenue(config, context.instruments, context.clock, context.store)
    venue.restore()  # its book as journaled (nothing without a store)
    return venue


def _first(mask: npt.NDArray[np.bool_], below: int) -> int:
    """The first True index of ``mask`` before ``below`` (else ``below``)."""
    hits = np.flatnonzero(mask[:below])
    return int(hits[0]) if hits.size else below
