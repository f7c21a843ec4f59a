"""Pacing a replay: mapping data time to wall time at 1x, Nx or max speed, without sleeping itself.

The feeder asks :meth:`Pacer.delay` how long to wait before publishing a batch whose last tick has data time
``t``, and sizes batches with :attr:`Pacer.max_span_ns` / :attr:`Pacer.max_ticks` so that real-time playback
releases small, evenly spaced batches (``resolution_s`` of wall time each) instead of bursts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from marketcore.errors import DataSourceError

Speed = float | Literal["max"]


class Pacer:
    """Data-time to wall-time mapping; anchored at the first :meth:`delay` call and at every speed change."""

    def __init__(
        self,
        speed: Speed = 1.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        resolution_s: float = 0.02,
        max_idle_s: float | None = None,
        max_ticks: int = 10_000,
    ) -> None:
        if resolution_s <= 0 or max_ticks < 1:
            raise DataSourceError("resolution_s must be > 0 and max_ticks >= 1")
        if max_idle_s is not None and max_idle_s < 0:
            raise DataSourceError("max_idle_s must be >= 0")
        self._clock = clock
        self._resolution_s = resolution_s
        self._max_idle_s = max_idle_s
        self.max_ticks = max_ticks
        self._speed: Speed = _check_speed(speed)
        self._anchor: tuple[int, float] | None = None  # (data ns, wall s)
        self._last_data_ns: int | None = None

    @property
    def speed(self) -> Speed:
        return self._speed

    def set_speed(self, speed: Speed) -> None:
        """Change speed from the last released data time on (no jump backward or forward)."""
        self._speed = _check_speed(speed)
        self._anchor = None if self._last_data_ns is None else (self._last_data_ns, self._clock())

    @property
    def max_span_ns(self) -> int | None:
        """Longest data-time span of one batch: ``resolution_s`` of wall time; None at max speed."""
        if self._speed == "max":
            return None
        return max(1, int(self._resolution_s * self._speed * 1e9))

    def delay(self, data_ns: int) -> float:
        """Seconds to wait before releasing data stamped ``data_ns`` (0 when late or at max speed)."""
        data_ns = int(data_ns)
        if self._last_data_ns is not None and data_ns < self._last_data_ns:
            raise DataSourceError(f"data time went backward: {data_ns} < {self._last_data_ns}")
        self._last_data_ns = data_ns
        if self._speed == "max":
            return 0.0
        now = self._clock()
        if self._anchor is None:
            self._anchor = (data_ns, now)
            return 0.0
        data0, wall0 = self._anchor
        wait = wall0 + (data_ns - data0) / 1e9 / self._speed - now
        if self._max_idle_s is not None and wait > self._max_idle_s:
            self._anchor = (data0, wall0 - (wait - self._max_idle_s))  # compress the gap (weekends)
            wait = self._max_idle_s
        return max(0.0, wait)

    def lag(self) -> float:
        """How far wall time is behind schedule for the last released data (s, >= 0 is on time or late)."""
        if self._anchor is None or self._last_data_ns is None or self._speed == "max":
            return 0.0
        data0, wall0 = self._anchor
        return self._clock() - (wall0 + (self._last_data_ns - data0) / 1e9 / self._speed)


class SpeedError(DataSourceError, ValueError):
    """A speed that is neither a positive number nor ``"max"``."""


def parse_speed(value: Speed | str) -> Speed:
    """The one speed parser: ``"max"``, or a positive multiple of real time (``1``, ``"10"``, ``2.5``).

    Used by the tick sources, the feeder's live ``set_speed`` and the ``tradehive`` command line."""
    if value == "max":
        return "max"
    try:
        speed = float(value)
    except (TypeError, ValueError):
        raise SpeedError(f"speed must be a positive number or 'max', not {value!r}") from None
    if isinstance(value, bool) or not speed > 0 or speed == float("inf"):
        raise SpeedError(f"speed must be a positive number or 'max', not {value!r}")
    return speed


_check_speed = parse_speed
