"""The seams of marketcore: the Clock, the Venue protocol and registry (paper venue: replace, positions,
reconciliation views) and the TickSource protocol and registry (simulator and paced replay of real data)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
from marketcore.clock import Clock, ClockError, DataClock, WallClock
from marketcore.errors import DataSourceError, OrderError, VenueError
from marketcore.instruments import InstrumentRegistry
from marketcore.orders import (
    CancelOrder,
    ClientOrderId,
    OrderCancelRejected,
    OrderFilled,
    OrderReplaced,
    OrderSide,
    OrderStatus,
    OrderTracker,
    OrderType,
    ReplaceOrder,
    SubmitOrder,
    decode,
    encode,
)
from marketcore.paper import PaperVenue, PaperVenueConfig
from marketcore.sources import (
    SourceContext,
    SpeedError,
    TickSource,
    make_tick_source,
    parse_speed,
    register_tick_source,
)
from marketcore.venue import Venue, VenueContext, available_venues, make_venue, register_venue

REPO = Path(__file__).resolve().parents[3]
DATA = Path(os.environ.get("TRADEHIVE_DATA", REPO.parent / "shared" / "data"))
E = "EURUSD"
pytestmark = pytest.mark.timeout(60)


def test_data_clock_follows_data_and_never_goes_back() -> None:
    c = DataClock(10)
    assert isinstance(c, Clock) and c.now_ns() == 10
    assert c.advance(50) == 50 and c.advance(20) == 50 and c.now_ns() == 50
    with pytest.raises(ClockError):
        DataClock(5, strict=True).advance(4)
    w = WallClock()
    a, b = w.now_ns(), w.now_ns()
    assert isinstance(w, Clock) and b >= a and abs(a - time.time_ns()) < 10**9


def test_venue_registry_builds_paper_by_name_with_options() -> None:
    clock = DataClock(100)
    v = make_venue("paper", VenueContext(InstrumentRegistry.default(), clock, {"supports_brackets": False}))
    assert isinstance(v, Venue) and v.name == "paper" and "paper" in available_venues()
    assert not v.capabilities.brackets and v.capabilities.quotes
    with pytest.raises(VenueError, match="unknown venue 'nope'.*paper"):
        make_venue("nope", VenueContext(InstrumentRegistry.default()))
    with pytest.raises(VenueError, match="bad paper venue options"):
        make_venue("paper", VenueContext(InstrumentRegistry.default(), options={"fee_bps": -1}))
    register_venue("notavenue", lambda ctx: object())  # type: ignore[arg-type,return-value]
    with pytest.raises(VenueError, match="not a Venue"):
        make_venue("notavenue", VenueContext(InstrumentRegistry.default()))


def test_paper_venue_takes_time_from_its_clock_when_none_is_passed() -> None:
    clock = DataClock(1_000)
    v = PaperVenue(PaperVenueConfig(latency_ns=50), clock=clock)
    v.on_quote(E, 1_000, 1.1, 1.1001)
    assert v.submit(SubmitOrder(ClientOrderId("a"), E, OrderSide.BUY, 1000.0)) == []  # in flight until 1050
    clock.advance(1_060)
    ev = v.on_quote(E, 1_060, 1.1, 1.1001)
    assert [type(e).__name__ for e in ev] == ["OrderAccepted", "OrderFilled"] and ev[0].ts_ns == 1_050
    assert v.positions() == {E: 1000.0} and v.poll_events() == []


def test_replace_amends_a_resting_limit_and_the_tracker_follows() -> None:
    v = PaperVenue(PaperVenueConfig())
    v.on_quote(E, 100, 1.1000, 1.1002)
    cmd = SubmitOrder(ClientOrderId("l"), E, OrderSide.BUY, 1000.0, OrderType.LIMIT, limit_price=1.0900)
    tracker = OrderTracker()
    tracker.track(cmd).order.mark_submitted()
    for e in v.submit(cmd, 100):
        tracker.apply(e)
    (working,) = v.open_orders()
    assert (working.client_order_id, working.limit_price, working.qty) == ("l", 1.09, 1000.0)
    ev = v.replace(ReplaceOrder(ClientOrderId("l"), E, qty=2000.0, limit_price=1.0950), 100)
    assert ev == [OrderReplaced(ClientOrderId("l"), E, 100, 2000.0, 1.0950, None)]
    for e in ev:
        tracker.apply(e)
    order = tracker.get("l")
    assert order is not None and order.command.qty == 2000.0 and order.command.limit_price == 1.095
    # the replaced price is marketable: it fills at the next quote crossing it, for the new qty
    (fill,) = [e for e in v.on_quote(E, 120, 1.0940, 1.0945) if isinstance(e, OrderFilled)]
    assert (fill.qty, fill.price) == (2000.0, 1.0950)
    tracker.apply(fill)
    assert order.status is OrderStatus.FILLED and v.positions() == {E: 2000.0}
    (rej,) = v.replace(ReplaceOrder(ClientOrderId("l"), E, qty=1000.0), 120)
    assert isinstance(rej, OrderCancelRejected) and "FILLED" in rej.reason


def test_replace_refuses_what_the_order_type_cannot_carry() -> None:
    v = PaperVenue(PaperVenueConfig())
    v.on_quote(E, 100, 1.1000, 1.1002)
    v.submit(SubmitOrder(ClientOrderId("s"), E, OrderSide.SELL, 1000.0, OrderType.STOP, stop_price=1.0), 100)
    (rej,) = v.replace(ReplaceOrder(ClientOrderId("s"), E, limit_price=1.2), 100)
    assert isinstance(rej, OrderCancelRejected) and "limit_price" in rej.reason
    (rej,) = v.replace(ReplaceOrder(ClientOrderId("s"), E, qty=1000.5), 100)
    assert isinstance(rej, OrderCancelRejected) and "grid" in rej.reason
    with pytest.raises(OrderError):
        ReplaceOrder(ClientOrderId("s"), E)  # changes nothing
    with pytest.raises(OrderError):
        ReplaceOrder(ClientOrderId("s"), E, qty=-1.0)
    (ok,) = v.replace(ReplaceOrder(ClientOrderId("s"), E, stop_price=1.05), 100)
    assert isinstance(ok, OrderReplaced) and ok.stop_price == 1.05
    assert v.cancel(CancelOrder(ClientOrderId("s"), E), 100)[0].client_order_id == "s"
    assert v.open_orders() == []


def test_replace_and_replaced_round_trip_the_codec() -> None:
    for m in (
        ReplaceOrder(ClientOrderId("x"), E, qty=5.0, ts_ns=3),
        OrderReplaced(ClientOrderId("x"), E, 4, 5.0),
    ):
        assert decode(encode(m)) == m


def test_simulator_source_by_name_streams_to_now_and_serves_the_same_history() -> None:
    t0 = 1_700_000_000 * 10**9
    src = make_tick_source("simulator", SourceContext({"symbols": [E], "seed": 3, "rate_hz": 50.0}, t0))
    assert isinstance(src, TickSource) and src.symbols == (E,) and src.live
    poll = src.poll(t0 + 10**9)
    ((sym, ticks),) = poll.runs
    assert sym == E and 30 < ticks.size < 80 and not poll.done and poll.wait_s > 0
    hist = src.history(E, t0, t0 + 10**9 + 1)
    assert np.array_equal(hist["ts"], ticks["ts"])
    with pytest.raises(DataSourceError):
        src.set_speed(2.0)
    with pytest.raises(DataSourceError, match="no \\['XXX'\\]"):
        make_tick_source("simulator", SourceContext({"symbols": ["XXX"]}))
    with pytest.raises(DataSourceError, match="unknown tick source"):
        make_tick_source("nope", SourceContext())
    register_tick_source("bad", lambda ctx: object())  # type: ignore[arg-type,return-value]
    with pytest.raises(DataSourceError, match="not a TickSource"):
        make_tick_source("bad", SourceContext())


def test_parse_speed() -> None:
    assert parse_speed("max") == "max" and parse_speed("3") == 3.0
    for bad in ("0", "x", "-2"):
        with pytest.raises(SpeedError):
            parse_speed(bad)


def test_replay_source_by_name_releases_real_ticks_in_order_at_max_speed() -> None:
    if not (DATA / "fxcm" / "tick" / "eurusd").is_dir():
        pytest.skip(f"recorded market data not found at {DATA} (set TRADEHIVE_DATA)")
    opts = {"data_dir": str(DATA / "fxcm" / "tick"), "symbols": [E], "start": "2014-05-08",
            "end": "2014-05-08T01:00", "speed": "max", "batch_max": 5000}  # fmt: skip
    src = make_tick_source("replay", SourceContext(opts))
    assert src.kind == "replay" and not src.live
    total, last = 0, -1
    while not (poll := src.poll(time.time_ns())).done:
        for _, t in poll.runs:
            assert t.size <= 5000 and t["ts"][0] >= last
            last, total = int(t["ts"][-1]), total + t.size
    assert total > 1000 and src.status()["finished"] and src.status()["progress"]["fraction"] == 1.0
    assert src.set_speed(2.0) == 2.0


def test_gtd_orders_expire_on_venue_time_and_risk_reads_its_clock() -> None:
    from marketcore.orders import OrderExpired, TimeInForce
    from marketcore.risk import RiskEngine, RiskLimits

    v = PaperVenue(PaperVenueConfig())
    v.on_quote(E, 100, 1.1000, 1.1002)
    gtd = SubmitOrder(ClientOrderId("g"), E, OrderSide.BUY, 1000.0, OrderType.LIMIT, limit_price=1.09,
                      time_in_force=TimeInForce.GTD, expire_ns=500)  # fmt: skip
    assert [type(e).__name__ for e in v.submit(gtd, 100)] == ["OrderAccepted"]
    assert v.on_quote(E, 499, 1.1, 1.1002) == []
    assert v.on_quote(E, 500, 1.08, 1.0802) == [OrderExpired(ClientOrderId("g"), E, 500)]  # not filled
    with pytest.raises(OrderError):
        SubmitOrder(ClientOrderId("x"), E, OrderSide.BUY, 1.0, time_in_force=TimeInForce.GTD)
    with pytest.raises(OrderError):
        SubmitOrder(ClientOrderId("x"), E, OrderSide.BUY, 1.0, expire_ns=5)
    clock = DataClock(0)
    risk = RiskEngine(RiskLimits(max_orders_per_second=1.0, order_burst=1), clock=clock)
    order = SubmitOrder(ClientOrderId("r"), E, OrderSide.BUY, 1.0)
    assert risk.check(order, 0.0, 1.1) is None and risk.check(order, 0.0, 1.1) is not None
    clock.advance(10**9)  # one second of data time refills one token
    assert risk.check(order, 0.0, 1.1) is None
