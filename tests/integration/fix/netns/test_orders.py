"""Orders through the FIX adapter against QuickFIX's executor (FIX 4.4, fills every limit order at its price)
and ordermatch (FIX 4.2, a real limit book: orders rest, cross other sessions' orders, cancel)."""

from __future__ import annotations

from pathlib import Path

import pytest
from marketcore.orders import (
    CancelOrder,
    ClientOrderId,
    OrderSide,
    OrderType,
    ReplaceOrder,
    SubmitOrder,
    TimeInForce,
)

from .conftest import kinds, wait_events

pytestmark = pytest.mark.timeout(60)
BUY, SELL = OrderSide.BUY, OrderSide.SELL
NOW = 1_764_547_200_000_000_000


def order(cid: str, side: OrderSide, qty: float, type_: OrderType = OrderType.LIMIT, *, limit: float | None = None,
          stop: float | None = None, tif: TimeInForce = TimeInForce.GTC, symbol: str = "EURUSD") -> SubmitOrder:  # fmt: skip
    return SubmitOrder(ClientOrderId(cid), symbol, side, qty, type_, limit_price=limit, stop_price=stop,
                       time_in_force=tif)  # fmt: skip


def counterparty_position(cp, client: str, symbol: str = "EURUSD") -> float:
    """Net position implied by the fills the counterparty itself persisted as sent to ``client``."""
    pos = 0.0
    for m in cp.sent_messages(client):
        if m.msg_type == "8" and m.get(150) in ("1", "2", "F") and m.get(55) == symbol:
            pos += (1 if m.get(54) == "1" else -1) * float(m.get(32) or 0)
    return pos


def test_logon_and_sequence_numbers_continue_after_restart(executor, open_venue, tmp_path: Path) -> None:
    venue = open_venue(executor, "T1", tmp_path / "t1")
    sender_seq, target_seq = venue.session.seq_numbers()
    assert sender_seq >= 2 and target_seq >= 2  # the logon exchanged, numbered
    venue.close()
    again = open_venue(executor, "T1", tmp_path / "t1")
    s2, t2 = again.session.seq_numbers()
    assert s2 > sender_seq and t2 > target_seq, "sequence numbers restarted instead of continuing"
    assert again.session.logons == 1


def test_limit_orders_fill_at_the_executor_and_positions_match(executor, open_venue) -> None:
    venue = open_venue(executor, "T2")
    assert venue.submit(order("L1", BUY, 1000, limit=1.1), NOW) == []
    assert venue.submit(order("L2", SELL, 300, limit=1.2, tif=TimeInForce.IOC), NOW) == []
    events = wait_events(venue, lambda ev: kinds(ev).count("OrderFilled") == 2)
    assert kinds(events, "L1") == ["OrderAccepted", "OrderFilled"]
    fill = events[1]
    assert (fill.price, fill.qty, fill.side, fill.symbol) == (1.1, 1000, BUY, "EURUSD")
    assert venue.positions() == {"EURUSD": 700.0}
    assert counterparty_position(executor, "T2") == 700.0
    assert venue.open_orders() == []


def test_market_order_goes_as_a_marketable_limit_and_fills(executor, open_venue) -> None:
    venue = open_venue(executor, "T3", collar_bps=10.0)
    venue.on_quote("EURUSD", NOW, 1.10000, 1.10010)
    venue.submit(order("M1", BUY, 2000, OrderType.MARKET), NOW)
    venue.submit(order("M2", SELL, 1000, OrderType.MARKET), NOW)
    events = wait_events(venue, lambda ev: kinds(ev).count("OrderFilled") == 2)
    fills = {e.client_order_id: e for e in events if type(e).__name__ == "OrderFilled"}
    assert fills["M1"].price == pytest.approx(1.10121, abs=1e-9)  # ask + 10 bp, rounded up to the tick
    assert fills["M2"].price == pytest.approx(1.0989, abs=1e-9)  # bid - 10 bp, rounded down
    assert venue.positions() == {"EURUSD": 1000.0} == {"EURUSD": counterparty_position(executor, "T3")}


def test_native_market_order_is_refused_with_the_counterpartys_reason(executor, open_venue) -> None:
    venue = open_venue(executor, "T4", market_orders="native", stop_orders="native")
    venue.submit(order("N1", BUY, 1000, OrderType.MARKET), NOW)
    venue.submit(order("N2", BUY, 1000, OrderType.STOP, stop=1.2), NOW)
    events = wait_events(venue, lambda ev: kinds(ev).count("OrderRejected") == 2)
    reasons = {e.client_order_id: e.reason for e in events}
    assert "Value is incorrect" in reasons["N1"] and "tag 40" in reasons["N1"], reasons
    assert "tag 40" in reasons["N2"]
    assert venue.positions() == {} and venue.open_orders() == []


def test_emulated_stop_triggers_on_the_quote_and_fills(executor, open_venue) -> None:
    venue = open_venue(executor, "T5")
    assert kinds(venue.submit(order("S1", BUY, 1000, OrderType.STOP, stop=1.2), NOW)) == ["OrderAccepted"]
    assert venue.busy("EURUSD")
    assert venue.on_quote("EURUSD", NOW + 1, 1.1890, 1.1895) == []
    assert venue.poll_events() == [] and [o.client_order_id for o in venue.open_orders()] == ["S1"]
    venue.on_quote("EURUSD", NOW + 2, 1.1999, 1.2001)
    events = wait_events(venue, lambda ev: "OrderFilled" in kinds(ev))
    assert kinds(events) == ["OrderFilled"] and events[0].price >= 1.2001
    assert venue.positions() == {"EURUSD": 1000.0}


def test_unknown_cancel_is_answered_at_once(executor, open_venue) -> None:
    venue = open_venue(executor, "T6")
    out = venue.cancel(CancelOrder(ClientOrderId("nope"), "EURUSD"), NOW)
    assert kinds(out) == ["OrderCancelRejected"]


def test_limit_rests_in_ordermatch_then_is_cancelled(ordermatch, open_venue) -> None:
    venue = open_venue(ordermatch, "T1")
    venue.submit(order("R1", BUY, 1000, limit=1.0), NOW)
    events = wait_events(venue, lambda ev: "OrderAccepted" in kinds(ev))
    assert [o.client_order_id for o in venue.open_orders()] == ["R1"]
    assert venue.cancel(CancelOrder(ClientOrderId("R1"), "EURUSD"), NOW) == []
    events = wait_events(venue, lambda ev: "OrderCancelled" in kinds(ev))
    assert kinds(events) == ["OrderCancelled"] and venue.open_orders() == []


def test_resting_order_is_replaced_then_crossed_in_parts(ordermatch, open_venue) -> None:
    maker = open_venue(ordermatch, "T2")
    taker = open_venue(ordermatch, "TAKER")
    maker.submit(order("P1", BUY, 1000, limit=0.9, symbol="GBPUSD"), NOW)
    wait_events(maker, lambda ev: "OrderAccepted" in kinds(ev))
    maker.replace(ReplaceOrder(ClientOrderId("P1"), "GBPUSD", limit_price=0.95), NOW)
    events = wait_events(maker, lambda ev: "OrderReplaced" in kinds(ev))
    assert kinds(events) == ["OrderReplaced"] and events[0].limit_price == 0.95
    assert maker.open_orders()[0].limit_price == 0.95
    taker.submit(order("X1", SELL, 400, limit=0.95, symbol="GBPUSD"), NOW)
    events = wait_events(maker, lambda ev: "OrderFilled" in kinds(ev))
    assert events[0].qty == 400 and events[0].price == 0.95
    taker.submit(order("X2", SELL, 600, limit=0.94, symbol="GBPUSD"), NOW)
    events = wait_events(maker, lambda ev: "OrderFilled" in kinds(ev))
    assert events[0].qty == 600
    assert maker.positions() == {"GBPUSD": 1000.0} and maker.open_orders() == []
    wait_events(taker, lambda ev: kinds(ev).count("OrderFilled") == 2)
    assert taker.positions() == {"GBPUSD": -1000.0}
    assert counterparty_position(ordermatch, "T2", "GBPUSD") == 1000.0


def test_ordermatch_refuses_gtc_and_the_reason_is_its_text(ordermatch, open_venue) -> None:
    venue = open_venue(ordermatch, "T3", tif_map={})
    venue.submit(order("G1", BUY, 1000, limit=1.0), NOW)
    events = wait_events(venue, lambda ev: "OrderRejected" in kinds(ev))
    assert events[0].reason == "Unsupported TIF, use Day"
    assert venue.last_reject == "Unsupported TIF, use Day"


def test_nothing_is_sent_while_logged_out(executor, open_venue, tmp_path: Path) -> None:
    from tradehive_fix.testing.counterparties import free_port

    venue = open_venue(executor, "T7", port=free_port(), logon=False)  # nobody listens there
    out = venue.submit(order("O1", BUY, 1000, limit=1.0), NOW)
    assert kinds(out) == ["OrderRejected"] and "not logged on" in out[0].reason
