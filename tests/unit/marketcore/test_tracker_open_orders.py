"""OrderTracker.open_orders: exactly the non-final orders, in tracking order, after many have closed."""

from __future__ import annotations

from marketcore.orders import (
    ClientOrderId,
    Liquidity,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderSide,
    OrderTracker,
    SubmitOrder,
    VenueOrderId,
)


def _open(tracker: OrderTracker, i: int, symbol: str) -> ClientOrderId:
    cid = ClientOrderId(f"t-s-{i}")
    tracker.track(SubmitOrder(cid, symbol, OrderSide.BUY, 1.0)).order.mark_submitted()
    tracker.apply(OrderAccepted(cid, VenueOrderId(f"V{i}"), symbol, i))
    return cid


def test_open_orders_tracks_closing_and_new_orders() -> None:
    tracker = OrderTracker()
    cids = [_open(tracker, i, "EURUSD" if i % 2 else "NZDUSD") for i in range(300)]
    for i, cid in enumerate(cids):
        if i % 3 == 0:
            tracker.apply(OrderFilled(cid, VenueOrderId(f"V{i}"), f"f{i}", "X", OrderSide.BUY, 1.1, 1.0, 0.0,
                                      Liquidity.TAKER, i))  # fmt: skip
        elif i % 3 == 1 and i < 150:
            tracker.apply(OrderCancelled(cid, "X", i))
    expected = [c for i, c in enumerate(cids) if i % 3 == 2 or (i % 3 == 1 and i >= 150)]
    assert [o.client_order_id for o in tracker.open_orders()] == expected
    odd = [c for c in expected if int(c[4:]) % 2]
    assert [o.client_order_id for o in tracker.open_orders("EURUSD")] == odd
    # orders closing after a listing, and orders tracked after it, are both seen by the next listing
    tracker.apply(OrderCancelled(expected[0], "X", 1))
    late = _open(tracker, 1000, "EURUSD")
    assert [o.client_order_id for o in tracker.open_orders()] == [*expected[1:], late]
    assert len(tracker) == 301
