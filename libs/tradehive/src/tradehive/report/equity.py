"""Equity over time: cash flows from fills plus open positions marked to market on a regular time grid."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from tradehive.report.trades import Fill, ReportError

NS_PER_MINUTE = 60_000_000_000

Marks = Mapping[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]]


def grid_from_marks(marks: Marks, step_ns: int = NS_PER_MINUTE) -> npt.NDArray[np.int64]:
    """Regular grid points (ends of ``step_ns`` intervals) covering every symbol's marks."""
    firsts = [int(ts[0]) for ts, _ in marks.values() if ts.size]
    lasts = [int(ts[-1]) for ts, _ in marks.values() if ts.size]
    if not firsts:
        raise ReportError("no prices to mark positions with")
    start = (min(firsts) // step_ns + 1) * step_ns
    end = (max(lasts) // step_ns + 1) * step_ns
    return np.arange(start, end + 1, step_ns, dtype=np.int64)


def mark_at(
    ts: npt.NDArray[np.int64], px: npt.NDArray[np.float64], grid: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """The last price at or before each grid point (NaN before the first)."""
    idx = np.searchsorted(ts, grid, side="right") - 1
    out = np.where(idx >= 0, px[np.clip(idx, 0, None)], np.nan)
    return out.astype(np.float64)


class Curve:
    """PnL (net of fees) and gross exposure of one scope (a brain, or all of them) on the grid."""

    def __init__(
        self, grid: npt.NDArray[np.int64], pnl: npt.NDArray[np.float64], exposed: npt.NDArray[np.bool_]
    ):
        self.grid, self.pnl, self.exposed = grid, pnl, exposed


def curve(fills: Sequence[Fill], marks: Marks, grid: npt.NDArray[np.int64]) -> Curve:
    """PnL at each grid point: realised cash flow and fees so far, plus positions held times their mark."""
    pnl = np.zeros(grid.size, dtype=np.float64)
    exposed = np.zeros(grid.size, dtype=np.bool_)
    by_symbol: dict[str, list[Fill]] = {}
    for f in fills:
        by_symbol.setdefault(f.symbol, []).append(f)
    for symbol, fs in by_symbol.items():
        if symbol not in marks:
            raise ReportError(f"no prices recorded for {symbol}: cannot mark its positions")
        fs.sort(key=lambda f: f.ts_ns)
        ts = np.fromiter((f.ts_ns for f in fs), dtype=np.int64, count=len(fs))
        signed = np.fromiter((f.side * f.qty for f in fs), dtype=np.float64, count=len(fs))
        price = np.fromiter((f.price for f in fs), dtype=np.float64, count=len(fs))
        fee = np.fromiter((f.fee for f in fs), dtype=np.float64, count=len(fs))
        pos = np.cumsum(signed)
        cash = np.cumsum(-signed * price - fee)
        idx = np.searchsorted(ts, grid, side="right") - 1
        have = idx >= 0
        at = np.clip(idx, 0, None)
        pos_g = np.where(have, pos[at], 0.0)
        cash_g = np.where(have, cash[at], 0.0)
        mark = mark_at(*marks[symbol], grid)
        held = np.abs(pos_g) > 1e-9
        if np.isnan(mark[held]).any():
            raise ReportError(f"{symbol}: a position is held before its first recorded price")
        pnl += cash_g + np.where(held, pos_g * np.nan_to_num(mark), 0.0)
        exposed |= held
    return Curve(grid, pnl, exposed)
