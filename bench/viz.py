"""Chart rendering with 100k candles loaded, offscreen 1280x800 (numbers printed, nothing asserted).

    QT_QPA_PLATFORM=offscreen uv run python bench/viz.py [--candles 100000] [--repeat 15]

Candles: 10-second mid bars resampled from the real FXCM EURUSD ticks (13 days; the last ``--candles`` of them).
For each approach, in the same run on the same widget size:

* first render: data set + the first full paint of the window;
* repaint after a tick in follow view (the last ~150 candles shown): the forming candle changes, one paint;
* append of a closed bar (follow view): one bar added, one paint;
* all candles in view: one paint after a tick with every candle visible.

Approaches: ``tradehive`` (services/viz: chunked cached pictures, the forming candle drawn alone, candles merged
when narrower than 3 px); ``per-bar`` (one QPicture per candle, every visible one replayed: vn.py's chart);
``one-picture`` (one QPicture of all candles, re-recorded on every change: pyqtgraph's candlestick example);
``finplot`` (its candlestick + update_data live path). Medians of ``--repeat`` paints; ratios against tradehive.
``--cpu``: CPU time of the process (``time.process_time``, Qt's offscreen painting included) instead of wall time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from marketcore.bars import resample  # noqa: E402
from marketcore.io import read_lean_quote_ticks  # noqa: E402
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
# --cpu: time.process_time (CPU of every thread of this process: steadier on a loaded machine)
clock = time.perf_counter
DATA = Path(os.environ.get("TRADEHIVE_DATA", REPO.parent / "shared" / "data"))
W, H = 1280, 800
FOLLOW = 150


def load_bars(n: int) -> np.ndarray:
    files = sorted((DATA / "fxcm" / "tick" / "eurusd").glob("*_quote.zip"))
    if not files:
        sys.exit(f"no FXCM EURUSD tick files under {DATA} (set TRADEHIVE_DATA)")
    ticks = np.concatenate([read_lean_quote_ticks(f) for f in files])
    bars = resample(ticks, "10s", "mid", empty="skip")
    if bars.size < n:
        reps = -(-n // bars.size)  # repeat the real series, shifted in time, to reach n candles
        span = int(bars["ts"][-1] - bars["ts"][0]) + 10**10
        parts = []
        for r in range(reps):
            b = bars.copy()
            b["ts"] += r * span
            parts.append(b)
        bars = np.concatenate(parts)
    return bars[-n:]


def paint(widget: QtWidgets.QWidget) -> float:
    t0 = clock()
    widget.repaint()
    QtWidgets.QApplication.processEvents()
    return clock() - t0


def median_ms(fn: Callable[[], float], repeat: int) -> float:
    return statistics.median(fn() for _ in range(repeat)) * 1000


def tick(bar: np.void, i: int) -> None:
    bar["close"] = float(bar["open"]) + (1e-5 if i % 2 else -1e-5)
    bar["high"] = max(float(bar["high"]), float(bar["close"]))
    bar["low"] = min(float(bar["low"]), float(bar["close"]))
    bar["count"] += 1


# -- tradehive ---------------------------------------------------------------------------------------------------
def bench_tradehive(bars: np.ndarray, repeat: int) -> dict[str, float]:
    from tradehive_viz.chart import ChartView

    view = ChartView()
    view.resize(W, H)
    view.show()
    QtWidgets.QApplication.processEvents()
    closed, forming = bars[:-2], bars[-2:-1].copy()
    t0 = clock()
    view.load(closed, forming, 10.0, "EURUSD 10s mid")
    paint(view)
    out = {"first render": (clock() - t0) * 1000}
    s = view.series
    counter = iter(range(10**9))

    def after_tick() -> float:
        tick(s.forming, next(counter))
        s.forming_version += 1
        t = clock()
        view.refresh()
        paint(view)
        return clock() - t

    paint(view)
    out["repaint after tick (follow)"] = median_ms(after_tick, repeat)
    extra = bars[-1:].copy()

    def append() -> float:
        extra["ts"] += 10 * 10**9
        t = clock()
        s.append_closed(extra)
        view.refresh()
        paint(view)
        return clock() - t

    out["append closed bar (follow)"] = median_ms(append, repeat)
    nxt = extra.copy()
    nxt["ts"] += 10 * 10**9
    s.set_forming(nxt)
    view.show_all()
    paint(view)
    out["repaint after tick (all in view)"] = median_ms(after_tick, repeat)
    view.close()
    return out


# -- per-bar pictures (vn.py) -------------------------------------------------------------------------------------
class _BaselineItem(pg.GraphicsObject):
    def __init__(self, bars: np.ndarray) -> None:
        super().__init__()
        self.bars = bars
        self.n = bars.size
        lo, hi = float(bars["low"].min()), float(bars["high"].max())
        self._rect = QtCore.QRectF(-1, lo, self.n + 2, hi - lo)

    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802
        return self._rect

    @staticmethod
    def draw_bar(p: QtGui.QPainter, i: int, b: Any) -> None:
        o, h, lo, c = float(b["open"]), float(b["high"]), float(b["low"]), float(b["close"])
        color = QtGui.QColor("#26a69a" if c >= o else "#ef5350")
        pen = QtGui.QPen(color)
        pen.setCosmetic(True)
        p.setPen(pen)
        p.setBrush(QtGui.QBrush(color))
        if h > lo:
            p.drawLine(QtCore.QPointF(i, lo), QtCore.QPointF(i, h))
        if c == o:
            p.drawLine(QtCore.QPointF(i - 0.4, o), QtCore.QPointF(i + 0.4, o))
        else:
            p.drawRect(QtCore.QRectF(i - 0.4, min(o, c), 0.8, abs(c - o)))


class PerBarItem(_BaselineItem):
    def __init__(self, bars: np.ndarray) -> None:
        super().__init__(bars)
        self.pictures: list[QtGui.QPicture | None] = [None] * self.n

    def update_last(self) -> None:
        self.pictures[self.n - 1] = None
        self.update()

    def append(self, bar: np.ndarray) -> None:
        self.bars = np.concatenate([self.bars, bar])
        self.pictures.append(None)
        self.n += 1
        self._rect.setWidth(self.n + 2)
        self.prepareGeometryChange()
        self.update()

    def paint(self, p: QtGui.QPainter, *args: Any) -> None:
        r = self.viewRect()
        i0, i1 = max(0, int(r.left())), min(self.n, int(r.right()) + 2)
        for i in range(i0, i1):
            pic = self.pictures[i]
            if pic is None:
                pic = QtGui.QPicture()
                pp = QtGui.QPainter(pic)
                self.draw_bar(pp, i, self.bars[i])
                pp.end()
                self.pictures[i] = pic
            p.drawPicture(0, 0, pic)


class OnePictureItem(_BaselineItem):
    def __init__(self, bars: np.ndarray) -> None:
        super().__init__(bars)
        self.picture: QtGui.QPicture | None = None

    def update_last(self) -> None:
        self.picture = None
        self.update()

    def append(self, bar: np.ndarray) -> None:
        self.bars = np.concatenate([self.bars, bar])
        self.n += 1
        self._rect.setWidth(self.n + 2)
        self.prepareGeometryChange()
        self.update_last()

    def paint(self, p: QtGui.QPainter, *args: Any) -> None:
        if self.picture is None:
            self.picture = QtGui.QPicture()
            pp = QtGui.QPainter(self.picture)
            for i, b in enumerate(self.bars):
                self.draw_bar(pp, i, b)
            pp.end()
        p.drawPicture(0, 0, self.picture)


class ChunkedAdapter(pg.GraphicsObject):
    """tradehive's CandleItem in the same bare PlotWidget as the baselines (same widget, same work per change)."""

    def __new__(cls, bars: np.ndarray) -> Any:
        from tradehive_viz.items import CandleItem
        from tradehive_viz.model import CandleSeries

        series = CandleSeries()
        series.reset(bars[:-1], bars[-1:])
        item = CandleItem(series)
        item.invalidate_from(0)

        class Proxy:
            n = 0

            @property
            def bars(self) -> Any:  # the last row is the forming candle
                return _Rows(series)

            def update_last(self) -> None:
                series.forming_version += 1
                item.invalidate_from(series.take_dirty())

            def append(self, bar: np.ndarray) -> None:
                series.append_closed(series.forming.reshape(1))
                nxt = bar.copy()
                series.set_forming(nxt)
                self.n += 1
                item.invalidate_from(series.take_dirty())

        proxy = Proxy()
        proxy.n = len(series) + 1
        item.proxy = proxy  # type: ignore[attr-defined]
        return item


class _Rows:
    def __init__(self, series: Any) -> None:
        self.s = series

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, int) and i == len(self.s):
            return self.s.forming
        return self.s.bars[i] if not isinstance(i, str) else np.append(self.s.bars[i], self.s.forming[i])


def bench_baseline(cls: type, bars: np.ndarray, repeat: int) -> dict[str, float]:
    w = pg.PlotWidget()
    w.resize(W, H)
    w.show()
    QtWidgets.QApplication.processEvents()
    bars = bars.copy()
    t0 = clock()
    item = cls(bars)
    w.addItem(item)
    item = getattr(item, "proxy", item)
    w.setXRange(bars.size - FOLLOW, bars.size + 3, padding=0)
    seg = bars[-FOLLOW:]
    w.setYRange(float(seg["low"].min()), float(seg["high"].max()), padding=0.05)
    paint(w)
    out = {"first render": (clock() - t0) * 1000}
    counter = iter(range(10**9))

    def after_tick() -> float:
        tick(item.bars[item.n - 1], next(counter))
        t = clock()
        item.update_last()
        paint(w)
        return clock() - t

    out["repaint after tick (follow)"] = median_ms(after_tick, repeat)
    extra = bars[-1:].copy()

    def append() -> float:
        extra["ts"] += 10 * 10**9
        t = clock()
        item.append(extra.copy())
        w.setXRange(item.n - FOLLOW, item.n + 3, padding=0)
        paint(w)
        return clock() - t

    out["append closed bar (follow)"] = median_ms(append, repeat)
    w.setXRange(-1, item.n + 1, padding=0)
    w.setYRange(float(item.bars["low"].min()), float(item.bars["high"].max()), padding=0.02)
    paint(w)
    out["repaint after tick (all in view)"] = median_ms(after_tick, max(3, repeat // 5))
    w.close()
    return out


# -- finplot ---------------------------------------------------------------------------------------------------
def bench_finplot(bars: np.ndarray, repeat: int) -> dict[str, float]:
    import finplot as fplt
    import pandas as pd

    df = pd.DataFrame({"time": bars["ts"] // 10**6, "open": bars["open"], "close": bars["close"],
                       "high": bars["high"], "low": bars["low"]})  # fmt: skip
    t0 = clock()
    ax = fplt.create_plot("finplot", init_zoom_periods=FOLLOW)
    win = ax.vb.win
    win.resize(W, H)
    plot = fplt.candlestick_ochl(df[["time", "open", "close", "high", "low"]], ax=ax)
    fplt.show(qt_exec=False)
    paint(win)
    out = {"first render": (clock() - t0) * 1000}
    counter = iter(range(10**9))

    def after_tick() -> float:
        i = next(counter)
        df.iloc[-1, df.columns.get_loc("close")] = float(df["open"].iloc[-1]) + (1e-5 if i % 2 else -1e-5)
        t = clock()
        plot.update_data(df[["time", "open", "close", "high", "low"]], gfx=True)
        paint(win)
        return clock() - t

    out["repaint after tick (follow)"] = median_ms(after_tick, repeat)

    def append() -> float:
        nonlocal df
        row = df.iloc[-1:].copy()
        row["time"] += 10_000
        t = clock()
        df = pd.concat([df, row], ignore_index=True)
        plot.update_data(df[["time", "open", "close", "high", "low"]], gfx=True)
        paint(win)
        return clock() - t

    out["append closed bar (follow)"] = median_ms(append, repeat)
    ax.vb.update_y_zoom(0, len(df))
    fplt.set_x_pos(df["time"].iloc[0], df["time"].iloc[-1], ax=ax)
    paint(win)
    out["repaint after tick (all in view)"] = median_ms(after_tick, max(3, repeat // 5))
    win.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--candles", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument(
        "--skip", default="", help="comma-separated approaches to skip (per-bar,one-picture,finplot)"
    )
    ap.add_argument("--cpu", action="store_true", help="CPU time of this process instead of wall time")
    args = ap.parse_args()
    global clock
    if args.cpu:
        clock = time.process_time
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    bars = load_bars(args.candles)
    what = "CPU ms" if args.cpu else "wall ms"
    print(
        f"{bars.size} candles (10 s mid bars of FXCM EURUSD), {W}x{H} offscreen, medians of {args.repeat}, {what}"
    )
    results: dict[str, dict[str, float]] = {"tradehive": bench_tradehive(bars, args.repeat)}
    skip = set(filter(None, args.skip.split(",")))
    for name, fn in (("tradehive item", lambda: bench_baseline(ChunkedAdapter, bars, args.repeat)),
                     ("per-bar", lambda: bench_baseline(PerBarItem, bars, args.repeat)),
                     ("one-picture", lambda: bench_baseline(OnePictureItem, bars, args.repeat)),
                     ("finplot", lambda: bench_finplot(bars, args.repeat))):  # fmt: skip
        if name in skip:
            continue
        try:
            results[name] = fn()
        except Exception as exc:  # noqa: BLE001 - a baseline that cannot run is reported, not fatal
            print(f"{name}: failed: {type(exc).__name__}: {exc}")
    metrics = list(results["tradehive"])
    print(f"{'ms (ratio to tradehive)':<36}" + "".join(f"{n:>22}" for n in results))
    for m in metrics:
        base = results["tradehive"][m]
        cells = []
        for r in results.values():
            v = r.get(m)
            cells.append(f"{'-':>22}" if v is None else f"{v:>12.2f} ({v / base:>6.1f}x)")
        print(f"{m:<36}" + "".join(cells))
    del app


if __name__ == "__main__":
    main()
