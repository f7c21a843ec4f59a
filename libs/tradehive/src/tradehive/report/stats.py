"""The statistics a trader reads first, per brain and in total.

Risk-adjusted ratios come from empyrical (Quantopian's formulas, kept as ``empyrical-reloaded``) on daily returns
of the account (capital + PnL at each UTC day's end); the rest are plain arithmetic on trades and the curve. The
tests recompute every figure independently from the fills.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import empyrical
import msgspec
import numpy as np
import numpy.typing as npt

from tradehive.report.equity import Curve
from tradehive.report.trades import Trade

NS_PER_DAY = 86_400_000_000_000
TRADING_DAYS = 252


class Stats(msgspec.Struct, frozen=True):
    scope: str
    currency: str
    capital: float
    net_pnl: float
    gross_pnl: float
    fees: float
    total_return: float
    sharpe: float | None
    sortino: float | None
    max_drawdown: float  # fraction of the peak account value (<= 0)
    max_drawdown_duration_s: float  # longest time from a peak until the account regained it (or the end)
    trades: int
    win_rate: float | None
    profit_factor: float | None
    avg_trade: float | None
    exposure: float  # fraction of the time a position was held
    trades_per_day: float
    days: int


def daily_equity(c: Curve, capital: float) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Account value at the last grid point of each UTC day."""
    day = c.grid // NS_PER_DAY
    last = np.flatnonzero(np.r_[day[1:] != day[:-1], True])
    return day[last], capital + c.pnl[last]


def daily_returns(c: Curve, capital: float) -> npt.NDArray[np.float64]:
    _, eq = daily_equity(c, capital)
    prev = np.r_[capital, eq[:-1]]
    out: npt.NDArray[np.float64] = (eq / prev - 1.0).astype(np.float64)
    return out


def drawdown(c: Curve, capital: float) -> npt.NDArray[np.float64]:
    eq = capital + c.pnl
    return (eq / np.maximum.accumulate(eq) - 1.0).astype(np.float64)


def _longest_underwater_s(c: Curve, capital: float) -> float:
    eq = capital + c.pnl
    peak = np.maximum.accumulate(eq)
    longest, since = 0, None
    for i in range(eq.size):
        if eq[i] < peak[i] - 1e-9:
            if since is None:
                since = int(c.grid[i - 1]) if i else int(c.grid[0])
            longest = max(longest, int(c.grid[i]) - since)
        else:
            since = None
    return longest / 1e9


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def compute(
    scope: str, currency: str, c: Curve, trades: Sequence[Trade], capital: float, fees: float
) -> Stats:
    """``fees``: every fee paid in the scope (open trades' included; ``trades`` holds closed ones only)."""
    rets = daily_returns(c, capital)
    grid_rets = np.diff(np.r_[capital, capital + c.pnl]) / np.r_[capital, capital + c.pnl[:-1]]
    wins = [t.net_pnl for t in trades if t.net_pnl > 0]
    losses = [t.net_pnl for t in trades if t.net_pnl <= 0]
    days = int(np.unique(c.grid // NS_PER_DAY).size)
    net = float(c.pnl[-1]) if c.pnl.size else 0.0
    return Stats(
        scope=scope, currency=currency, capital=capital, net_pnl=net, gross_pnl=net + fees, fees=fees,
        total_return=net / capital,
        sharpe=_finite(empyrical.sharpe_ratio(rets, annualization=TRADING_DAYS)) if rets.size > 1 else None,
        sortino=_finite(empyrical.sortino_ratio(rets, annualization=TRADING_DAYS)) if rets.size > 1 else None,
        max_drawdown=float(empyrical.max_drawdown(grid_rets)) if grid_rets.size else 0.0,
        max_drawdown_duration_s=_longest_underwater_s(c, capital),
        trades=len(trades),
        win_rate=len(wins) / len(trades) if trades else None,
        profit_factor=_finite(sum(wins) / -sum(losses)) if losses and sum(losses) < 0 else None,
        avg_trade=(sum(wins) + sum(losses)) / len(trades) if trades else None,
        exposure=float(c.exposed.mean()) if c.exposed.size else 0.0,
        trades_per_day=len(trades) / days if days else 0.0,
        days=days,
    )  # fmt: skip


def as_rows(stats: Sequence[Stats]) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(s) for s in stats]
