"""Order messages, versioned codec, state machine (every illegal pair), idempotent tracking, id generator."""

from __future__ import annotations

import itertools

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from marketcore.errors import DecodeError, InvalidOrderTransition, MarketcoreError, OrderError
from marketcore.orders import (
    ALLOWED,
    CancelOrder,
    ClientOrderId,
    ClientOrderIdGenerator,
    Liquidity,
    Order,
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
    UnsupportedVersion,
    VenueOrderId,
    bracket_children,
    decode,
    encode,
)

CID = ClientOrderId("ema-s1-1")
VID = VenueOrderId("P-1")


def submit(**kw: object) -> SubmitOrder:
    args: dict[str, object] = {
        "client_order_id": CID,
        "symbol": "EURUSD",
        "side": OrderSide.BUY,
        "qty": 1000.0,
    }
    args.update(kw)
    return SubmitOrder(**args)  # type: ignore[arg-type]


def fill(qty: float, fill_id: str = "F-1", price: float = 1.39) -> OrderFilled:
    return OrderFilled(CID, VID, fill_id, "EURUSD", OrderSide.BUY, price, qty, 0.1, Liquidity.TAKER, 5)


ALL_MESSAGES = [
    submit(
        type=OrderType.LIMIT, limit_price=1.39, stop_loss=1.38, take_profit=1.41, strategy_id="ema", ts_ns=7
    ),
    submit(type=OrderType.STOP, stop_price=1.4, time_in_force=TimeInForce.IOC),
    CancelOrder(CID, "EURUSD", 9),
    OrderAccepted(CID, VID, "EURUSD", 10, parent_id=ClientOrderId("p")),
    OrderRejected(CID, "EURUSD", "no quote", 11),
    fill(1000.0),
    OrderCancelled(CID, "EURUSD", 12, "user"),
    OrderCancelRejected(CID, "EURUSD", "unknown order", 13),
    OrderExpired(CID, "EURUSD", 14),
]


@pytest.mark.parametrize("msg", ALL_MESSAGES, ids=lambda m: type(m).__name__)
def test_codec_round_trip_every_message(msg: object) -> None:
    data = encode(msg)  # type: ignore[arg-type]
    assert isinstance(data, bytes)
    back = decode(data)
    assert back == msg and type(back) is type(msg)


def test_messages_are_frozen() -> None:
    with pytest.raises(AttributeError):
        ALL_MESSAGES[0].qty = 5.0  # type: ignore[attr-defined]


def test_decode_rejects_other_versions_and_garbage_with_chained_cause() -> None:
    raw = msgspec.msgpack.decode(encode(ALL_MESSAGES[2]))
    raw["v"] = 2
    with pytest.raises(UnsupportedVersion, match="version 2"):
        decode(msgspec.msgpack.encode(raw))
    with pytest.raises(DecodeError) as info:
        decode(b"\xc1garbage")
    assert isinstance(info.value, MarketcoreError) and info.value.__cause__ is not None
    bad = {
        "v": 1,
        "m": {"msg": "submit_order", "client_order_id": "x", "symbol": "E", "side": "BUY", "qty": -1.0},
    }
    with pytest.raises(DecodeError, match="qty") as info:
        decode(msgspec.msgpack.encode(bad))
    assert isinstance(info.value.__cause__, msgspec.ValidationError)
    unknown = {"v": 1, "m": {"msg": "launch_rocket"}}
    with pytest.raises(DecodeError):
        decode(msgspec.msgpack.encode(unknown))


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"qty": 0.0}, "qty"),
        ({"qty": float("nan")}, "qty"),
        ({"type": OrderType.LIMIT}, "limit_price"),
        ({"limit_price": 1.3}, "limit_price"),
        ({"type": OrderType.STOP}, "stop_price"),
        ({"type": OrderType.LIMIT, "limit_price": -1.0}, "limit_price"),
        ({"stop_loss": 1.5, "take_profit": 1.4}, "bracket"),
        ({"side": OrderSide.SELL, "stop_loss": 1.3, "take_profit": 1.4}, "bracket"),
        ({"client_order_id": ""}, "client_order_id"),
    ],
)
def test_invalid_submit_raises(kw: dict[str, object], match: str) -> None:
    with pytest.raises(OrderError, match=match):
        submit(**kw)


def test_every_illegal_transition_pair_raises() -> None:
    legal = 0
    for src, dst in itertools.product(OrderStatus, OrderStatus):
        order = Order(submit())
        order.status = src
        if dst in ALLOWED[src]:
            order.transition(dst)
            assert order.status is dst
            legal += 1
        else:
            with pytest.raises(InvalidOrderTransition, match=f"{src.value} -> {dst.value}"):
                order.transition(dst)
            assert order.status is src
    assert legal == 12  # the documented graph
    assert all(not ALLOWED[s] for s in OrderStatus if s.is_terminal)


def test_lifecycle_partial_then_full_fill() -> None:
    order = Order(submit())
    order.mark_submitted()
    order.apply(OrderAccepted(CID, VID, "EURUSD", 1))
    order.apply(fill(400.0, "F-1", 1.30))
    assert order.status is OrderStatus.PARTIALLY_FILLED and order.remaining_qty == 600.0
    order.apply(fill(600.0, "F-2", 1.40))
    assert order.status is OrderStatus.FILLED
    assert order.avg_fill_price == pytest.approx(1.36)
    assert order.fees == pytest.approx(0.2)
    with pytest.raises(InvalidOrderTransition):
        order.apply(OrderCancelled(CID, "EURUSD", 3))


def test_overfill_and_duplicate_fill_raise() -> None:
    order = Order(submit())
    order.mark_submitted()
    order.apply(OrderAccepted(CID, VID, "EURUSD", 1))
    with pytest.raises(OrderError, match="exceeds"):
        order.apply(fill(1001.0))
    order.apply(fill(10.0, "F-1"))
    with pytest.raises(OrderError, match="duplicate fill"):
        order.apply(fill(10.0, "F-1"))


def test_fill_before_accept_is_illegal() -> None:
    order = Order(submit())
    order.mark_submitted()
    with pytest.raises(InvalidOrderTransition, match="SUBMITTED -> FILLED"):
        order.apply(fill(1000.0))


def test_tracker_ignores_and_reports_duplicate_submit() -> None:
    tracker = OrderTracker()
    first = tracker.track(submit())
    again = tracker.track(submit(qty=5.0))
    assert not first.duplicate and again.duplicate
    assert again.order is first.order and again.order.command.qty == 1000.0
    assert tracker.duplicates == 1 and len(tracker) == 1


def test_tracker_routes_events_and_adopts_bracket_children() -> None:
    tracker = OrderTracker()
    parent = submit(stop_loss=1.38, take_profit=1.41)
    order = tracker.track(parent).order
    order.mark_submitted()
    tracker.apply(OrderAccepted(CID, VID, "EURUSD", 1))
    tracker.apply(fill(1000.0))
    sl, tp = bracket_children(parent, 1000.0)
    assert (sl.type, sl.side, sl.stop_price, sl.qty) == (OrderType.STOP, OrderSide.SELL, 1.38, 1000.0)
    assert (tp.type, tp.side, tp.limit_price) == (OrderType.LIMIT, OrderSide.SELL, 1.41)
    child = tracker.apply(OrderAccepted(sl.client_order_id, VenueOrderId("P-2"), "EURUSD", 2, parent_id=CID))
    assert child is not None and child.status is OrderStatus.ACCEPTED and child.parent_id == CID
    assert [o.client_order_id for o in tracker.children_of(CID)] == ["ema-s1-1-sl"]
    assert tracker.apply(OrderExpired(ClientOrderId("nobody"), "EURUSD", 3)) is None
    assert tracker.unknown_events == 1


def test_client_order_id_generator() -> None:
    gen = ClientOrderIdGenerator("ema", "20140508a", start=41)
    assert [gen.next(), gen()] == ["ema-20140508a-41", "ema-20140508a-42"]
    with pytest.raises(OrderError):
        ClientOrderIdGenerator("", "s")
    with pytest.raises(OrderError):
        ClientOrderIdGenerator("a b", "s")


@given(
    qty=st.floats(min_value=1e-6, max_value=1e9, allow_nan=False),
    price=st.floats(min_value=1e-8, max_value=1e6, allow_nan=False),
    side=st.sampled_from(OrderSide),
    ts=st.integers(min_value=0, max_value=2**63 - 1),
)
def test_codec_round_trip_property(qty: float, price: float, side: OrderSide, ts: int) -> None:
    msg = submit(qty=qty, side=side, type=OrderType.LIMIT, limit_price=price, ts_ns=ts)
    assert decode(encode(msg)) == msg
