"""Bollinger/RSI mean reversion with ATR stops: the strategy written step by step in docs/strategies.md.

Buy when a bar closes below the lower Bollinger band while RSI says oversold; sell short when it closes above
the upper band while RSI says overbought. Every entry carries a stop-loss ``sl_atr`` ATRs away and a
take-profit at the middle band (the mean it expects price to revert to); a position still open when price is
back at the mean, or after ``max_bars`` bars, is closed at market.

    uv run tradehive backtest --strategy examples/bollinger_rsi.py:BollingerRsi \\
        --data ../shared/data/fxcm/tick --symbols EURUSD --start 2014-05-08 --end 2014-05-09 --out report/
    uv run tradehive run --strategy examples/bollinger_rsi.py:BollingerRsi
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from marketcore.indicators import ATR, RSI, BollingerBands
from marketcore.orders import OrderFilled, OrderSide
from tradehive.protocol import OrderAck
from tradehive.strategy import Strategy, StrategyContext


class _Indicators:
    """One symbol's indicators, fed one closed bar at a time."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.bands = BollingerBands(int(params["period"]), float(params["k"]))
        self.rsi = RSI(int(params["rsi"]))
        self.atr = ATR(int(params["atr"]))
        self.held = 0  # closed bars since the position was opened


class BollingerRsi(Strategy):
    name = "bollinger_rsi"
    defaults = {
        "period": 20,  # Bollinger window (bars)
        "k": 2.0,  # band width in standard deviations
        "rsi": 14,  # RSI period
        "oversold": 30.0,  # buy only below this RSI
        "overbought": 70.0,  # sell only above this RSI
        "atr": 14,  # ATR period for the stop
        "sl_atr": 2.0,  # stop-loss distance in ATRs
        "max_bars": 30,  # close a position held this many bars
        "qty": 0.0,  # order size; 0: the instrument's default (10,000 EURUSD, 0.2 BTCUSDT)
        "allow_short": True,
    }
    # drawn by the chart (tradehive viz) and served as the brain's indicator history
    outputs = {"bb_mid": "price", "bb_upper": "price", "bb_lower": "price", "rsi": "sub"}
    output_params = ("period", "k", "rsi")

    def __init__(self, ctx: StrategyContext, params: dict[str, Any]) -> None:
        super().__init__(ctx, params)  # checks the parameter names against ``defaults``
        self._ind: dict[str, _Indicators] = {}
        self._working: dict[str, str] = {}  # symbol -> client order id sent and not filled yet
        self.entries = self.exits = self.rejected = 0

    # -- parameters ----------------------------------------------------------------------------------------
    def on_params_changed(self, name: str) -> None:
        if name in ("period", "k", "rsi", "atr"):
            self._ind.clear()  # new windows: start again (the brain replays history into on_bar)

    # -- data ----------------------------------------------------------------------------------------------
    def on_bar(self, symbol: str, bars: np.ndarray) -> None:
        ind = self._ind.get(symbol)
        if ind is None:
            ind = self._ind[symbol] = _Indicators(self.params)
        for bar in bars:
            close = float(bar["close"])
            mid, upper, lower = ind.bands.update(close)
            rsi = ind.rsi.update(close)
            atr = ind.atr.update(float(bar["high"]), float(bar["low"]), close)
            self.record(symbol, int(bar["ts"]), mid, upper, lower, rsi)
            if self.ctx.warming_up or math.isnan(mid) or math.isnan(rsi) or math.isnan(atr):
                continue  # history only warms the indicators: no decisions on it
            self._decide(symbol, ind, close, mid, upper, lower, rsi, atr)

    def _decide(self, symbol: str, ind: _Indicators, close: float, mid: float, upper: float, lower: float,
                rsi: float, atr: float) -> None:  # fmt: skip
        if symbol in self._working:
            return  # an order of ours is on its way: decide again once it filled or was refused
        pos = self.ctx.position(symbol)
        p = self.params
        if pos != 0.0:
            ind.held += 1
            back_at_mean = close >= mid if pos > 0 else close <= mid
            if back_at_mean or ind.held >= int(p["max_bars"]):
                self._send(symbol, OrderSide.SELL if pos > 0 else OrderSide.BUY, abs(pos))
                self.exits += 1
            return
        if close < lower and rsi < float(p["oversold"]):
            side = OrderSide.BUY
        elif close > upper and rsi > float(p["overbought"]) and p["allow_short"]:
            side = OrderSide.SELL
        else:
            return
        inst = self.ctx.instrument(symbol)
        stop = close - side.sign * float(p["sl_atr"]) * atr
        self._send(symbol, side, self.order_qty(symbol),
                   stop_loss=inst.round_price(stop), take_profit=inst.round_price(mid))  # fmt: skip
        ind.held = 0
        self.entries += 1

    def _send(self, symbol: str, side: OrderSide, qty: float, stop_loss: float | None = None,
              take_profit: float | None = None) -> None:  # fmt: skip
        cid = self.ctx.submit(symbol, side, qty, stop_loss=stop_loss, take_profit=take_profit)
        if cid is not None:
            self._working[symbol] = cid

    # -- what the trader answered ------------------------------------------------------------------------------
    def on_fill(self, fill: OrderFilled) -> None:
        if self._working.get(fill.symbol) == fill.client_order_id:
            del self._working[fill.symbol]

    def on_ack(self, ack: OrderAck) -> None:
        if not ack.accepted:
            self.rejected += 1
            for symbol, cid in list(self._working.items()):
                if cid == ack.client_order_id:
                    del self._working[symbol]

    def state(self) -> dict[str, Any]:
        return {"entries": self.entries, "exits": self.exits, "rejected": self.rejected,
                "working": dict(self._working)}  # fmt: skip
