"""Candles and volume bars as pyqtgraph items that stay fast with 100k bars loaded.

Closed candles are drawn into cached QPictures of ``CHUNK`` candles each (only the visible chunks are replayed;
appending a bar re-records only the last chunk); the forming candle is drawn on its own, uncached, so a tick
costs one candle plus replaying the visible chunks. Zoomed out so far that a candle would be narrower than
``MIN_CANDLE_PX`` pixels, ``k`` neighbouring candles are merged (k a power of two), with their own chunk cache.

A wick of zero length (high == low) recorded into a QPicture replays as a large filled block (Qt): such wicks
are skipped, and a body with open == close is drawn as a line.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui

from tradehive_viz.model import CandleSeries, merge_bars

CHUNK = 256  # candles per cached picture (at the merge level): a follow view replays ~1-2 of them
MIN_CANDLE_PX = 3.0
BODY = 0.8  # body width as a fraction of the slot
UP = QtGui.QColor("#26a69a")
DOWN = QtGui.QColor("#ef5350")


def _pen(color: QtGui.QColor) -> QtGui.QPen:
    pen = QtGui.QPen(color)
    pen.setCosmetic(True)
    pen.setWidth(1)
    return pen


class _ChunkedBars(pg.GraphicsObject):
    """Shared machinery: merge level from the zoom, per-level chunk pictures, the live bar drawn last."""

    def __init__(self, series: CandleSeries) -> None:
        super().__init__()
        self.series = series
        self._pictures: dict[tuple[int, int], QtGui.QPicture] = {}
        self._merged: dict[int, np.ndarray] = {}  # merge level -> merged closed bars
        self._bounds = QtCore.QRectF()
        self._closed_extent: tuple[float, float] | None = None  # of the closed bars; None: compute again
        self.recorded = 0  # pictures recorded (benchmarks and tests read it)
        self.dropped = 0  # cached pictures invalidated by changed closed bars
        self.setFlag(self.GraphicsItemFlag.ItemUsesExtendedStyleOption)

    # -- invalidation (called by the window's repaint timer) --------------------------------------------------
    def invalidate_from(self, index: int | None) -> None:
        """Closed bars from ``index`` on changed (None: only the forming bar changed)."""
        if index is not None:
            if index <= 0 or self._closed_extent is None:
                self._closed_extent = None
            else:  # appended (or the last replaced): widen by the changed bars only (bounds need only contain)
                lo, hi = self._y_extent(self.series.bars[index:])
                self._closed_extent = min(self._closed_extent[0], lo), max(self._closed_extent[1], hi)
            if index <= 0:
                self.dropped += len(self._pictures)
                self._pictures.clear()
                self._merged.clear()
            else:
                for key in [k for k in self._pictures if (k[1] + 1) * CHUNK * k[0] > index]:
                    del self._pictures[key]
                    self.dropped += 1
                self._merged.clear()
        self._update_bounds()
        self.update()

    def _update_bounds(self) -> None:
        """The bounds from the closed bars' extent (computed once per change of closed bars, not per tick: a
        scan of 100k bars) and the forming bar's; a geometry change only when they moved."""
        s = self.series
        n = len(s) + (1 if s.forming is not None else 0)
        if self._closed_extent is None:
            self._closed_extent = self._y_extent(s.bars)
        lo, hi = self._closed_extent
        if s.forming is not None:
            f_lo, f_hi = self._y_extent(s.forming.reshape(1))
            lo, hi = min(lo, f_lo), max(hi, f_hi)
        if not math.isfinite(lo) or not math.isfinite(hi):
            lo, hi = 0.0, 1.0
        bounds = QtCore.QRectF(-1.0, lo, n + 2.0, max(hi - lo, 1e-12)) if n else QtCore.QRectF()
        if bounds != self._bounds:
            self.prepareGeometryChange()
            self._bounds = bounds

    def _y_extent(self, bars: np.ndarray) -> tuple[float, float]:
        """(low, high) drawn for ``bars`` (inf, -inf when empty)."""
        raise NotImplementedError

    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802 - Qt's name
        return self._bounds

    # -- drawing -------------------------------------------------------------------------------------------
    def level(self) -> int:
        """Candles merged per drawn candle at the current zoom (1 when a candle is >= MIN_CANDLE_PX wide)."""
        px = self.pixelWidth()
        if not px or not math.isfinite(px) or px <= 0:
            return 1
        k = 1
        while k / px < MIN_CANDLE_PX and k < 1 << 20:
            k *= 2
        return k

    def _level_bars(self, k: int) -> np.ndarray:
        if k == 1:
            return self.series.bars
        merged = self._merged.get(k)
        if merged is None:
            merged = self._merged[k] = merge_bars(self.series.bars, k)
        return merged

    def _picture(self, k: int, chunk: int) -> QtGui.QPicture:
        key = (k, chunk)
        pic = self._pictures.get(key)
        if pic is None:
            bars = self._level_bars(k)[chunk * CHUNK : (chunk + 1) * CHUNK]
            pic = QtGui.QPicture()
            painter = QtGui.QPainter(pic)
            first = chunk * CHUNK
            xs = (np.arange(first, first + bars.size, dtype=np.float64) + 0.5) * k - 0.5
            self.draw(painter, bars, xs, float(k))
            painter.end()
            self._pictures[key] = pic
            self.recorded += 1
        return pic

    def paint(self, p: QtGui.QPainter, opt: Any, widget: Any = None) -> None:
        s = self.series
        if not len(s) and s.forming is None:
            return
        k = self.level()
        view = self.viewRect()
        x0, x1 = (view.left(), view.right()) if view is not None else (0.0, float(len(s)))
        n_level = -(-len(s) // k)
        c0 = max(0, int(x0 / k) // CHUNK)
        c1 = min((n_level - 1) // CHUNK, int(max(x1, 0) / k) // CHUNK) if n_level else -1
        for chunk in range(c0, c1 + 1):
            p.drawPicture(0, 0, self._picture(k, chunk))
        if s.forming is not None and x0 - 1 <= len(s) <= x1 + 1:
            self.draw(p, s.forming.reshape(1), np.array([float(len(s))]), 1.0)

    def draw(self, p: QtGui.QPainter, bars: np.ndarray, xs: np.ndarray, width: float) -> None:
        raise NotImplementedError


class CandleItem(_ChunkedBars):
    """OHLC candles: wick from low to high, body from open to close; up (close >= open) green, down red."""

    def _y_extent(self, bars: np.ndarray) -> tuple[float, float]:
        if not bars.size:
            return math.inf, -math.inf
        return float(bars["low"].min()), float(bars["high"].max())

    def draw(self, p: QtGui.QPainter, bars: np.ndarray, xs: np.ndarray, width: float) -> None:
        o, h, lo, c = bars["open"], bars["high"], bars["low"], bars["close"]
        half = width * BODY / 2
        up = c >= o
        for mask, color in ((up, UP), (~up, DOWN)):
            if not mask.any():
                continue
            pen = _pen(color)
            p.setPen(pen)
            p.setBrush(QtGui.QBrush(color))
            x, hh, ll, oo, cc = xs[mask], h[mask], lo[mask], o[mask], c[mask]
            wick = hh > ll  # a zero-length wick replays as a filled block from a QPicture: skip it
            p.drawLines(
                [QtCore.QLineF(a, b, a, d) for a, b, d in zip(x[wick], ll[wick], hh[wick], strict=True)]
            )
            flat = cc == oo
            if flat.any():
                p.drawLines(
                    [QtCore.QLineF(a - half, b, a + half, b) for a, b in zip(x[flat], oo[flat], strict=True)]
                )
            body = ~flat
            bot, top = np.minimum(oo, cc)[body], np.maximum(oo, cc)[body]
            p.drawRects(
                [
                    QtCore.QRectF(a - half, b, 2 * half, t - b)
                    for a, b, t in zip(x[body], bot, top, strict=True)
                ]
            )


class VolumeItem(_ChunkedBars):
    """Volume per candle (the tick count for quote feeds, which carry no size), coloured like its candle."""

    def __init__(self, series: CandleSeries, field: Callable[[], str]) -> None:
        super().__init__(series)
        self._field = field

    @property
    def field(self) -> str:
        return self._field()

    def _y_extent(self, bars: np.ndarray) -> tuple[float, float]:
        return 0.0, max(float(bars[self.field].max()) if bars.size else 0.0, 1.0)

    def draw(self, p: QtGui.QPainter, bars: np.ndarray, xs: np.ndarray, width: float) -> None:
        v = bars[self.field].astype(np.float64)
        half = width * BODY / 2
        up = bars["close"] >= bars["open"]
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        for mask, color in ((up, UP), (~up, DOWN)):
            keep = mask & (v > 0)
            if not keep.any():
                continue
            fill = QtGui.QColor(color)
            fill.setAlpha(150)
            p.setBrush(QtGui.QBrush(fill))
            p.drawRects(
                [QtCore.QRectF(a - half, 0.0, 2 * half, b) for a, b in zip(xs[keep], v[keep], strict=True)]
            )
