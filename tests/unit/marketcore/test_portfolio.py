"""Positions from fills (increase, reduce, flip), marks, portfolio totals; PnL vs cash-flow recomputation."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marketcore.errors import UnknownSymbol
from marketcore.instruments import Instrument, InstrumentRegistry
from marketcore.orders import ClientOrderId, Liquidity, OrderFilled, OrderSide, VenueOrderId
from marketcore.portfolio import Portfolio, PortfolioError, Position

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def filled(symbol: str, side: OrderSide, qty: float, price: float, fee: float = 0.0) -> OrderFilled:
    return OrderFilled(
        ClientOrderId("c"), VenueOrderId("v"), "f", symbol, side, price, qty, fee, Liquidity.TAKER, 0
    )


def test_increase_reduce_flip_and_close() -> None:
    pos = Position("EURUSD")
    pos.apply_trade(BUY, 1000, 1.30)
    pos.apply_trade(BUY, 1000, 1.40)
    assert (pos.qty, pos.avg_price) == (2000, pytest.approx(1.35))
    assert pos.apply_trade(SELL, 500, 1.45) == pytest.approx(50.0)  # reduce: avg unchanged
    assert (pos.qty, pos.avg_price) == (1500, pytest.approx(1.35))
    assert pos.apply_trade(SELL, 2500, 1.25) == pytest.approx(-150.0)  # flip: closes 1500, opens -1000
    assert (pos.qty, pos.avg_price) == (-1000, 1.25)
    assert pos.realised_pnl == pytest.approx(-100.0)
    assert pos.unrealised_pnl(bid=1.19, ask=1.20) == pytest.approx(50.0)  # short marked at the ask
    assert pos.apply_trade(BUY, 1000, 1.20, fee=2.0) == pytest.approx(50.0)
    assert pos.is_flat and math.isnan(pos.avg_price) and pos.fees == 2.0
    assert pos.unrealised_pnl(1.0, 1.1) == 0.0


def test_long_marked_at_bid_with_multiplier() -> None:
    pos = Position("FUT", multiplier=50.0)
    pos.apply_trade(BUY, 2, 100.0, fee=1.0)
    assert pos.unrealised_pnl(bid=101.0, ask=102.0) == pytest.approx(100.0)
    assert pos.net_pnl(101.0, 102.0) == pytest.approx(99.0)


@pytest.mark.parametrize(
    ("qty", "price", "fee"), [(0.0, 1.0, 0.0), (1.0, math.nan, 0.0), (-1.0, 1.0, 0.0), (1, 1, math.inf)]
)
def test_invalid_trade_raises(qty: float, price: float, fee: float) -> None:
    with pytest.raises(PortfolioError):
        Position("EURUSD").apply_trade(BUY, qty, price, fee)


def test_portfolio_totals_and_currency_guard() -> None:
    pf = Portfolio(InstrumentRegistry.default(), starting_cash={"USD": 10_000.0})
    pf.apply_fill(filled("EURUSD", BUY, 10_000, 1.39000, fee=1.0))
    assert math.isnan(pf.unrealised_pnl())  # no mark yet: not silently zero
    pf.on_quote("EURUSD", 1.39010, 1.39012)
    assert pf.unrealised_pnl() == pytest.approx(1.0)
    assert pf.equity() == pytest.approx(10_000.0 - 1.0 + 1.0)
    assert pf.gross_notional() == pytest.approx(13_901.0)
    pf.apply_fill(filled("XRPETH", SELL, 100, 0.0012))
    with pytest.raises(PortfolioError, match="several currencies"):
        pf.realised_pnl()
    assert pf.fees("USD") == 1.0 and pf.fees("ETH") == 0.0
    with pytest.raises(UnknownSymbol):
        pf.apply_fill(filled("BTCUSD", BUY, 1, 1.0))


fills_strategy = st.lists(
    st.tuples(
        st.sampled_from([BUY, SELL]),
        st.integers(min_value=1, max_value=5000),
        st.integers(min_value=100_000, max_value=200_000),  # price in 1e-5 ticks
        st.floats(min_value=0.0, max_value=5.0),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(
    fills=fills_strategy,
    bid_ticks=st.integers(100_000, 200_000),
    spread=st.integers(-3, 20),
    multiplier=st.sampled_from([1.0, 10.0]),
)
def test_pnl_equals_cash_flow_recomputation(
    fills: list[tuple[OrderSide, int, int, float]], bid_ticks: int, spread: int, multiplier: float
) -> None:
    reg = InstrumentRegistry([Instrument("EURUSD", 5, 0.00001, "USD", "EUR", multiplier=multiplier)])
    pf = Portfolio(reg)
    cash = 0.0
    turnover = 0.0
    net = 0
    for side, qty, ticks, fee in fills:
        price = ticks * 1e-5
        pf.apply_fill(filled("EURUSD", side, float(qty), price, fee))
        cash += -side.sign * qty * price * multiplier - fee
        turnover += qty * price * multiplier
        net += side.sign * qty
    bid = bid_ticks * 1e-5
    ask = bid + spread * 1e-5  # crossed/locked allowed
    pf.on_quote("EURUSD", bid, ask)
    pos = pf.position("EURUSD")
    assert pos.qty == net
    mark = bid if net > 0 else ask
    expected = cash + net * mark * multiplier
    got = pf.realised_pnl() - pf.fees() + pf.unrealised_pnl()
    assert got == pytest.approx(expected, abs=1e-9 * (turnover + 1.0))
    assert pf.equity() == pytest.approx(expected, abs=1e-9 * (turnover + 1.0))
