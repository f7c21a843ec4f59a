"""A busy quote batch (orders resting, in flight or SL/TP armed) scanned vectorised gives exactly what feeding
every row gives: the same events in the same order with the same prices and times, the same books, the same
venue quote and clock. Random order flow (market with SL/TP, limits, stops, GTD, IOC, cancels; latency;
emulated and venue-held brackets) over random batches with trade prints, bad rows and out-of-order rows."""

from __future__ import annotations

import numpy as np
import pytest
from marketcore.clock import DataClock
from marketcore.execution import ExecutionEngine
from marketcore.instruments import InstrumentRegistry
from marketcore.orders import (
    CancelOrder,
    ClientOrderId,
    OrderEvent,
    OrderSide,
    OrderType,
    SubmitOrder,
    TimeInForce,
)
from marketcore.paper import PaperVenue, PaperVenueConfig
from marketcore.risk import RiskEngine, RiskLimits
from marketcore.schema import TICK_DTYPE

pytestmark = pytest.mark.timeout(120)
E = "EURUSD"
INST = InstrumentRegistry.default()


def _engine(scan: bool, venue_brackets: bool, latency: int) -> tuple[ExecutionEngine, list[OrderEvent]]:
    clock = DataClock(0)
    venue = PaperVenue(PaperVenueConfig(supports_brackets=venue_brackets, latency_ns=latency), INST, clock)
    out: list[OrderEvent] = []
    eng = ExecutionEngine(venue, INST, RiskEngine(RiskLimits(), INST), clock,
                          emit=lambda ev, origin: out.append(ev))  # fmt: skip
    eng._scan_venue = scan
    eng.scan_min_rows = 2  # every busy batch of 2 rows or more scanned
    return eng, out


def _batch(rng: np.random.Generator, t0: int, mid: float, n: int) -> tuple[np.ndarray, float]:
    rows = np.zeros(n, dtype=TICK_DTYPE)
    steps = rng.normal(0.0, 0.0003, n)
    mids = mid + np.cumsum(steps)
    rows["ts"] = t0 + np.cumsum(rng.integers(1, 50, n))
    rows["bid"], rows["ask"] = np.round(mids - 0.00005, 5), np.round(mids + 0.00005, 5)
    rows["last"], rows["volume"] = np.nan, 0.0
    for i in range(n):
        r = rng.random()
        if r < 0.04:  # a trade print
            rows["last"][i], rows["bid"][i], rows["ask"][i] = round(mids[i], 5), np.nan, np.nan
        elif r < 0.06:  # a bad row
            rows["bid"][i] = rows["ask"][i] = rows["last"][i] = np.nan
        elif r < 0.08:  # out of order
            rows["ts"][i] -= 200
    return rows, float(mids[-1])


def _orders(rng: np.random.Generator, k: int, now: int, mid: float) -> list[SubmitOrder | CancelOrder]:
    out: list[SubmitOrder | CancelOrder] = []
    for j in range(int(rng.integers(0, 3))):
        cid = ClientOrderId(f"o-{k}-{j}")
        side = OrderSide.BUY if rng.random() < 0.5 else OrderSide.SELL
        sign, r, off = side.sign, rng.random(), float(rng.uniform(0.0, 0.002))
        if r < 0.3:
            out.append(SubmitOrder(cid, E, side, 1000.0, stop_loss=round(mid - sign * 0.001, 5),
                                   take_profit=round(mid + sign * 0.0015, 5)))  # fmt: skip
        elif r < 0.55:
            gtd = rng.random() < 0.3
            out.append(SubmitOrder(cid, E, side, 1000.0, type=OrderType.LIMIT, limit_price=round(mid - sign * off, 5),
                                   time_in_force=TimeInForce.GTD if gtd else TimeInForce.GTC,
                                   expire_ns=now + int(rng.integers(100, 3000)) if gtd else None))  # fmt: skip
        elif r < 0.7:
            out.append(
                SubmitOrder(cid, E, side, 1000.0, type=OrderType.STOP, stop_price=round(mid + sign * off, 5))
            )
        elif r < 0.8:
            out.append(SubmitOrder(cid, E, side, 1000.0, type=OrderType.LIMIT, limit_price=round(mid - sign * off, 5),
                                   time_in_force=TimeInForce.IOC))  # fmt: skip
        elif r < 0.9 and k > 2:
            out.append(CancelOrder(ClientOrderId(f"o-{int(rng.integers(0, k))}-0"), E, now))
        else:
            out.append(SubmitOrder(cid, E, side, 1000.0))
    return out


@pytest.mark.parametrize(("venue_brackets", "latency", "seed"), [(False, 0, 1), (False, 120, 2), (True, 0, 3),
                                                                  (True, 80, 4), (False, 30, 5)])  # fmt: skip
def test_scanned_batches_equal_row_by_row(venue_brackets: bool, latency: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    engines = [_engine(scan, venue_brackets, latency) for scan in (False, True)]
    t, mid, skipped_any = 1_000, 1.1, False
    for k in range(300):
        rows, mid = _batch(rng, t, mid, int(rng.integers(1, 60)))
        t = int(rows["ts"].max())
        for eng, _ in engines:
            eng.on_ticks(E, rows.copy())
        for cmd in _orders(rng, k, t, mid):
            for eng, _ in engines:
                if isinstance(cmd, SubmitOrder):
                    eng.submit(msg_copy(cmd), 0)
                else:
                    eng.cancel(cmd, 0)
        skipped_any |= engines[1][0].venue.busy(E) and rows.size > 3
    (a, out_a), (b, out_b) = engines
    assert out_a == out_b and len(out_a) > 100
    assert [f.price for f in a.fills] == [f.price for f in b.fills] and a.fills
    assert a.positions() == b.positions() and a.pnl() == b.pnl()
    assert a.venue.quote(E) == b.venue.quote(E) and a.quotes == b.quotes  # type: ignore[attr-defined]
    assert a.clock.now_ns() == b.clock.now_ns()
    assert [o.client_order_id for o in a.tracker.open_orders()] == [
        o.client_order_id for o in b.tracker.open_orders()
    ]
    assert a.emulator.armed == b.emulator.armed and skipped_any


def msg_copy(cmd: SubmitOrder) -> SubmitOrder:
    return cmd  # immutable: both engines may share it


def test_strict_data_clock_in_order_batches_never_go_back() -> None:
    """In-order data on a strict DataClock: a scanned batch must not move the clock back (it raises if so)."""
    clock = DataClock(0, strict=True)
    venue = PaperVenue(PaperVenueConfig(), INST, clock)
    eng = ExecutionEngine(venue, INST, RiskEngine(RiskLimits(), INST), clock)
    rows = np.zeros(64, dtype=TICK_DTYPE)
    rows["ts"], rows["bid"], rows["ask"], rows["last"] = np.arange(1, 65) * 10, 1.1, 1.1001, np.nan
    rows["bid"][40:], rows["ask"][40:] = 1.0, 1.0001  # a resting buy limit at 1.05 fills on row 40
    eng.on_ticks(E, rows[:1])
    lim = SubmitOrder(ClientOrderId("l"), E, OrderSide.BUY, 1000.0, type=OrderType.LIMIT, limit_price=1.05)
    assert eng.submit(lim).accepted
    eng.on_ticks(E, rows[1:])
    assert [f.ts_ns for f in eng.fills] == [410] and clock.now_ns() == 640
