"""The chart widget: price pane (candles, brain overlays, trades), sub-pane (oscillators, regime), volume pane,
a time axis over candle indices, a crosshair with an OHLC readout, follow mode and y fitted to the view.

It is fed only from the GUI thread (the window applies data received through signals) and repaints from
:meth:`ChartView.refresh`, which the window calls on a 10-20 Hz timer: never per tick.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui

from tradehive_viz.items import DOWN, UP, CandleItem, VolumeItem
from tradehive_viz.model import CandleSeries, IndicatorSeries

BACKGROUND = "#131722"
FOREGROUND = "#b2b5be"
FOLLOW_BARS = 150  # candles in view in follow mode (unless the user zoomed)
MAX_SUBS = 6  # brains' sub-panes shown at once (more share the last)
OVERLAY_COLORS = ("#f5c542", "#42a5f5", "#ab47bc", "#ff7043", "#66bb6a", "#ec407a", "#26c6da", "#d4e157")
LEVEL_COLORS = {"stop": "#ff5252", "target": "#69f0ae"}  # brighter than the candles' colours, dashed
MAX_STEPPED = 600  # more candles in view: levels drawn as a plain line (steps would be narrower than ~2 px)


def fmt_time(ts_ns: int, utc: bool, seconds: bool = True) -> str:
    dt = datetime.fromtimestamp(ts_ns / 1e9, tz=UTC)
    if not utc:
        dt = dt.astimezone()
    return dt.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + (" UTC" if utc else "")


class TimeAxis(pg.AxisItem):
    """Bottom axis over candle indices, labelled with the candles' open times (UTC or local)."""

    def __init__(self, series: CandleSeries, **kw: Any) -> None:
        super().__init__("bottom", **kw)
        self.series = series
        self.utc = True
        self.tf_s = 60.0

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        out = []
        span_s = spacing * self.tf_s
        for v in values:
            ts = self.series.ts_at(int(round(v)))
            if ts is None:
                out.append("")
                continue
            dt = datetime.fromtimestamp(ts / 1e9, tz=UTC)
            if not self.utc:
                dt = dt.astimezone()
            if span_s >= 86400 * 20:
                out.append(dt.strftime("%Y-%m"))
            elif span_s >= 86400:
                out.append(dt.strftime("%m-%d"))
            elif span_s >= 3600 * 3:
                out.append(dt.strftime("%m-%d %H:%M"))
            elif self.tf_s < 60:
                out.append(dt.strftime("%H:%M:%S"))
            else:
                out.append(dt.strftime("%H:%M"))
        return out


class ChartView(pg.GraphicsLayoutWidget):
    """Everything drawn for one (symbol, timeframe, price)."""

    readout = QtCore.Signal(str)  # the crosshair's OHLC + time text
    follow_changed = QtCore.Signal(bool)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.series = CandleSeries()
        self.volume_field = "count"  # quote feeds have no sizes: the tick count stands for volume
        self.follow = True
        self._adjusting = False
        self.time_axis = TimeAxis(self.series)
        self.price = self.addPlot(row=0, col=0, axisItems={"bottom": self.time_axis})
        self.volume = self.addPlot(
            row=MAX_SUBS + 1, col=0
        )  # sub-panes (one per brain) go in the rows between
        self.subs: dict[str, pg.PlotItem] = {}
        self.ci.layout.setRowStretchFactor(0, 6)
        self.ci.layout.setRowStretchFactor(MAX_SUBS + 1, 1)
        for plot in (self.price, self.volume):
            self._style(plot)
        self.volume.setXLink(self.price)
        self.volume.vb.setMouseEnabled(x=True, y=False)
        self.price.vb.setMouseEnabled(x=True, y=False)
        self.volume.getAxis("bottom").setStyle(showValues=False)
        self._legend(self.price, (8, 22))
        self.candles = CandleItem(self.series)
        self.vol = VolumeItem(self.series, lambda: self.volume_field)
        self.price.addItem(self.candles)
        self.volume.addItem(self.vol)
        self.title = pg.TextItem("", color=FOREGROUND, anchor=(0, 0))
        self.title.setParentItem(self.price.vb)
        self.title.setPos(4, 2)
        # crosshair
        pen = pg.mkPen("#787b86", style=QtCore.Qt.PenStyle.DashLine)
        self.vline = pg.InfiniteLine(angle=90, movable=False, pen=pen)
        self.hline = pg.InfiniteLine(angle=0, movable=False, pen=pen)
        self.price.addItem(self.vline, ignoreBounds=True)
        self.price.addItem(self.hline, ignoreBounds=True)
        self.vline.hide()  # until the mouse is over the chart
        self.hline.hide()
        self._mouse = pg.SignalProxy(self.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse)
        self.price.vb.sigXRangeChanged.connect(self._on_xrange)
        self.price.vb.sigRangeChangedManually.connect(self._on_manual)
        # trades
        self.fills_buy = pg.ScatterPlotItem(
            symbol="t1", size=13, brush=pg.mkBrush(UP), pen=pg.mkPen("w", width=0.8)
        )
        self.fills_sell = pg.ScatterPlotItem(
            symbol="t", size=13, brush=pg.mkBrush(DOWN), pen=pg.mkPen("w", width=0.8)
        )
        self.price.addItem(self.fills_buy)
        self.price.addItem(self.fills_sell)
        self.fills: list[tuple[int, float, int, float]] = []  # (ts_ns, price, +1 buy / -1 sell, qty)
        self.level_lines: dict[str, pg.InfiniteLine] = {}
        # brain overlays: (brain, name) -> (series, curve, pane)
        self.indicators: dict[tuple[str, str], tuple[IndicatorSeries, pg.PlotDataItem, str]] = {}
        self.hidden: set[tuple[str, str]] = set()
        self.styles: dict[tuple[str, str], str] = {}  # line | stop | target
        self._ind_seen: dict[tuple[str, str], tuple[int, tuple[int, int] | None]] = {}
        self._fills_dirty = False
        self.repaints = 0

    # -- loading and live data --------------------------------------------------------------------------------
    def load(self, bars: np.ndarray, forming: np.ndarray | None, tf_s: float, title: str) -> None:
        self.series.reset(bars, forming)
        self.time_axis.tf_s = tf_s
        self.title.setText(title)
        self.follow = True
        self.follow_changed.emit(True)
        self._fills_dirty = True
        for series, _curve, _pane in self.indicators.values():
            series.version += 1  # re-map to the new candles
        self.refresh(force=True)

    def refresh(self, force: bool = False) -> None:
        """Apply what changed since the last call (one repaint of the items that changed)."""
        s = self.series
        dirty = s.take_dirty()
        changed = force or dirty is not None or s.forming_version != getattr(self, "_forming_seen", -1)
        self._forming_seen = s.forming_version
        if dirty is not None or force:
            self.candles.invalidate_from(0 if force else dirty)
            self.vol.invalidate_from(0 if force else dirty)
            self._fills_dirty = True
        elif changed:
            self.candles.invalidate_from(None)
            self.vol.invalidate_from(None)
        if self._fills_dirty:
            self._draw_fills()
        if changed:
            if self.follow:
                self._follow()
            else:
                self._fit_y()
            self.repaints += 1
        self._draw_indicators()  # after the view moved: levels are drawn for the candles in view

    def _follow(self) -> None:
        n = len(self.series) + (1 if self.series.forming is not None else 0)
        x0, x1 = self.price.vb.viewRange()[0]
        width = x1 - x0 if x1 - x0 > 5 else FOLLOW_BARS
        width = min(max(width, 20.0), max(float(FOLLOW_BARS) * 20, 20.0))
        right = n + 3.0
        self._adjusting = True
        try:
            self.price.setXRange(right - width, right, padding=0)
        finally:
            self._adjusting = False
        self._fit_y()

    def set_follow(self, on: bool) -> None:
        self.follow = on
        if on:
            self._follow()
        self.follow_changed.emit(on)

    def show_all(self) -> None:
        n = len(self.series) + 1
        self.follow = False
        self.follow_changed.emit(False)
        self._adjusting = True
        try:
            self.price.setXRange(-1, n + 1, padding=0)
        finally:
            self._adjusting = False
        self._fit_y()

    def _on_manual(self, *_: Any) -> None:
        if self.follow:
            self.follow = False
            self.follow_changed.emit(False)

    def _on_xrange(self, *_: Any) -> None:
        if not self._adjusting:
            self._fit_y()
            self._draw_indicators()  # levels are drawn for the candles in view

    def _fit_y(self) -> None:
        x0, x1 = self.price.vb.viewRange()[0]
        i0, i1 = int(math.floor(x0)), int(math.ceil(x1)) + 1
        rng = self.series.y_range(i0, i1)
        if rng is None:
            return
        lo, hi = rng
        for key, (series, _curve, pane) in self.indicators.items():  # overlays in view count too
            if pane != "price" or key in self.hidden or not series.ts.size:
                continue
            t0, t1 = self.series.ts_at(max(i0, 0)), self.series.last_ts
            if t0 is None or t1 is None:
                continue
            a, b = np.searchsorted(series.ts, [t0, t1 + 1])
            vals = series.values[a:b]
            vals = vals[np.isfinite(vals)]
            if vals.size:
                lo, hi = min(lo, float(vals.min())), max(hi, float(vals.max()))
        pad = (hi - lo) * 0.05 or abs(hi) * 1e-4 or 1e-4
        self.price.setYRange(lo - pad, hi + pad, padding=0)
        vmax = self.series.volume_max(i0, i1, self.volume_field)
        self.volume.setYRange(0, max(vmax, 1.0) * 1.05, padding=0)

    # -- crosshair ----------------------------------------------------------------------------------------------
    def _on_mouse(self, evt: Any) -> None:
        pos = evt[0]
        if not self.price.sceneBoundingRect().contains(pos):
            return
        pt = self.price.vb.mapSceneToView(pos)
        self.vline.show()
        self.hline.show()
        self.vline.setPos(pt.x())
        self.hline.setPos(pt.y())
        self.readout.emit(self.readout_at(int(round(pt.x())), pt.y()))

    def readout_at(self, index: int, y: float | None = None) -> str:
        bar = self.series.bar_at(index)
        if bar is None:
            return "" if y is None else f"price {y:.5f}"
        forming = index == len(self.series)
        text = (
            f"{fmt_time(int(bar['ts']), self.time_axis.utc)}{'  (forming)' if forming else ''}   "
            f"O {bar['open']:.5f}  H {bar['high']:.5f}  L {bar['low']:.5f}  C {bar['close']:.5f}   "
            f"{'ticks' if self.volume_field == 'count' else 'vol'} {bar[self.volume_field]:g}"
        )
        return text + (f"   cursor {y:.5f}" if y is not None else "")

    # -- trades --------------------------------------------------------------------------------------------------
    def add_fill(self, ts_ns: int, price: float, sign: int, qty: float) -> None:
        self.fills.append((ts_ns, price, sign, qty))
        self._fills_dirty = True

    def clear_fills(self) -> None:
        self.fills.clear()
        self._fills_dirty = True

    def fill_points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, price, sign) of every fill at or after the first candle: x = the candle holding its time."""
        if not self.fills or not len(self.series):
            return np.zeros(0), np.zeros(0), np.zeros(0)
        arr = np.array(self.fills, dtype=np.float64)
        ts = arr[:, 0].astype(np.int64)
        idx = np.asarray(self.series.index_of(ts))
        keep = idx >= 0
        return idx[keep].astype(np.float64), arr[keep, 1], arr[keep, 2]

    def _draw_fills(self) -> None:
        self._fills_dirty = False
        x, y, sign = self.fill_points()
        self.fills_buy.setData(x[sign > 0], y[sign > 0])
        self.fills_sell.setData(x[sign < 0], y[sign < 0])

    def set_levels(self, levels: dict[str, tuple[float, str]]) -> None:
        """Horizontal lines by key: position average price, working SL/TP and limit orders."""
        for key in list(self.level_lines):
            if key not in levels:
                self.price.removeItem(self.level_lines.pop(key))
        for key, (price, kind) in levels.items():
            line = self.level_lines.get(key)
            color = {"position": "#2962ff", "sl": DOWN, "tp": UP, "limit": "#ffb74d", "stop": "#ff8a65"}.get(
                kind, "w"
            )
            if line is None:
                style = QtCore.Qt.PenStyle.SolidLine if kind == "position" else QtCore.Qt.PenStyle.DashLine
                pen = pg.mkPen(color, width=1.5 if kind == "position" else 1, style=style)
                opts = {"position": 0.05, "color": color, "anchors": [(0, 1), (0, 1)]}
                line = pg.InfiniteLine(angle=0, movable=False, pen=pen, label=key, labelOpts=opts)
                self.level_lines[key] = line
                self.price.addItem(line, ignoreBounds=True)
            line.setPos(price)

    @staticmethod
    def _style(plot: pg.PlotItem) -> None:
        plot.showGrid(x=True, y=True, alpha=0.15)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.getAxis("left").setWidth(70)
        plot.getAxis("left").setTextPen(FOREGROUND)
        plot.getAxis("bottom").setTextPen(FOREGROUND)
        for name in (
            "left",
            "bottom",
        ):  # an axis (and its grid) is replayed only when its range changed: a tick
            # in follow view repainted 12.4 -> 7.2 ms (median, 100k candles, bench/viz.py's follow case)
            plot.getAxis(name).setCacheMode(pg.QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        plot.vb.disableAutoRange()

    @staticmethod
    def _legend(plot: pg.PlotItem, offset: tuple[int, int]) -> None:
        legend = plot.addLegend(offset=offset, labelTextColor=FOREGROUND)
        legend.setBrush(pg.mkBrush(19, 23, 34, 200))

    def sub_pane(self, brain: str) -> pg.PlotItem:
        """The brain's own pane under the candles (its oscillators, regime): one per brain, its own y scale."""
        plot = self.subs.get(brain)
        if plot is None:
            row = 1 + len(self.subs) if len(self.subs) < MAX_SUBS else MAX_SUBS
            plot = self.subs[brain] = self.addPlot(row=row, col=0)
            self._style(plot)
            plot.setXLink(self.price)
            plot.vb.setMouseEnabled(x=True, y=False)
            plot.getAxis("bottom").setStyle(showValues=False)
            self._legend(plot, (8, 4))
            self.ci.layout.setRowStretchFactor(row, 2)
        return plot

    # -- brain outputs -------------------------------------------------------------------------------------------
    def indicator(self, brain: str, name: str, pane: str, style: str = "line") -> IndicatorSeries:
        """The series of a brain's output, created with its curve on first use. ``style`` ``stop``/``target``:
        a level per bar, drawn as a step line over the candles in view (see :meth:`level_segments`)."""
        key = (brain, name)
        entry = self.indicators.get(key)
        if entry is None:
            self.styles[key] = style
            if style in LEVEL_COLORS:
                pen = pg.mkPen(LEVEL_COLORS[style], width=1.5, style=QtCore.Qt.PenStyle.DashLine)
                curve = pg.PlotDataItem(pen=pen, name=f"{brain}.{name}")
                curve.setZValue(-1)  # behind the candles: a level crossing a candle never hides its body
            else:
                color = OVERLAY_COLORS[len(self.indicators) % len(OVERLAY_COLORS)]
                curve = pg.PlotDataItem(
                    pen=pg.mkPen(color, width=1.5), name=f"{brain}.{name}", connect="finite"
                )
                curve.setClipToView(True)
                curve.setDownsampling(auto=True, method="peak")
            plot = self.price if pane == "price" else self.sub_pane(brain)
            plot.addItem(curve)
            entry = self.indicators[key] = (IndicatorSeries(), curve, pane)
        return entry[0]

    def set_visible(self, brain: str, name: str, visible: bool) -> None:
        key = (brain, name)
        (self.hidden.discard if visible else self.hidden.add)(key)
        entry = self.indicators.get(key)
        if entry is not None:
            entry[1].setVisible(visible)
        self._fit_y()

    def indicator_points(self, brain: str, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(x, value) of a series on the current candles: x = the index of the candle holding its bar time, plus
        where in that candle it falls (a brain on 1m bars drawn on a 5m chart stays a line, not steps)."""
        series = self.indicators[(brain, name)][0]
        if not series.ts.size or not len(self.series):
            return np.zeros(0), np.zeros(0)
        idx = np.asarray(self.series.index_of(series.ts))
        keep = idx >= 0
        idx, ts = idx[keep], series.ts[keep]
        starts = self.series.bars["ts"]
        if self.series.forming is not None:
            starts = np.append(starts, self.series.forming["ts"])
        tf_ns = max(self.time_axis.tf_s * 1e9, 1.0)
        frac = np.clip((ts - starts[idx]) / tf_ns, 0.0, 0.999)
        return idx.astype(np.float64) + frac, series.values[keep]

    def level_segments(self, brain: str, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | str]:
        """What a level series draws for the candles in view: (x, y, connect). Up to ``MAX_STEPPED`` candles, a
        step line: flat across each bar (its candle, or its share of the candle for a brain on shorter bars),
        joined to the next bar's level only while both sit on the same side of the price (a stop below the close
        is a long's; when the trend turns and the stop jumps to the other side the line breaks instead of cutting
        across the candles). More candles in view: a line through the values (``finite``)."""
        x, y = self.indicator_points(brain, name)
        i0, i1 = self._view_window()
        a, b = np.searchsorted(x, [i0 - 1, i1 + 1])
        x, y = x[a:b], y[a:b]
        if i1 - i0 > MAX_STEPPED:
            return x, y, "finite"
        keep = np.isfinite(y)
        x, y = x[keep], y[keep]
        steps = np.diff(x)
        steps = steps[steps > 0]
        step = min(1.0, float(steps.min())) if steps.size else 1.0  # < 1: the brain's bars are shorter
        left, right = x - 0.5, x - 0.5 + step
        closes = self.series.bars["close"]
        if self.series.forming is not None:
            closes = np.append(closes, self.series.forming["close"])
        idx = np.clip(np.floor(x).astype(np.int64), 0, max(closes.size - 1, 0))
        side = np.sign(closes[idx] - y) if closes.size else np.zeros(y.size)
        join = (side[1:] == side[:-1]) & (np.abs(left[1:] - right[:-1]) < 0.01 * step)
        connect = np.ones(2 * x.size, dtype=bool)
        connect[1::2] = np.append(join, False)
        return np.column_stack([left, right]).ravel(), np.repeat(y, 2), connect

    def _view_window(self) -> tuple[int, int]:
        x0, x1 = self.price.vb.viewRange()[0]
        return int(math.floor(x0)), int(math.ceil(x1))

    def _draw_indicators(self) -> None:
        window = self._view_window()
        for key, (series, curve, pane) in self.indicators.items():
            level = self.styles.get(key, "line") in LEVEL_COLORS
            seen = (series.version, window if level else None)
            if self._ind_seen.get(key) == seen:
                continue
            self._ind_seen[key] = seen
            if level:
                x, y, connect = self.level_segments(*key)
                curve.setData(x, y, connect=connect)
            else:
                curve.setData(*self.indicator_points(*key))
            if pane != "price":
                self._fit_sub(key[0])

    def _fit_sub(self, brain: str) -> None:
        values = [
            s.values for (b, _n), (s, _c, pane) in self.indicators.items() if b == brain and pane != "price"
        ]
        finite = np.concatenate(values) if values else np.zeros(0)
        finite = finite[np.isfinite(finite)]
        if finite.size:
            lo, hi = float(finite.min()), float(finite.max())
            pad = (hi - lo) * 0.1 or 0.5
            self.sub_pane(brain).setYRange(lo - pad, hi + pad, padding=0)

    # -- pixels (tests) -------------------------------------------------------------------------------------------
    def candle_scene_pos(self, index: int, price: float) -> QtCore.QPointF:
        return self.price.vb.mapViewToScene(QtCore.QPointF(float(index), price))

    def grab_image(self) -> QtGui.QImage:
        return self.grab().toImage()
