"""Pre-trade risk: frozen limits, a token-bucket order-rate limiter and the rule engine.

``RiskEngine.check`` returns None (accept) or a ``RiskRejection`` naming one bounded rule. Rules are checked
in a fixed order: kill_switch, max_order_qty, max_position, max_notional (per order, then gross), order_rate.
A rate token is consumed only by an order that passes every other rule. Cancels are never checked: the kill
switch halts new orders, not the way out.
"""

from __future__ import annotations

import math
from typing import Literal

import msgspec

from marketcore.clock import Clock
from marketcore.errors import MarketcoreError
from marketcore.instruments import InstrumentRegistry
from marketcore.orders.messages import SubmitOrder

RiskRule = Literal["max_order_qty", "max_position", "max_notional", "order_rate", "kill_switch"]
RISK_RULES: tuple[RiskRule, ...] = (
    "max_order_qty",
    "max_position",
    "max_notional",
    "order_rate",
    "kill_switch",
)

_INF = math.inf


class RiskConfigError(MarketcoreError, ValueError):
    """Invalid risk limits."""


class RiskLimits(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Pre-trade limits (inf = unlimited). ``position_limits`` overrides ``max_position`` per symbol."""

    max_order_qty: float = _INF
    max_position: float = _INF
    max_order_notional: float = _INF
    max_gross_notional: float = _INF
    max_orders_per_second: float = _INF
    order_burst: int = 1
    kill_switch: bool = False
    position_limits: dict[str, float] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        values = {
            "max_order_qty": self.max_order_qty,
            "max_position": self.max_position,
            "max_order_notional": self.max_order_notional,
            "max_gross_notional": self.max_gross_notional,
            "max_orders_per_second": self.max_orders_per_second,
            **{f"position_limits[{k}]": v for k, v in self.position_limits.items()},
        }
        for name, value in values.items():
            if math.isnan(value) or value < 0:
                raise RiskConfigError(f"{name} must be >= 0, got {value!r}")
        if self.order_burst < 1:
            raise RiskConfigError(f"order_burst must be >= 1, got {self.order_burst}")

    def position_limit(self, symbol: str) -> float:
        return self.position_limits.get(symbol, self.max_position)


class RiskRejection(msgspec.Struct, frozen=True):
    rule: RiskRule
    detail: str


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` stored. Time is passed in (ns), never runs back."""

    def __init__(self, rate_per_s: float, burst: int, now_ns: int = 0) -> None:
        if math.isnan(rate_per_s) or rate_per_s < 0 or burst < 1:
            raise RiskConfigError(f"token bucket needs rate >= 0 and burst >= 1, got {rate_per_s}, {burst}")
        self.rate_per_s = rate_per_s
        self.burst = float(burst)
        self._tokens = float(burst)
        self._last_ns = now_ns

    def _refill(self, now_ns: int) -> None:
        if now_ns > self._last_ns:
            added = (now_ns - self._last_ns) * self.rate_per_s / 1e9
            self._tokens = min(self.burst, self._tokens + added)
            self._last_ns = now_ns

    def available(self, now_ns: int) -> float:
        self._refill(now_ns)
        return self._tokens

    def try_take(self, now_ns: int) -> bool:
        if math.isinf(self.rate_per_s):
            return True
        self._refill(now_ns)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class RiskEngine:
    """Applies ``RiskLimits`` to new orders. ``instruments`` supplies contract multipliers (default 1)."""

    def __init__(
        self, limits: RiskLimits, instruments: InstrumentRegistry | None = None, clock: Clock | None = None
    ) -> None:
        self.limits = limits
        self._instruments = instruments
        self.clock = clock  # "now" of the order-rate bucket when ``check`` gets no ``now_ns``
        # starts at time 0: whatever clock drives it (wall or replayed data time), the first check refills it
        self._bucket = TokenBucket(limits.max_orders_per_second, limits.order_burst)
        self._kill_reason = "kill switch engaged by configuration" if limits.kill_switch else ""
        self.rejections: dict[RiskRule, int] = dict.fromkeys(RISK_RULES, 0)

    @property
    def halted(self) -> bool:
        return bool(self._kill_reason)

    def engage_kill_switch(self, reason: str = "manual") -> None:
        self._kill_reason = reason or "manual"

    def disengage_kill_switch(self) -> None:
        self._kill_reason = ""

    def check(
        self,
        order: SubmitOrder,
        position: float,
        price: float,
        now_ns: int | None = None,
        gross_notional: float = 0.0,
    ) -> RiskRejection | None:
        """Accept (None) or reject ``order`` given the symbol's signed ``position``, a valuation ``price``
        (e.g. the current quote on the order's side) and the portfolio's current ``gross_notional``.
        ``now_ns`` (default: the engine's clock) drives the order-rate bucket."""
        if now_ns is None:
            if self.clock is None:
                raise RiskConfigError("check() needs now_ns when the risk engine has no clock")
            now_ns = self.clock.now_ns()
        rejection = self._evaluate(order, position, price, gross_notional)
        if rejection is None and not self._bucket.try_take(now_ns):
            rejection = RiskRejection(
                "order_rate",
                f"more than {self.limits.max_orders_per_second}/s (burst {self.limits.order_burst})",
            )
        if rejection is not None:
            self.rejections[rejection.rule] += 1
        return rejection

    def _evaluate(
        self, order: SubmitOrder, position: float, price: float, gross_notional: float
    ) -> RiskRejection | None:
        lim = self.limits
        if self._kill_reason:
            return RiskRejection("kill_switch", f"new orders halted: {self._kill_reason}")
        if order.qty > lim.max_order_qty:
            return RiskRejection("max_order_qty", f"qty {order.qty} > {lim.max_order_qty}")
        new_position = position + order.side.sign * order.qty
        limit = lim.position_limit(order.symbol)
        if abs(new_position) > limit and abs(new_position) > abs(position):
            return RiskRejection(
                "max_position", f"{order.symbol} position would be {new_position} (limit +/-{limit})"
            )
        return self._check_notional(order, price, gross_notional)

    def _check_notional(
        self, order: SubmitOrder, price: float, gross_notional: float
    ) -> RiskRejection | None:
        lim = self.limits
        if math.isinf(lim.max_order_notional) and math.isinf(lim.max_gross_notional):
            return None
        if not (math.isfinite(price) and price > 0):
            return RiskRejection("max_notional", f"cannot value {order.symbol} order at price {price!r}")
        multiplier = 1.0
        if self._instruments is not None and order.symbol in self._instruments:
            multiplier = self._instruments.get(order.symbol).multiplier
        notional = order.qty * price * multiplier
        if notional > lim.max_order_notional:
            return RiskRejection("max_notional", f"order notional {notional:.2f} > {lim.max_order_notional}")
        if gross_notional + notional > lim.max_gross_notional:
            return RiskRejection(
                "max_notional",
                f"gross notional would be {gross_notional + notional:.2f} > {lim.max_gross_notional}",
            )
        return None
