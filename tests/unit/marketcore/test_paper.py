"""Paper venue: order types, latency, fee/slippage math, brackets, cancels, bad input, real-tick replay."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from marketcore.brackets import BracketEmulator, EmulatedBracket
from marketcore.errors import OrderError, VenueError
from marketcore.orders import (
    CancelOrder,
    ClientOrderId,
    Liquidity,
    OrderAccepted,
    OrderCancelled,
    OrderCancelRejected,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSide,
    OrderStatus,
    OrderTracker,
    OrderType,
    SubmitOrder,
    TimeInForce,
)
from marketcore.paper import PaperVenue, PaperVenueConfig

REPO = Path(__file__).resolve().parents[3]
DATA = Path(os.environ.get("TRADEHIVE_DATA", REPO.parent / "shared" / "data"))
TICK_ZIP = DATA / "fxcm" / "tick" / "eurusd" / "20140508_quote.zip"

BUY, SELL = OrderSide.BUY, OrderSide.SELL
E = "EURUSD"


def order(cid: str, side: OrderSide = BUY, qty: float = 1000.0, **kw: object) -> SubmitOrder:
    return SubmitOrder(ClientOrderId(cid), E, side, qty, **kw)  # type: ignore[arg-type]


def venue(**kw: object) -> PaperVenue:
    v = PaperVenue(PaperVenueConfig(**kw))  # type: ignore[arg-type]
    v.on_quote(E, 100, 1.39100, 1.39110)
    return v


def fills(events: list[object]) -> list[OrderFilled]:
    return [e for e in events if isinstance(e, OrderFilled)]


def test_market_orders_fill_at_the_quoted_side() -> None:
    v = venue()
    ev = v.submit(order("b"), now_ns=100)
    assert isinstance(ev[0], OrderAccepted) and ev[0].ts_ns == 100
    (f,) = fills(ev)
    assert (f.price, f.qty, f.side, f.liquidity, f.ts_ns, f.fee) == (
        1.39110,
        1000.0,
        BUY,
        Liquidity.TAKER,
        100,
        0.0,
    )
    (f,) = fills(v.submit(order("s", SELL), now_ns=100))
    assert f.price == 1.39100


def test_latency_fills_against_first_quote_at_or_after_arrival() -> None:
    v = venue(latency_ns=50)
    assert v.submit(order("b"), now_ns=100) == []  # in flight
    assert v.on_quote(E, 149, 1.39200, 1.39210) == []  # before arrival (150)
    ev = v.on_quote(E, 150, 1.39300, 1.39310)
    assert isinstance(ev[0], OrderAccepted) and ev[0].ts_ns == 150
    (f,) = fills(ev)
    assert (f.price, f.ts_ns) == (1.39310, 150)
    v.submit(order("c", SELL), now_ns=200)
    ev = v.on_quote(E, 400, 1.39000, 1.39010)
    assert ev[0].ts_ns == 250 and fills(ev)[0].price == 1.39000 and fills(ev)[0].ts_ns == 400


def test_slippage_ticks_and_bps_and_fees() -> None:
    v = venue(slippage_ticks=2, fee_bps=0.5, fee_per_order=3.0)
    (f,) = fills(v.submit(order("b", qty=100_000.0), now_ns=100))
    assert f.price == pytest.approx(1.39112, abs=1e-12)
    assert f.fee == pytest.approx(100_000 * 1.39112 * 0.5e-4 + 3.0)
    (f,) = fills(v.submit(order("s", SELL, qty=100_000.0), now_ns=100))
    assert f.price == pytest.approx(1.39098, abs=1e-12)
    v2 = venue(slippage_bps=1.0)  # 1 bp of 1.39110 = 0.0001391 -> rounded up to the tick grid
    (f,) = fills(v2.submit(order("b"), now_ns=100))
    assert f.price == pytest.approx(1.39124, abs=1e-12)


def test_resting_limit_fills_at_limit_when_crossed_and_marketable_limit_takes() -> None:
    v = venue()
    ev = v.submit(order("l", type=OrderType.LIMIT, limit_price=1.39050), now_ns=100)
    assert [type(e) for e in ev] == [OrderAccepted]
    assert v.on_quote(E, 200, 1.39060, 1.39051) == []  # ask 1 tick above the limit
    (f,) = fills(v.on_quote(E, 300, 1.39040, 1.39030))  # gapped through: still the limit price
    assert (f.price, f.liquidity, f.ts_ns) == (1.39050, Liquidity.MAKER, 300)
    (f,) = fills(v.submit(order("m", type=OrderType.LIMIT, limit_price=1.39200), now_ns=300))
    assert (f.price, f.liquidity) == (1.39030, Liquidity.TAKER)  # marketable on arrival: at the quote
    (f,) = fills(v.submit(order("ms", SELL, type=OrderType.LIMIT, limit_price=1.39000), now_ns=300))
    assert f.price == 1.39040


def test_stop_orders_trigger_then_fill_as_market() -> None:
    v = venue()
    v.submit(order("ss", SELL, type=OrderType.STOP, stop_price=1.39000), now_ns=100)
    v.submit(order("bs", BUY, type=OrderType.STOP, stop_price=1.39200), now_ns=100)
    assert v.on_quote(E, 200, 1.39001, 1.39199) == []
    ev = v.on_quote(E, 300, 1.38990, 1.39000)
    assert [(f.client_order_id, f.price) for f in fills(ev)] == [("ss", 1.38990)]
    ev = v.on_quote(E, 400, 1.39210, 1.39205)  # crossed quote: the buy stop fills at the ask as quoted
    assert [(f.client_order_id, f.price, f.ts_ns) for f in fills(ev)] == [("bs", 1.39205, 400)]


def test_ioc_limit_that_cannot_fill_expires() -> None:
    v = venue()
    ev = v.submit(order("i", type=OrderType.LIMIT, limit_price=1.39000, time_in_force=TimeInForce.IOC), 100)
    assert [type(e) for e in ev] == [OrderAccepted, OrderExpired]
    assert v.open_orders() == []


def test_crossed_and_locked_quotes_fill_at_quoted_side() -> None:
    v = venue()
    v.on_quote(E, 200, 1.39120, 1.39110)  # crossed
    assert fills(v.submit(order("b"), 200))[0].price == 1.39110
    assert fills(v.submit(order("s", SELL), 200))[0].price == 1.39120
    v.on_quote(E, 300, 1.39115, 1.39115)  # locked
    assert fills(v.submit(order("b2"), 300))[0].price == 1.39115
    assert v.bad_quotes == 0


@pytest.mark.parametrize(
    ("cmd", "reason"),
    [
        (SubmitOrder(ClientOrderId("x"), "BTCUSD", BUY, 1.0), "unknown symbol"),
        (SubmitOrder(ClientOrderId("x"), "NZDUSD", BUY, 1.0), "no quote yet"),
        (order("x", qty=10.5), "not a multiple"),
    ],
)
def test_rejections_with_reason(cmd: SubmitOrder, reason: str) -> None:
    (ev,) = venue(latency_ns=7).submit(cmd, 100)
    assert isinstance(ev, OrderRejected) and reason in ev.reason and ev.ts_ns == 107


def test_duplicate_client_order_id_rejected_not_placed_twice() -> None:
    v = venue()
    assert len(fills(v.submit(order("d"), 100))) == 1
    (ev,) = v.submit(order("d"), 100)
    assert isinstance(ev, OrderRejected) and "duplicate" in ev.reason


def test_cancel_working_order_and_reject_cancel_of_filled_or_unknown() -> None:
    v = venue(latency_ns=10)
    v.submit(order("l", type=OrderType.LIMIT, limit_price=1.39000), 100)
    v.cancel(CancelOrder(ClientOrderId("l"), E), 105)
    ev = v.on_quote(E, 200, 1.38900, 1.38990)  # would fill, but the cancel arrived first (at 115)
    assert [type(e) for e in ev] == [OrderAccepted, OrderCancelled]
    v.cancel(CancelOrder(ClientOrderId("l"), E), 200)
    v.cancel(CancelOrder(ClientOrderId("ghost"), E), 200)
    ev = v.on_quote(E, 300, 1.38900, 1.38990)
    assert [type(e) for e in ev] == [OrderCancelRejected, OrderCancelRejected]
    assert "CANCELLED" in ev[0].reason and "unknown" in ev[1].reason


def test_bracket_children_are_oco_and_tracked() -> None:
    v = venue()
    tracker = OrderTracker()
    parent = order("p", stop_loss=1.39000, take_profit=1.39300)
    tracker.track(parent).order.mark_submitted()
    ev = v.submit(parent, 100)
    assert [type(e) for e in ev] == [OrderAccepted, OrderFilled, OrderAccepted, OrderAccepted]
    assert {e.client_order_id for e in ev[2:]} == {"p-sl", "p-tp"} and all(e.parent_id == "p" for e in ev[2:])
    ev += v.on_quote(E, 200, 1.39310, 1.39320)  # bid reaches the take-profit
    assert [(type(e), e.client_order_id) for e in ev[4:]] == [(OrderFilled, "p-tp"), (OrderCancelled, "p-sl")]
    assert fills(ev)[-1].price == 1.39300 and fills(ev)[-1].side is SELL
    for e in ev:
        tracker.apply(e)
    assert tracker.get("p-tp").status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert tracker.get("p-sl").status is OrderStatus.CANCELLED  # type: ignore[union-attr]
    assert v.open_orders() == []


def test_brackets_rejected_when_unsupported() -> None:
    (ev,) = venue(supports_brackets=False).submit(order("p", stop_loss=1.39), 100)
    assert isinstance(ev, OrderRejected) and "brackets not supported" in ev.reason


def test_bad_and_stale_quotes_are_counted_and_skipped() -> None:
    v = venue()
    assert v.on_quote(E, 200, float("nan"), 1.3) == [] and v.on_quote(E, 200, 0.0, 1.3) == []
    assert v.on_quote(E, 50, 1.3, 1.3) == []
    assert (v.bad_quotes, v.stale_quotes) == (2, 1)
    assert v.quote(E).ts_ns == 100  # type: ignore[union-attr]


def test_trade_prints_act_as_last_price_quotes() -> None:
    v = PaperVenue(PaperVenueConfig())
    v.on_trade("XRPETH", 1, 0.00137000)
    v.submit(SubmitOrder(ClientOrderId("x"), "XRPETH", BUY, 100.0, OrderType.LIMIT, limit_price=0.00136), 1)
    (f,) = fills(v.on_trade("XRPETH", 2, 0.00135900))
    assert f.price == 0.00136 and f.symbol == "XRPETH"


def test_bad_config_raises() -> None:
    with pytest.raises(VenueError):
        PaperVenueConfig(latency_ns=-1)
    with pytest.raises(VenueError):
        PaperVenueConfig(fee_bps=float("nan"))


def test_bracket_emulator_emits_one_closing_order() -> None:
    emu = BracketEmulator()
    emu.arm_from_entry(order("p", stop_loss=1.39000, take_profit=1.39300), 1000.0)
    emu.arm(EmulatedBracket(ClientOrderId("q"), E, SELL, 500.0, 1.39200, None))
    assert emu.on_quote(E, 1, 1.39100, 1.39110) == []
    out = emu.on_quote(E, 2, 1.38990, 1.39210)  # crossed-wide: long SL on bid, short SL on ask
    assert [(o.client_order_id, o.side, o.qty, o.type) for o in out] == [
        ("p-sl", SELL, 1000.0, OrderType.MARKET),
        ("q-sl", BUY, 500.0, OrderType.MARKET),
    ]
    assert emu.on_quote(E, 3, 1.38000, 1.39500) == [] and emu.armed == []
    with pytest.raises(OrderError):
        emu.arm(EmulatedBracket(ClientOrderId("z"), E, BUY, 1.0, None, None))


def _real_ticks() -> np.ndarray:
    if not TICK_ZIP.exists():
        pytest.skip(f"real data absent: {TICK_ZIP} (set TRADEHIVE_DATA)")
    with zipfile.ZipFile(TICK_ZIP) as zf:
        arr = np.loadtxt(io.BytesIO(zf.read(zf.namelist()[0])), delimiter=",")
    day_ns = 1399507200 * 10**9 + 5 * 3600 * 10**9  # 2014-05-08 00:00 at UTC-05
    ts = day_ns + arr[:, 0].astype(np.int64) * 10**6
    return np.rec.fromarrays([ts, arr[:, 1], arr[:, 2]], names="ts,bid,ask")


@pytest.mark.timeout(120)
def test_replay_real_fxcm_ticks() -> None:
    ticks = _real_ticks()
    assert len(ticks) == 167_466 and np.any(ticks.bid >= ticks.ask)  # crossed/locked are present
    latency = 250_000_000
    v = PaperVenue(PaperVenueConfig(latency_ns=latency))
    submit_at = {20_000: order("m1"), 80_000: order("m2", SELL), 120_000: None}
    first = ticks[0]
    v.on_quote(E, int(first.ts), first.bid, first.ask)
    events: list[object] = []
    limit_price = float(np.round(ticks.ask[120_000] - 0.00100, 5))
    for i in range(1, len(ticks)):
        t = ticks[i]
        if i in submit_at:
            cmd = submit_at[i] or order("lim", type=OrderType.LIMIT, limit_price=limit_price)
            events += v.submit(cmd, int(ticks.ts[i - 1]))
        events += v.on_quote(E, int(t.ts), float(t.bid), float(t.ask))
    by_id = {f.client_order_id: f for f in fills(events)}
    for idx, cid, col in ((20_000, "m1", "ask"), (80_000, "m2", "bid")):
        sent = ticks.ts[idx - 1]
        j = int(np.searchsorted(ticks.ts, sent + latency, side="left"))
        f = by_id[ClientOrderId(cid)]
        assert f.ts_ns == ticks.ts[j] and f.price == ticks[col][j]
    sent = ticks.ts[119_999]
    j0 = int(np.searchsorted(ticks.ts, sent + latency, side="left"))
    crossing = j0 + int(np.flatnonzero(ticks.ask[j0:] <= limit_price)[0])
    f = by_id[ClientOrderId("lim")]
    assert f.ts_ns == ticks.ts[crossing] and f.price == limit_price
    assert f.liquidity is (Liquidity.TAKER if crossing == j0 else Liquidity.MAKER)
    assert v.bad_quotes == 0 and v.stale_quotes == 0
