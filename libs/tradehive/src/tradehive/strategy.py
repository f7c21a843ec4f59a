"""The strategy API: what a brain runs and everything a strategy may ask of it.

A strategy subclasses :class:`Strategy`, overrides the callbacks it needs and acts only through its
:class:`StrategyContext` (submit and cancel orders, publish signals, read positions, the clock and bar
history). Strategies import this module, never a service: any object implementing the context (the brain
agent, a backtester, a test double) can run them.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from marketcore.instruments import Instrument
from marketcore.orders import OrderFilled, OrderSide, OrderType

from tradehive.protocol import OrderAck, Signal


@runtime_checkable
class StrategyContext(Protocol):
    """What a strategy may ask of whatever runs it."""

    name: str
    warming_up: bool  # True while history is replayed into the strategy: orders are ignored then

    def submit(
        self,
        symbol: str,
        side: OrderSide,
        qty: float,
        *,
        type: OrderType = OrderType.MARKET,  # noqa: A002 - the order field's name
        limit_price: float | None = None,
        stop_price: float | None = None,
        stop_loss: float | None = None,
        take_profit: float | None = None,
    ) -> str | None:
        """Send an order intent; its client order id, or None when no order may be sent (warming up,
        paused, no trader)."""
        ...

    def cancel(self, client_order_id: str, symbol: str) -> bool:
        """Ask for a working order to be cancelled; False when it cannot be sent."""
        ...

    def publish_signal(
        self, name: str, symbol: str, value: float, data: dict[str, Any] | None = None
    ) -> None: ...

    def position(self, symbol: str) -> float:
        """This strategy's signed position in ``symbol`` from its own fills."""
        ...

    def positions(self) -> dict[str, float]: ...

    def now_ns(self) -> int:
        """Data time: the timestamp of the newest data handed to the strategy."""
        ...

    def history(self, symbol: str, last_n: int, end_ns: int | None = None) -> np.ndarray:
        """Up to ``last_n`` closed bars (BAR_DTYPE, oldest first) of the strategy's timeframe and price,
        ending before ``end_ns`` (default: now); empty when none are available."""
        ...

    def instrument(self, symbol: str) -> Instrument:
        """The instrument traded as ``symbol`` (tick size, size step, default order size); raises
        ``marketcore.errors.UnknownSymbol`` for a symbol the registry does not hold."""
        ...


class Strategy:
    """Override the callbacks you need. Parameters live in ``params`` (defaults merged with the config) and can
    be changed live through the brain (``set_param``); ``state()`` is shown in the brain's ``status()``."""

    name: ClassVar[str] = "strategy"
    defaults: ClassVar[dict[str, Any]] = {}
    wants_ticks: ClassVar[bool] = False

    def __init__(self, ctx: StrategyContext, params: dict[str, Any]) -> None:
        unknown = set(params) - set(self.defaults)
        if unknown:
            raise ValueError(
                f"strategy {self.name!r} has no parameter(s) {sorted(unknown)}; has {sorted(self.defaults)}"
            )
        self.ctx = ctx
        self.params: dict[str, Any] = {**self.defaults, **params}

    # callbacks ----------------------------------------------------------------------------------------------
    def on_start(self) -> None: ...

    def on_stop(self) -> None: ...

    def on_bar(self, symbol: str, bars: np.ndarray) -> None:
        """Closed bars (BAR_DTYPE, oldest first); also called with history during warm-up."""

    def on_partial_bar(self, symbol: str, bar: np.ndarray) -> None: ...

    def on_tick(self, symbol: str, ticks: np.ndarray) -> None: ...

    def on_signal(self, signal: Signal) -> None: ...

    def on_fill(self, fill: OrderFilled) -> None: ...

    def on_ack(self, ack: OrderAck) -> None: ...

    # control ------------------------------------------------------------------------------------------------
    def set_param(self, name: str, value: Any) -> Any:
        if name not in self.defaults:
            raise KeyError(f"strategy {self.name!r} has no parameter {name!r}")
        old = self.params[name]
        self.params[name] = type(self.defaults[name])(value) if self.defaults[name] is not None else value
        self.on_params_changed(name)
        return old

    def on_params_changed(self, name: str) -> None: ...

    def order_qty(self, symbol: str) -> float:
        """The size to trade ``symbol``: the ``qty`` parameter when it is set (> 0), else the instrument's
        default order size (``Instrument.order_qty``: 10,000 EURUSD, 0.2 BTCUSDT), so one strategy trades a
        sensible notional on every symbol."""
        qty = float(self.params.get("qty") or 0.0)
        return qty if qty > 0 else self.ctx.instrument(symbol).order_qty

    def state(self) -> dict[str, Any]:
        return {}

    # outputs: indicator values per closed bar, published by the brain and drawn by the chart ------------------
    #: name -> pane ("price": overlaid on the candles; "sub": its own pane), in the order ``record`` takes them
    outputs: ClassVar[dict[str, str]] = {}
    #: name -> how a chart draws it: "line" (the default), "stop" or "target" (a level per bar)
    output_styles: ClassVar[dict[str, str]] = {}
    #: parameters whose change recomputes the outputs (the brain re-warms the strategy from history)
    output_params: ClassVar[tuple[str, ...]] = ()
    _recorder: Any = None

    def record(self, symbol: str, ts_ns: int, *values: float) -> None:
        """The outputs after the bar opening at ``ts_ns`` (NaN while warming); a no-op without a recorder."""
        if self._recorder is not None:
            self._recorder.record(symbol, ts_ns, values)


__all__ = ["Strategy", "StrategyContext"]
