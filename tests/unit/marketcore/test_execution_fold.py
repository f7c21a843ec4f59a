"""The trader's stream folds an order's OrderAccepted into its first fill when the venue fills it in the same
step (``fold_accepts``); the tracker, the journal and recovery still see the acceptance. A resting order keeps
its OrderAccepted. Closing a position cancels only open bracket children (``OrderTracker.open_children``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from marketcore.clock import DataClock
from marketcore.execution import ExecutionEngine, Journal
from marketcore.instruments import InstrumentRegistry
from marketcore.orders import ClientOrderId, OrderEvent, OrderSide, OrderStatus, OrderType, SubmitOrder
from marketcore.paper import PaperVenue, PaperVenueConfig
from marketcore.risk import RiskEngine, RiskLimits
from marketcore.schema import TICK_DTYPE

pytestmark = pytest.mark.timeout(60)
E = "EURUSD"
INST = InstrumentRegistry.default()


def _engine(path: Path | None, brackets: bool = False) -> tuple[ExecutionEngine, list[OrderEvent], DataClock]:
    journal = Journal(path, "normal") if path else None
    clock = DataClock(1_000)
    venue = PaperVenue(PaperVenueConfig(supports_brackets=brackets), INST, clock, journal)
    venue.restore()
    out: list[OrderEvent] = []
    eng = ExecutionEngine(venue, INST, RiskEngine(RiskLimits(), INST), clock, journal=journal,
                          emit=lambda ev, origin: out.append(ev), fold_accepts=True)  # fmt: skip
    eng.recovered = eng.recover()
    return eng, out, clock


def _quote(eng: ExecutionEngine, clock: DataClock, ts: int, bid: float) -> None:
    clock.advance(ts)
    row = np.zeros(1, dtype=TICK_DTYPE)
    row[0] = (ts, bid, bid + 0.0002, np.nan, 0.0)
    eng.on_ticks(E, row)


def test_immediate_fill_publishes_only_the_fill_and_recovers(tmp_path: Path) -> None:
    eng, out, clock = _engine(tmp_path / "t.journal")
    _quote(eng, clock, 1_000, 1.1)
    assert eng.submit(SubmitOrder(ClientOrderId("a"), E, OrderSide.BUY, 1000.0)).accepted
    assert [type(e).__name__ for e in out] == ["OrderFilled"]
    order = eng.tracker.get("a")
    assert order is not None and order.status is OrderStatus.FILLED and order.venue_order_id
    # a limit order that rests keeps its OrderAccepted (no fill in that step), then its fill comes alone
    out.clear()
    lim = SubmitOrder(ClientOrderId("b"), E, OrderSide.BUY, 1000.0, type=OrderType.LIMIT, limit_price=1.09)
    assert eng.submit(lim).accepted
    assert [type(e).__name__ for e in out] == ["OrderAccepted"]
    _quote(eng, clock, 2_000, 1.0895)
    assert [type(e).__name__ for e in out] == ["OrderAccepted", "OrderFilled"]
    eng.close()
    again, _, _ = _engine(tmp_path / "t.journal")  # the journal holds the acceptance: the books come back
    assert again.recovered > 0 and again.portfolio.position(E).qty == 2000.0
    assert {o.client_order_id: o.status for o in again.tracker.orders()} == {
        "a": OrderStatus.FILLED, "b": OrderStatus.FILLED}  # fmt: skip
    assert again.reconcile() == []
    again.close()


def test_closing_a_position_cancels_venue_held_brackets_only() -> None:
    eng, out, clock = _engine(None, brackets=True)
    _quote(eng, clock, 1_000, 1.1)
    entry = SubmitOrder(ClientOrderId("e"), E, OrderSide.BUY, 1000.0, stop_loss=1.09, take_profit=1.12)
    assert eng.submit(entry).accepted
    rest = SubmitOrder(ClientOrderId("r"), E, OrderSide.BUY, 1000.0, type=OrderType.LIMIT, limit_price=1.0)
    assert eng.submit(rest).accepted
    _quote(eng, clock, 2_000, 1.1)  # the children become active
    assert len(eng.tracker.open_children(E)) == 2 and len(eng.tracker.open_orders(E)) == 3
    assert eng.submit(SubmitOrder(ClientOrderId("x"), E, OrderSide.SELL, 1000.0)).accepted  # flat again
    _quote(eng, clock, 3_000, 1.1)
    assert eng.tracker.open_children(E) == [] and eng.counts["bracket_cancels"] == 2
    assert [o.client_order_id for o in eng.tracker.open_orders(E)] == ["r"]  # the plain resting order stays
