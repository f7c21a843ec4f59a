"""One clock interface for everything that needs "now": risk (token bucket), venues (latency), brackets and
order expiry.

Live, ``WallClock`` reads the system clock. In replay and backtests, ``DataClock`` is advanced by the data's
own timestamps (``advance(ts_ns)``), so the same engine gives the same result however fast the data is played.
Both count integer nanoseconds since the epoch (UTC).
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

from marketcore.errors import MarketcoreError


class ClockError(MarketcoreError, ValueError):
    """A data clock asked to run backwards."""


@runtime_checkable
class Clock(Protocol):
    def now_ns(self) -> int:
        """The current time (ns since the epoch, UTC); never decreases."""
        ...


class WallClock:
    """The system clock (``time.time_ns``), made monotonic: a wall-clock step back repeats the last value."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last = 0

    def now_ns(self) -> int:
        now = time.time_ns()
        if now < self._last:
            return self._last
        self._last = now
        return now


class DataClock:
    """Time driven by data: ``advance`` to each event's timestamp; ``now_ns`` is the latest one seen.

    ``strict=False`` (the default) ignores an older timestamp (out-of-order data never moves time back);
    ``strict=True`` raises :class:`ClockError` instead.
    """

    __slots__ = ("_now", "strict")

    def __init__(self, start_ns: int = 0, *, strict: bool = False) -> None:
        self._now = int(start_ns)
        self.strict = strict

    def now_ns(self) -> int:
        return self._now

    def advance(self, ts_ns: int) -> int:
        ts = int(ts_ns)
        if ts > self._now:
            self._now = ts
        elif ts < self._now and self.strict:
            raise ClockError(f"data clock cannot go back from {self._now} to {ts}")
        return self._now


__all__ = ["Clock", "ClockError", "DataClock", "WallClock"]
