"""Two example strategies that trade: an EMA crossover with SL/TP, gated by a volatility regime published by
another brain (a hierarchy of brains)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from marketcore.indicators import ATR, EMA, BollingerBands
from marketcore.orders import OrderFilled, OrderSide
from tradehive.protocol import Signal
from tradehive.strategy import Strategy


class _Trend:
    def __init__(self, fast: int, slow: int, atr: int) -> None:
        self.fast, self.slow, self.atr = EMA(fast), EMA(slow), ATR(atr)
        self.diff = math.nan
        self.last = (math.nan, math.nan, math.nan)  # fast, slow, atr after the latest bar


class EmaCross(Strategy):
    """Long when the fast EMA of closes crosses above the slow one, short when below; every entry carries a
    stop-loss and take-profit at ATR multiples; an opposite cross closes the position first. New entries are
    refused while the gating signal (e.g. ``regime`` from a regime brain) is above ``gate_max``. ``qty`` 0 (the
    default) trades each symbol's default order size (``Instrument.default_qty``).

    Outputs per closed bar: both EMAs, the ATR, and ``atr_stop`` / ``atr_target``: the stop-loss and take-profit an
    entry on that bar in the trend's direction (fast above slow: long) would carry, ``close -/+ sl_atr * atr`` and
    ``close +/- tp_atr * atr`` (NaN until both EMAs and the ATR are warm, or while the EMAs are equal)."""

    name = "ema_cross"
    outputs = {
        "ema_fast": "price",
        "ema_slow": "price",
        "atr_stop": "price",
        "atr_target": "price",
        "atr": "sub",
    }
    output_styles = {"atr_stop": "stop", "atr_target": "target"}
    output_params = ("fast", "slow", "atr", "sl_atr", "tp_atr")
    defaults = {
        "fast": 12, "slow": 26, "atr": 14, "qty": 0.0, "sl_atr": 2.0, "tp_atr": 3.0,
        "gate_signal": "regime", "gate_max": 0.0, "allow_short": True,
    }  # fmt: skip

    def __init__(self, ctx: Any, params: dict[str, Any]) -> None:
        super().__init__(ctx, params)
        self._trend: dict[str, _Trend] = {}
        self.gate: dict[str, float] = {}
        self.crosses = 0
        self.entries = 0
        self.exits = 0
        self.gated = 0
        self.fills = 0

    def _state_for(self, symbol: str) -> _Trend:
        t = self._trend.get(symbol)
        if t is None:
            p = self.params
            t = self._trend[symbol] = _Trend(int(p["fast"]), int(p["slow"]), int(p["atr"]))
        return t

    def on_params_changed(self, name: str) -> None:
        if name in self.output_params:
            self._trend.clear()  # re-warm with the new periods/multiples (the brain feeds history again)

    def on_signal(self, signal: Signal) -> None:
        if signal.name == self.params["gate_signal"]:
            self.gate[signal.symbol] = signal.value

    def on_bar(self, symbol: str, bars: np.ndarray) -> None:
        t = self._state_for(symbol)
        for bar in bars:
            close = float(bar["close"])
            fast, slow = t.fast.update(close), t.slow.update(close)
            atr = t.atr.update(float(bar["high"]), float(bar["low"]), close)
            t.last = (fast, slow, atr)
            diff = fast - slow
            side = 1.0 if diff > 0 else -1.0 if diff < 0 else math.nan  # NaN while either EMA is
            sl, tp = side * float(self.params["sl_atr"]) * atr, side * float(self.params["tp_atr"]) * atr
            self.record(symbol, int(bar["ts"]), fast, slow, close - sl, close + tp, atr)  # as _act's bracket
            prev, t.diff = t.diff, diff
            if (
                math.isnan(prev)
                or math.isnan(diff)
                or math.isnan(atr)
                or (prev > 0) == (diff > 0)
                or diff == 0
            ):
                continue
            self.crosses += 1
            if not self.ctx.warming_up:
                self._act(symbol, OrderSide.BUY if diff > 0 else OrderSide.SELL, close, atr)

    def _act(self, symbol: str, side: OrderSide, close: float, atr: float) -> None:
        pos = self.ctx.position(symbol)
        if pos != 0.0 and (pos > 0) != (side is OrderSide.BUY):  # opposite cross: close what we hold
            self.ctx.submit(symbol, side, abs(pos))
            self.exits += 1
            return
        if pos != 0.0:
            return
        if side is OrderSide.SELL and not self.params["allow_short"]:
            return
        if self.gate.get(symbol, 0.0) > float(self.params["gate_max"]):
            self.gated += 1
            return
        sign = 1.0 if side is OrderSide.BUY else -1.0
        self.ctx.submit(
            symbol, side, self.order_qty(symbol),
            stop_loss=close - sign * float(self.params["sl_atr"]) * atr,
            take_profit=close + sign * float(self.params["tp_atr"]) * atr,
        )  # fmt: skip
        self.entries += 1

    def on_fill(self, fill: OrderFilled) -> None:
        self.fills += 1

    def state(self) -> dict[str, Any]:
        return {
            "crosses": self.crosses, "entries": self.entries, "exits": self.exits, "gated": self.gated,
            "fills": self.fills, "gate": dict(self.gate),
            "indicators": {s: dict(zip(("ema_fast", "ema_slow", "atr"), t.last, strict=True))
                           for s, t in self._trend.items()},
        }  # fmt: skip


class VolatilityRegime(Strategy):
    """Publishes ``regime`` per symbol on every closed bar: 1 when the short-window volatility of log returns
    exceeds ``threshold`` times its long-run average, else 0 (a signal other brains gate on). Never trades."""

    name = "regime"
    outputs = {"vol_ratio": "sub", "regime": "sub"}
    output_params = ("window", "long_window", "threshold")
    defaults = {"window": 30, "long_window": 240, "threshold": 1.5}

    def __init__(self, ctx: Any, params: dict[str, Any]) -> None:
        super().__init__(ctx, params)
        self._vol: dict[str, tuple[BollingerBands, EMA]] = {}
        self._last_close: dict[str, float] = {}
        self.regime: dict[str, float] = {}
        self.published = 0

    def on_params_changed(self, name: str) -> None:
        if name in ("window", "long_window"):
            self._vol.clear()  # new windows: re-warm (the brain feeds history again)
            self._last_close.clear()

    def on_bar(self, symbol: str, bars: np.ndarray) -> None:
        vol = self._vol.get(symbol)
        if vol is None:
            vol = self._vol[symbol] = (
                BollingerBands(int(self.params["window"]), 1.0),
                EMA(int(self.params["long_window"])),
            )
        bands, longrun = vol
        for bar in bars:
            close = float(bar["close"])
            prev = self._last_close.get(symbol)
            self._last_close[symbol] = close
            if prev is None or prev <= 0 or close <= 0:
                continue
            mid, upper, _lower = bands.update(math.log(close / prev))
            std = upper - mid
            if math.isnan(std):
                continue
            avg = longrun.update(std)
            if math.isnan(avg) or avg <= 0:
                continue
            ratio = std / avg
            value = 1.0 if ratio > float(self.params["threshold"]) else 0.0
            self.record(symbol, int(bar["ts"]), ratio, value)
            self.regime[symbol] = value
            if not self.ctx.warming_up:
                self.ctx.publish_signal("regime", symbol, value, {"vol": std, "ratio": ratio})
                self.published += 1

    def state(self) -> dict[str, Any]:
        return {"regime": dict(self.regime), "published": self.published}


class TickEcho(Strategy):
    """For the latency benchmark: one small market order per tick batch, alternating sides (stays flat)."""

    name = "tick_echo"
    defaults = {"qty": 1.0}
    wants_ticks = True

    def __init__(self, ctx: Any, params: dict[str, Any]) -> None:
        super().__init__(ctx, params)
        self.sent = 0

    def on_tick(self, symbol: str, ticks: np.ndarray) -> None:
        side = OrderSide.BUY if self.sent % 2 == 0 else OrderSide.SELL
        self.ctx.submit(symbol, side, float(self.params["qty"]))
        self.sent += 1

    def state(self) -> dict[str, Any]:
        return {"sent": self.sent}


BUILTIN: dict[str, type[Strategy]] = {s.name: s for s in (EmaCross, VolatilityRegime, TickEcho)}
