"""Strategies without processes: a fake context records what they do."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from marketcore.errors import MarketcoreError
from marketcore.instruments import Instrument, InstrumentRegistry
from marketcore.orders import OrderSide
from marketcore.schema import BAR_DTYPE
from marketcore.sources.pacer import parse_speed
from tradehive.protocol import Signal
from tradehive_brain.strategies import EmaCross, VolatilityRegime


class Ctx:
    name = "brain-test"
    warming_up = False

    def __init__(self) -> None:
        self.orders: list[dict[str, Any]] = []
        self.signals: list[tuple[str, str, float]] = []
        self.pos: dict[str, float] = {}

    def submit(self, symbol: str, side: OrderSide, qty: float, **kw: Any) -> str:
        self.orders.append({"symbol": symbol, "side": side, "qty": qty, **kw})
        self.pos[symbol] = self.pos.get(symbol, 0.0) + side.sign * qty
        return f"id-{len(self.orders)}"

    def publish_signal(self, name: str, symbol: str, value: float, data: Any = None) -> None:
        self.signals.append((name, symbol, value))

    def position(self, symbol: str) -> float:
        return self.pos.get(symbol, 0.0)

    def now_ns(self) -> int:
        return 0

    def instrument(self, symbol: str) -> Instrument:
        return InstrumentRegistry.default().get(symbol)


def bars(closes: list[float]) -> np.ndarray:
    b = np.zeros(len(closes), BAR_DTYPE)
    b["ts"] = np.arange(len(closes)) * 60_000_000_000
    b["open"] = b["close"] = closes
    b["high"] = np.asarray(closes) + 0.001
    b["low"] = np.asarray(closes) - 0.001
    b["count"] = 1
    return b


def test_ema_cross_enters_with_bracket_then_exits_on_opposite_cross() -> None:
    ctx = Ctx()
    s = EmaCross(ctx, {"fast": 2, "slow": 4, "atr": 2, "qty": 100.0})
    closes = [1.0] * 6 + [1.1, 1.2, 1.3]
    for b in bars(closes):  # live: one closed bar per message
        s.on_bar("EURUSD", b.reshape(1))
    assert len(ctx.orders) == 1
    entry = ctx.orders[0]
    assert entry["side"] is OrderSide.BUY and entry["qty"] == 100.0
    assert entry["stop_loss"] < 1.1 < entry["take_profit"]  # the cross happens on the 1.1 bar
    for b in bars([1.2, 1.0, 0.9, 0.8]):  # down-cross: close the long (no bracket on the exit)
        s.on_bar("EURUSD", b.reshape(1))
    assert ctx.orders[1]["side"] is OrderSide.SELL and ctx.orders[1]["qty"] == 100.0
    assert "stop_loss" not in ctx.orders[1] and ctx.position("EURUSD") == 0.0


def test_ema_cross_sizes_each_symbol_by_its_instrument() -> None:
    """The simulator demo trades EURUSD, GBPUSD and BTCUSDT with one strategy: without a ``qty`` each symbol
    trades its instrument's default size, so every order is worth about the same (not 10,000 BTC)."""
    from marketcore.sources.sim import DEFAULT_SYMBOLS

    ctx = Ctx()
    s = EmaCross(ctx, {"fast": 2, "slow": 4, "atr": 2})
    notionals = {}
    for symbol, price in (("EURUSD", 1.10), ("GBPUSD", 1.27), ("BTCUSDT", 60_000.0)):
        assert DEFAULT_SYMBOLS[symbol].price == price  # the simulator's starting prices
        for b in bars([price] * 6 + [price * 1.01, price * 1.02, price * 1.03]):
            s.on_bar(symbol, b.reshape(1))
        order = ctx.orders[-1]
        assert order["symbol"] == symbol and InstrumentRegistry.default().get(symbol).is_valid_size(
            order["qty"]
        )
        notionals[symbol] = order["qty"] * price
    assert ctx.orders[-1]["qty"] == 0.2 and ctx.orders[0]["qty"] == 10_000.0
    assert max(notionals.values()) / min(notionals.values()) < 2.0, notionals  # 11,000 .. 12,700 USD(T)
    s.set_param("qty", 0.5)  # an explicit size still wins
    for b in bars([60_000.0] * 3 + [59_000.0, 58_000.0, 57_000.0]):
        s.on_bar("BTCUSDT", b.reshape(1))
    assert ctx.orders[-1]["qty"] == 0.2  # the exit closes what is held
    for b in bars([57_000.0, 59_000.0, 61_000.0, 63_000.0]):
        s.on_bar("BTCUSDT", b.reshape(1))
    assert ctx.orders[-1]["qty"] == 0.5 and ctx.orders[-1]["side"] is OrderSide.BUY


def test_ema_cross_is_gated_by_the_regime_signal() -> None:
    ctx = Ctx()
    s = EmaCross(ctx, {"fast": 2, "slow": 4, "atr": 2})
    s.on_signal(Signal(brain="r", name="regime", symbol="EURUSD", value=1.0, ts_ns=0))
    for b in bars([1.0] * 6 + [1.1, 1.2, 1.3]):
        s.on_bar("EURUSD", b.reshape(1))
    assert ctx.orders == [] and s.gated == 1


def test_no_orders_while_warming_up_and_unknown_params_refused() -> None:
    ctx = Ctx()
    ctx.warming_up = True
    s = EmaCross(ctx, {"fast": 2, "slow": 4, "atr": 2})
    s.on_bar("EURUSD", bars([1.0] * 6 + [1.1, 1.2, 1.3]))
    assert ctx.orders == [] and s.crosses == 1
    with pytest.raises(ValueError):
        EmaCross(ctx, {"fsat": 2})
    with pytest.raises(KeyError):
        s.set_param("nope", 1)
    assert s.set_param("fast", "3") == 2 and s.params["fast"] == 3


def test_regime_flags_a_volatility_burst() -> None:
    ctx = Ctx()
    s = VolatilityRegime(ctx, {"window": 5, "long_window": 20, "threshold": 1.5})
    rng = np.random.default_rng(1)
    calm = list(1.0 + np.cumsum(rng.normal(0, 1e-5, 60)))
    wild = list(calm[-1] + np.cumsum(rng.normal(0, 5e-4, 10)))
    s.on_bar("EURUSD", bars(calm))
    assert ctx.signals and all(v == 0.0 for _, _, v in ctx.signals[-10:])
    s.on_bar("EURUSD", bars(wild))
    assert ctx.signals[-1] == ("regime", "EURUSD", 1.0)


def test_parse_speed() -> None:
    assert parse_speed("max") == "max" and parse_speed("2.5") == 2.5
    for bad in ("0", "-1", "fast", "inf", "nan"):
        with pytest.raises(MarketcoreError, match="positive number or 'max'"):
            parse_speed(bad)
