"""What the chart shows, as plain NumPy: the closed candles of one (symbol, timeframe, price), the forming one,
and the series drawn over them. No Qt here, so it is tested and benchmarked on its own.

Candles sit at x = their index (0 = oldest held); gaps in time (nights, weekends) take no room, as on every
trading chart. Times are looked up by index for the axis and the crosshair readout.
"""

from __future__ import annotations

from typing import cast

import numpy as np
from marketcore.bars.resample import price_column
from marketcore.schema import BAR_DTYPE

GROW = 4096


class CandleSeries:
    """Closed bars in one growable array (amortised O(1) append) plus the forming bar, kept apart.

    ``version`` counts changes to closed bars; ``first_dirty`` is the lowest index changed since the graphics
    last looked (:meth:`take_dirty`): appending one bar dirties only the last chunk of cached pictures.
    """

    def __init__(self) -> None:
        self._bars = np.zeros(GROW, dtype=BAR_DTYPE)
        self.n = 0
        self.forming: np.void | None = None  # one BAR_DTYPE row, or None
        self.version = 0
        self.forming_version = 0
        self._dirty_from: int | None = 0

    # -- reading --------------------------------------------------------------------------------------------
    @property
    def bars(self) -> np.ndarray:
        """The closed bars (a view, oldest first)."""
        return self._bars[: self.n]

    def __len__(self) -> int:
        return self.n

    @property
    def last_ts(self) -> int | None:
        if self.forming is not None:
            return int(self.forming["ts"])
        return int(self._bars["ts"][self.n - 1]) if self.n else None

    def ts_at(self, index: int) -> int | None:
        """Open time of the candle at ``index`` (the forming candle at ``n``); None outside."""
        if 0 <= index < self.n:
            return int(self._bars["ts"][index])
        if index == self.n and self.forming is not None:
            return int(self.forming["ts"])
        return None

    def bar_at(self, index: int) -> np.void | None:
        if 0 <= index < self.n:
            return cast(np.void, self._bars[index])  # a structured array's row (numpy's stubs say ndarray)
        if index == self.n and self.forming is not None:
            return self.forming
        return None

    def index_of(self, ts_ns: int | np.ndarray) -> np.ndarray | int:
        """Index of the candle holding time ``ts_ns`` (the last one opening at or before it); -1 before all."""
        ts = self._bars["ts"][: self.n]
        if self.forming is not None:
            ts = np.append(ts, self.forming["ts"])
        return np.searchsorted(ts, ts_ns, side="right") - 1

    def y_range(self, i0: int, i1: int) -> tuple[float, float] | None:
        """(lowest low, highest high) of candles [i0, i1), forming candle included; None when empty."""
        i0, i1 = max(0, i0), min(i1, self.n + (1 if self.forming is not None else 0))
        lo, hi = np.inf, -np.inf
        if i0 < min(i1, self.n):
            seg = self._bars[i0 : min(i1, self.n)]
            lo, hi = float(seg["low"].min()), float(seg["high"].max())
        if self.forming is not None and i0 <= self.n < i1:
            lo, hi = min(lo, float(self.forming["low"])), max(hi, float(self.forming["high"]))
        return None if lo > hi else (lo, hi)

    def volume_max(self, i0: int, i1: int, field: str) -> float:
        i0, i1 = max(0, i0), min(i1, self.n)
        top = float(self._bars[field][i0:i1].max()) if i0 < i1 else 0.0
        if self.forming is not None:
            top = max(top, float(self.forming[field]))
        return top

    # -- changing -------------------------------------------------------------------------------------------
    def reset(self, bars: np.ndarray, forming: np.ndarray | None = None) -> None:
        """Replace everything (a history load, a symbol or timeframe switch)."""
        self._bars = np.zeros(max(GROW, bars.size * 2), dtype=BAR_DTYPE)
        self._bars[: bars.size] = bars
        self.n = int(bars.size)
        self.forming = None if forming is None or not forming.size else forming.reshape(-1)[-1:].copy()[0]
        self.version += 1
        self.forming_version += 1
        self._dirty_from = 0

    def append_closed(self, bars: np.ndarray) -> int:
        """Closed bars from the live stream; returns how many were new (a bar at or before the last held time
        is a replay of one already held: replaced when it is the last one, else ignored)."""
        if not bars.size:
            return 0
        added = 0
        for row in bars:  # usually one bar per message
            ts = int(row["ts"])
            if self.n and ts <= int(self._bars["ts"][self.n - 1]):
                if ts == int(self._bars["ts"][self.n - 1]):
                    self._bars[self.n - 1] = row
                    self._mark(self.n - 1)
                continue
            if self.n == self._bars.size:
                grown = np.zeros(self._bars.size * 2, dtype=BAR_DTYPE)
                grown[: self.n] = self._bars[: self.n]
                self._bars = grown
            self._bars[self.n] = row
            self._mark(self.n)
            self.n += 1
            added += 1
        if self.forming is not None and int(self.forming["ts"]) <= int(self._bars["ts"][self.n - 1]):
            self.forming = None  # the bar that was forming has closed
            self.forming_version += 1
        if added or self._dirty_from is not None:
            self.version += 1
        return added

    def set_forming(self, bar: np.ndarray) -> bool:
        """The forming bar (a partial); False (ignored) when it is older than the last closed bar."""
        row = bar.reshape(-1)[-1]
        if self.n and int(row["ts"]) <= int(self._bars["ts"][self.n - 1]):
            return False
        self.forming = row.copy()
        self.forming_version += 1
        return True

    def _mark(self, index: int) -> None:
        self._dirty_from = index if self._dirty_from is None else min(self._dirty_from, index)

    def take_dirty(self) -> int | None:
        """Lowest closed index changed since the last call (None: nothing), and forget it."""
        dirty, self._dirty_from = self._dirty_from, None
        return dirty


class IndicatorSeries:
    """One named line (e.g. ``ema_fast``) of one brain: times and values, appended per closed bar."""

    def __init__(self) -> None:
        self.ts = np.zeros(0, dtype=np.int64)
        self.values = np.zeros(0, dtype=np.float64)
        self.version = 0

    def reset(self, ts: np.ndarray, values: np.ndarray) -> None:
        order = np.argsort(ts, kind="stable")
        self.ts, self.values = np.asarray(ts, np.int64)[order], np.asarray(values, np.float64)[order]
        self.version += 1

    def append(self, ts: np.ndarray, values: np.ndarray) -> None:
        ts, values = np.asarray(ts, np.int64), np.asarray(values, np.float64)
        if self.ts.size and ts.size and ts[0] <= self.ts[-1]:  # a redraw after a parameter change overlaps
            keep = self.ts < ts[0]
            self.ts, self.values = self.ts[keep], self.values[keep]
        self.ts, self.values = np.concatenate([self.ts, ts]), np.concatenate([self.values, values])
        self.version += 1


def merge_bars(bars: np.ndarray, k: int) -> np.ndarray:
    """Aggregate every ``k`` consecutive bars into one (open of the first, high/low over, close of the last,
    volumes and counts summed): what the chart draws when a candle would be narrower than a few pixels."""
    if k <= 1 or not bars.size:
        return bars
    n = bars.size
    starts = np.arange(0, n, k)
    out = np.zeros(starts.size, dtype=BAR_DTYPE)
    out["ts"] = bars["ts"][starts]
    out["open"] = bars["open"][starts]
    out["close"] = bars["close"][np.minimum(starts + k, n) - 1]
    out["high"] = np.maximum.reduceat(bars["high"], starts)
    out["low"] = np.minimum.reduceat(bars["low"], starts)
    out["volume"] = np.add.reduceat(bars["volume"], starts)
    out["count"] = np.add.reduceat(bars["count"], starts)
    return out


def apply_ticks(series: CandleSeries, ticks: np.ndarray, price: str, tf_ns: int) -> bool:
    """Move the forming candle with ticks that fall inside it (newer than the last partial); True if it moved.

    Ticks past the forming candle's end are left for the router's closed bar and next partial: the chart never
    invents a candle the router has not built."""
    bar = series.forming
    if bar is None or not ticks.size:
        return False
    start = int(bar["ts"])
    ts = ticks["ts"]
    inside = (ts >= start) & (ts < start + tf_ns)
    px = price_column(ticks[inside], price)
    px = px[np.isfinite(px)]
    if not px.size:
        return False
    bar["high"] = max(float(bar["high"]), float(px.max()))
    bar["low"] = min(float(bar["low"]), float(px.min()))
    bar["close"] = float(px[-1])
    bar["count"] = int(bar["count"]) + int(px.size)
    series.forming_version += 1
    return True
