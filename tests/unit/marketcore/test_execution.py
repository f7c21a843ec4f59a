"""ExecutionEngine without processes: risk -> venue -> tracker -> portfolio -> brackets, duplicates, unknown
symbols, the kill switch, orphan-bracket cancels, emulated and venue-held SL/TP, replace, asynchronous venue
events, and the journal: recovery of the books, original acks for resent intents, reconciliation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from marketcore.clock import DataClock
from marketcore.execution import Ack, ExecutionEngine, Journal
from marketcore.instruments import InstrumentRegistry
from marketcore.orders import (
    CancelOrder,
    ClientOrderId,
    OrderAccepted,
    OrderEvent,
    OrderFilled,
    OrderRejected,
    OrderSide,
    OrderStatus,
    OrderType,
    ReplaceOrder,
    SubmitOrder,
    VenueOrderId,
)
from marketcore.orders.messages import Liquidity
from marketcore.paper import PaperVenue, PaperVenueConfig
from marketcore.risk import RiskEngine, RiskLimits
from marketcore.schema import TICK_DTYPE
from marketcore.venue import EventListener, VenueCapabilities, VenueOrder

pytestmark = pytest.mark.timeout(60)
E, BUY, SELL = "EURUSD", OrderSide.BUY, OrderSide.SELL
INST = InstrumentRegistry.default()


def buy(cid: str, qty: float = 1000.0, side: OrderSide = BUY, **kw: object) -> SubmitOrder:
    return SubmitOrder(ClientOrderId(cid), E, side, qty, **kw)  # type: ignore[arg-type]


def ticks(*rows: tuple[int, float, float]) -> np.ndarray:
    out = np.zeros(len(rows), dtype=TICK_DTYPE)
    for i, (ts, bid, ask) in enumerate(rows):
        out[i] = (ts, bid, ask, np.nan, 0.0)
    return out


class Rig:
    """An engine on a paper venue (brackets emulated unless ``venue_brackets``), recording what it emits."""

    def __init__(self, path: Path | None = None, venue_brackets: bool = False, **limits: object) -> None:
        self.journal = Journal(path, "normal") if path else None
        self.clock = DataClock(1_000)
        self.venue = PaperVenue(
            PaperVenueConfig(supports_brackets=venue_brackets), INST, self.clock, self.journal
        )
        self.venue.restore()
        self.emitted: list[OrderEvent] = []
        risk = RiskEngine(RiskLimits(**limits), INST)  # type: ignore[arg-type]
        self.engine = ExecutionEngine(self.venue, INST, risk, self.clock, journal=self.journal,
                                      emit=lambda ev, origin: self.emitted.append(ev))  # fmt: skip

    def quote(self, ts: int, bid: float, ask: float | None = None) -> None:
        self.clock.advance(ts)
        self.engine.on_ticks(E, ticks((ts, bid, bid + 0.0002 if ask is None else ask)))

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.emitted]


def test_market_order_flows_to_fill_position_and_pnl() -> None:
    r = Rig()
    r.quote(1_000, 1.1000)
    ack = r.engine.submit(buy("a"))
    assert ack == Ack("a", True) and r.kinds() == ["OrderAccepted", "OrderFilled"]
    assert r.engine.portfolio.position(E).qty == 1000.0 and len(r.engine.fills) == 1
    r.quote(2_000, 1.1010)
    pnl = r.engine.pnl()["USD"]
    assert pnl["unrealised"] == pytest.approx((1.1010 - 1.1002) * 1000)
    assert r.engine.status()["orders"]["by_status"] == {"FILLED": 1}


def test_duplicates_get_the_original_answer_and_never_a_second_order() -> None:
    r = Rig(max_order_qty=5000.0)
    r.quote(1_000, 1.1)
    assert r.engine.submit(buy("a")).accepted
    again = r.engine.submit(buy("a", qty=3000.0))
    assert again == Ack("a", True, duplicate=True) and len(r.engine.fills) == 1
    big = r.engine.submit(buy("big", qty=9000.0))
    assert not big.accepted and big.rule == "max_order_qty"
    # a resend of a risk-rejected intent is answered the same way, not re-evaluated
    assert r.engine.submit(buy("big", qty=9000.0)) == Ack("big", False, big.reason, "max_order_qty", True)
    assert r.engine.counts["duplicates"] == 2 and r.engine.counts["intents"] == 4


def test_unknown_symbol_and_venue_rejection_are_refused_with_a_reason() -> None:
    r = Rig()
    ack = r.engine.submit(SubmitOrder(ClientOrderId("x"), "NOPE", BUY, 1.0))
    assert not ack.accepted and "unknown symbol" in ack.reason
    no_quote = r.engine.submit(buy("nq"))  # the paper venue has no quote yet
    assert not no_quote.accepted and "no quote" in no_quote.reason and r.kinds() == ["OrderRejected"]
    assert r.engine.counts["venue_rejected"] == 2


def test_kill_switch_halts_new_orders_but_not_cancels() -> None:
    r = Rig()
    r.quote(1_000, 1.1)
    assert r.engine.submit(buy("l", type=OrderType.LIMIT, limit_price=1.09)).accepted
    assert r.engine.set_kill_switch(True, "test")
    halted = r.engine.submit(buy("b"))
    assert not halted.accepted and halted.rule == "kill_switch"
    assert r.engine.cancel(CancelOrder(ClientOrderId("l"), E)).accepted
    assert r.engine.tracker.get("l").status is OrderStatus.CANCELLED  # type: ignore[union-attr]
    assert not r.engine.set_kill_switch(False) and r.engine.submit(buy("c")).accepted


def test_emulated_stop_loss_fires_a_market_exit_on_the_first_touching_quote() -> None:
    r = Rig()
    r.quote(1_000, 1.1000)
    assert r.engine.submit(buy("e", stop_loss=1.0950, take_profit=1.1100)).accepted
    assert [b.parent_id for b in r.engine.emulator.armed] == ["e"]
    levels = {(lv["kind"], lv["side"], lv["price"]) for lv in r.engine.working_levels()}
    assert levels == {("sl", "SELL", 1.0950), ("tp", "SELL", 1.1100)}
    r.quote(2_000, 1.0960)  # not yet
    r.engine.on_ticks(E, ticks((3_000, 1.0970, 1.0972), (3_001, 1.0949, 1.0951), (3_002, 1.0990, 1.0992)))
    exit_order = r.engine.tracker.get("e-sl")
    assert exit_order is not None and exit_order.status is OrderStatus.FILLED
    assert exit_order.avg_fill_price == 1.0949  # the touching row of the batch, not its newest
    assert r.engine.portfolio.position(E).qty == 0.0 and len(r.engine.emulator) == 0
    assert r.engine.counts["emulated_exits"] == 1


def test_closing_a_position_by_hand_disarms_emulated_and_cancels_venue_held_brackets() -> None:
    r = Rig()
    r.quote(1_000, 1.1)
    r.engine.submit(buy("e", stop_loss=1.09))
    r.engine.submit(buy("x", side=SELL))  # flat again by a plain order: the SL is an orphan
    assert len(r.engine.emulator) == 0 and r.engine.counts["bracket_cancels"] == 1
    v = Rig(venue_brackets=True)
    v.quote(1_000, 1.1)
    v.engine.submit(buy("e", stop_loss=1.09, take_profit=1.12))
    kids = {o.client_order_id for o in v.engine.tracker.open_orders()}
    assert kids == {"e-sl", "e-tp"} and len(v.venue.open_orders()) == 2
    v.engine.submit(buy("x", side=SELL))
    assert v.engine.tracker.open_orders() == [] and v.venue.open_orders() == []
    assert v.kinds().count("OrderCancelled") == 2 and v.engine.counts["bracket_cancels"] == 2


def test_venue_held_take_profit_fills_and_cancels_its_sibling() -> None:
    r = Rig(venue_brackets=True)
    r.quote(1_000, 1.1)
    r.engine.submit(buy("e", stop_loss=1.09, take_profit=1.105))
    r.quote(2_000, 1.1060)
    tp, sl = r.engine.tracker.get("e-tp"), r.engine.tracker.get("e-sl")
    assert tp.status is OrderStatus.FILLED and sl.status is OrderStatus.CANCELLED  # type: ignore[union-attr]
    assert r.engine.portfolio.position(E).qty == 0.0


def test_replace_passes_risk_and_amends_the_working_order() -> None:
    r = Rig(max_order_qty=5000.0)
    r.quote(1_000, 1.1)
    r.engine.submit(buy("l", type=OrderType.LIMIT, limit_price=1.09))
    too_big = r.engine.replace(ReplaceOrder(ClientOrderId("l"), E, qty=9000.0))
    assert not too_big.accepted and too_big.rule == "max_order_qty"
    assert r.engine.replace(ReplaceOrder(ClientOrderId("l"), E, limit_price=1.0950)).accepted
    assert r.engine.tracker.get("l").command.limit_price == 1.095  # type: ignore[union-attr]
    bad = r.engine.replace(ReplaceOrder(ClientOrderId("zz"), E, qty=1.0))
    assert not bad.accepted and "no working order" in bad.reason


class AsyncVenue:
    """A broker-like venue: nothing is known at once, events arrive later from 'its thread'."""

    name = "async"

    def __init__(self) -> None:
        self.inbox: list[OrderEvent] = []
        self.sent: list[SubmitOrder] = []
        self.listener: EventListener | None = None

    @property
    def capabilities(self) -> VenueCapabilities:
        return VenueCapabilities(brackets=False, replace=False, quotes=False)

    def start(self) -> None: ...
    def close(self) -> None: ...

    def submit(self, cmd: SubmitOrder, now_ns: int) -> list[OrderEvent]:
        self.sent.append(cmd)
        return []

    def cancel(self, cmd: CancelOrder, now_ns: int) -> list[OrderEvent]:
        return []

    def replace(self, cmd: ReplaceOrder, now_ns: int) -> list[OrderEvent]:
        return []

    def on_quote(self, symbol: str, ts_ns: int, bid: float, ask: float) -> list[OrderEvent]:
        return []

    def poll_events(self) -> list[OrderEvent]:
        out, self.inbox = self.inbox, []
        return out

    def set_event_listener(self, listener: EventListener | None) -> None:
        self.listener = listener

    def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        return [VenueOrder(c.client_order_id, c.symbol, c.side, c.qty, 0.0, c.type) for c in self.sent]

    def positions(self) -> dict[str, float]:
        return {}

    def busy(self, symbol: str) -> bool:
        return False


def test_asynchronous_venue_events_are_drained_and_brackets_emulated() -> None:
    venue = AsyncVenue()
    emitted: list[OrderEvent] = []
    eng = ExecutionEngine(venue, INST, RiskEngine(RiskLimits(), INST), DataClock(0),
                          emit=lambda ev, o: emitted.append(ev))  # fmt: skip
    eng.on_ticks(E, ticks((10, 1.1, 1.1002)))
    assert eng.submit(buy("a", stop_loss=1.09)).accepted and emitted == []
    assert venue.sent[0].stop_loss is None  # the venue cannot hold brackets: emulated here
    venue.inbox += [OrderAccepted(ClientOrderId("a"), VenueOrderId("V1"), E, 11),
                    OrderFilled(ClientOrderId("a"), VenueOrderId("V1"), "F1", E, BUY, 1.1002, 1000.0, 0.0,
                                Liquidity.TAKER, 12)]  # fmt: skip
    assert eng.poll_venue() == 2 and [type(e).__name__ for e in emitted] == ["OrderAccepted", "OrderFilled"]
    assert [b.parent_id for b in eng.emulator.armed] == ["a"] and eng.portfolio.position(E).qty == 1000.0
    assert not eng.replace(ReplaceOrder(ClientOrderId("a"), E, qty=5.0)).accepted


def test_events_are_emitted_only_after_the_journal_commit(tmp_path: Path) -> None:
    r = Rig(tmp_path / "t.journal")
    seen: list[bool] = []
    assert r.journal is not None
    r.engine._emit = lambda ev, o: seen.append(r.journal.dirty)  # type: ignore[union-attr]  # noqa: SLF001
    r.quote(1_000, 1.1)
    r.engine.submit(buy("a"))
    assert seen == [False, False]


def test_recovery_rebuilds_books_brackets_acks_and_the_venue_book(tmp_path: Path) -> None:
    path = tmp_path / "trader.journal"
    r = Rig(path, max_order_qty=5000.0)
    r.quote(1_000, 1.1000)
    r.engine.submit(buy("e", stop_loss=1.0950))  # emulated SL armed
    r.engine.submit(buy("l", type=OrderType.LIMIT, limit_price=1.0900))  # resting at the venue
    r.engine.submit(buy("s", side=SELL, qty=400.0))
    r.engine.submit(buy("big", qty=9000.0))  # risk-rejected
    r.engine.set_kill_switch(True, "night")
    r.quote(2_000, 1.1010)
    before = (r.engine.positions(), r.engine.pnl(), dict(r.engine.acks), len(r.engine.fills))
    r.journal.close()  # type: ignore[union-attr]

    again = Rig(path, max_order_qty=5000.0)
    assert again.engine.recover() > 0
    assert again.engine.reconcile() == []
    again.engine.portfolio.on_quote(E, 1.1010, 1.1012)
    assert (
        again.engine.positions(),
        again.engine.pnl(),
        again.engine.acks,
        len(again.engine.fills),
    ) == before
    assert [b.parent_id for b in again.engine.emulator.armed] == ["e"] and again.engine.risk.halted
    assert [o.client_order_id for o in again.venue.open_orders()] == ["l"]
    assert again.engine.submit(buy("e")) == Ack("e", True, duplicate=True)
    again.engine.set_kill_switch(False)
    again.quote(3_000, 1.0890)  # down: the SL and the resting limit both trigger on the first quote
    assert again.engine.tracker.get("e-sl").status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert again.engine.tracker.get("l").status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert again.engine.portfolio.position(E).qty == pytest.approx(1000.0 - 400.0)
    assert again.venue.positions() == {E: pytest.approx(600.0)}
    fill_ids = [f.fill_id for f in again.engine.fills]
    assert len(set(fill_ids)) == len(fill_ids) == 4  # venue counters restored: no id reused


def test_an_order_journaled_but_never_at_the_venue_is_rejected_at_reconcile(tmp_path: Path) -> None:
    path = tmp_path / "t.journal"
    r = Rig(path)
    r.quote(1_000, 1.1)
    r.engine.submit(buy("a"))
    # the crash window: "sent" durable, the venue call and its result lost
    from marketcore.execution.journal import Sent

    r.journal.append(Sent(buy("lost")))  # type: ignore[union-attr]
    r.journal.commit()  # type: ignore[union-attr]
    again = Rig(path)
    again.engine.recover()
    (diff,) = again.engine.reconcile()
    assert diff.kind == "unknown_at_venue" and diff.client_order_id == "lost"
    assert again.engine.tracker.get("lost").status is OrderStatus.REJECTED  # type: ignore[union-attr]
    assert isinstance(again.emitted[-1], OrderRejected)
    resend = again.engine.submit(buy("lost"))
    assert resend.duplicate and not resend.accepted and len(again.engine.fills) == 1


def test_reconcile_reports_position_and_order_mismatches() -> None:
    venue = AsyncVenue()
    eng = ExecutionEngine(venue, INST, RiskEngine(RiskLimits(), INST), DataClock(0))
    venue.sent.append(buy("theirs"))
    (d,) = eng.reconcile()
    assert d.kind == "unknown_here" and d.client_order_id == "theirs"
    # an outside venue: an order it does not list stays SUBMITTED (its execution reports settle it)
    eng.on_ticks(E, ticks((10, 1.1, 1.1002)))
    eng.submit(buy("mine"))
    venue.sent.clear()
    (d,) = eng.reconcile()
    assert d.kind == "unknown_at_venue" and eng.tracker.get("mine").status is OrderStatus.SUBMITTED  # type: ignore[union-attr]
    venue.inbox.append(OrderAccepted(ClientOrderId("mine"), VenueOrderId("V9"), E, 11))
    assert eng.poll_venue() == 1 and eng.tracker.get("mine").status is OrderStatus.ACCEPTED  # type: ignore[union-attr]
    assert not math.isnan(eng.gross_notional())


def test_venue_held_brackets_survive_a_restart_and_trigger_on_the_next_quote(tmp_path: Path) -> None:
    path = tmp_path / "v.journal"
    r = Rig(path, venue_brackets=True)
    r.quote(1_000, 1.1000)
    r.engine.submit(buy("e", stop_loss=1.0950, take_profit=1.1100))
    assert {o.client_order_id for o in r.venue.open_orders()} == {"e-sl", "e-tp"}
    r.journal.close()  # type: ignore[union-attr]
    again = Rig(path, venue_brackets=True)
    again.engine.recover()
    assert again.engine.reconcile() == []
    again.quote(5_000, 1.0940)  # the stop was crossed while down: the first quote fills it, OCO cancels TP
    assert again.engine.tracker.get("e-sl").status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert again.engine.tracker.get("e-tp").status is OrderStatus.CANCELLED  # type: ignore[union-attr]
    assert again.engine.portfolio.position(E).qty == 0.0 and again.venue.open_orders() == []
