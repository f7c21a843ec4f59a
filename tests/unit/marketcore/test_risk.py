"""Pre-trade risk rules, kill switch, token bucket with an injected clock, hypothesis position bound."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marketcore.instruments import Instrument, InstrumentRegistry
from marketcore.orders import ClientOrderId, OrderSide, SubmitOrder
from marketcore.risk import RISK_RULES, RiskConfigError, RiskEngine, RiskLimits, TokenBucket

SEC = 1_000_000_000


def order(qty: float = 1000.0, side: OrderSide = OrderSide.BUY, symbol: str = "EURUSD") -> SubmitOrder:
    return SubmitOrder(ClientOrderId("o-1"), symbol, side, qty)


def test_unlimited_engine_accepts() -> None:
    assert RiskEngine(RiskLimits()).check(order(), 0.0, math.nan, 0) is None


def test_max_order_qty() -> None:
    engine = RiskEngine(RiskLimits(max_order_qty=1000.0))
    assert engine.check(order(1000.0), 0.0, 1.3, 0) is None
    rej = engine.check(order(1001.0), 0.0, 1.3, 0)
    assert rej is not None and rej.rule == "max_order_qty" and "1001" in rej.detail
    assert engine.rejections["max_order_qty"] == 1


def test_max_position_allows_reducing_and_per_symbol_override() -> None:
    engine = RiskEngine(RiskLimits(max_position=5000.0, position_limits={"NZDUSD": 100.0}))
    assert engine.check(order(1000.0), 4000.0, 1.3, 0) is None
    rej = engine.check(order(1001.0), 4000.0, 1.3, 0)
    assert rej is not None and rej.rule == "max_position"
    assert engine.check(order(3000.0, OrderSide.SELL), 4000.0, 1.3, 0) is None
    # already beyond the limit (limit lowered): reducing allowed, increasing refused
    assert engine.check(order(100.0, OrderSide.SELL), 9000.0, 1.3, 0) is None
    assert engine.check(order(100.0), -9000.0, 1.3, 0) is None
    assert engine.check(order(101.0, symbol="NZDUSD"), 0.0, 0.8, 0).rule == "max_position"  # type: ignore[union-attr]
    # a sell flipping through zero beyond the limit
    assert engine.check(order(10_000.0, OrderSide.SELL), 4000.0, 1.3, 0).rule == "max_position"  # type: ignore[union-attr]


def test_max_notional_per_order_and_gross_with_multiplier() -> None:
    reg = InstrumentRegistry([Instrument("FUT", 2, 0.01, "USD", "IDX", multiplier=50.0)])
    engine = RiskEngine(RiskLimits(max_order_notional=10_000.0, max_gross_notional=15_000.0), reg)
    assert engine.check(order(1.0, symbol="FUT"), 0.0, 199.0, 0) is None  # 9,950
    rej = engine.check(order(1.0, symbol="FUT"), 0.0, 201.0, 0)
    assert rej is not None and rej.rule == "max_notional" and "order notional" in rej.detail
    rej = engine.check(order(1.0, symbol="FUT"), 0.0, 150.0, 0, gross_notional=8_000.0)
    assert rej is not None and rej.rule == "max_notional" and "gross" in rej.detail
    rej = engine.check(order(1.0, symbol="FUT"), 0.0, math.nan, 0)
    assert rej is not None and rej.rule == "max_notional" and "cannot value" in rej.detail


def test_kill_switch_halts_new_orders_until_disengaged() -> None:
    engine = RiskEngine(RiskLimits())
    engine.engage_kill_switch("drawdown")
    assert engine.halted
    rej = engine.check(order(), 0.0, 1.3, 0)
    assert rej is not None and rej.rule == "kill_switch" and "drawdown" in rej.detail
    engine.disengage_kill_switch()
    assert engine.check(order(), 0.0, 1.3, 0) is None
    assert RiskEngine(RiskLimits(kill_switch=True)).check(order(), 0.0, 1.3, 0).rule == "kill_switch"  # type: ignore[union-attr]


def test_order_rate_token_bucket_with_injected_clock() -> None:
    engine = RiskEngine(RiskLimits(max_orders_per_second=2.0, order_burst=2))
    t = 10 * SEC
    assert engine.check(order(), 0.0, 1.3, t) is None
    assert engine.check(order(), 0.0, 1.3, t) is None
    rej = engine.check(order(), 0.0, 1.3, t)
    assert rej is not None and rej.rule == "order_rate"
    assert engine.check(order(), 0.0, 1.3, t + SEC // 2) is None  # one token refilled after 0.5 s
    assert engine.check(order(), 0.0, 1.3, t + SEC // 2).rule == "order_rate"  # type: ignore[union-attr]
    assert engine.check(order(), 0.0, 1.3, t - SEC).rule == "order_rate"  # type: ignore[union-attr]  # no refill


def test_rejected_orders_do_not_consume_rate_tokens() -> None:
    engine = RiskEngine(RiskLimits(max_order_qty=10.0, max_orders_per_second=1.0, order_burst=1))
    for _ in range(5):
        assert engine.check(order(11.0), 0.0, 1.3, 0).rule == "max_order_qty"  # type: ignore[union-attr]
    assert engine.check(order(1.0), 0.0, 1.3, 0) is None


def test_token_bucket_caps_at_burst() -> None:
    bucket = TokenBucket(100.0, 3, now_ns=0)
    assert bucket.available(100 * SEC) == 3.0
    assert [bucket.try_take(100 * SEC) for _ in range(4)] == [True, True, True, False]


@pytest.mark.parametrize(
    "kw",
    [
        {"max_order_qty": -1.0},
        {"max_position": math.nan},
        {"order_burst": 0},
        {"position_limits": {"X": -2.0}},
    ],
)
def test_bad_limits_raise(kw: dict[str, object]) -> None:
    with pytest.raises(RiskConfigError):
        RiskLimits(**kw)  # type: ignore[arg-type]


def test_rule_names_are_bounded() -> None:
    assert set(RiskEngine(RiskLimits()).rejections) == set(RISK_RULES)


@settings(max_examples=200, deadline=None)
@given(
    limit=st.floats(min_value=1.0, max_value=1e6),
    steps=st.lists(
        st.tuples(st.sampled_from(OrderSide), st.floats(min_value=0.01, max_value=2e6)),
        min_size=1,
        max_size=40,
    ),
)
def test_no_accepted_order_makes_position_exceed_limit(
    limit: float, steps: list[tuple[OrderSide, float]]
) -> None:
    engine = RiskEngine(RiskLimits(max_position=limit))
    position = 0.0
    for i, (side, qty) in enumerate(steps):
        if engine.check(order(qty, side), position, 1.0, i) is None:
            position += side.sign * qty
        assert abs(position) <= limit
