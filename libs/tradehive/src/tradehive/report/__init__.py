"""Backtest reports: fills and prices in, a directory a trader and a script can read out.

``build(fills, marks, out_dir, ...)`` writes ``fills.csv``, ``trades.csv`` (round trips), ``equity.csv`` (PnL and
drawdown per scope on a minute grid), ``stats.json`` (the same figures as the HTML) and ``report.html``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from tradehive.report.equity import Curve, Marks, curve, grid_from_marks
from tradehive.report.stats import Stats, as_rows, compute, drawdown
from tradehive.report.trades import Fill, ReportError, Trade, brain_of, round_trips

__all__ = ["Fill", "ReportError", "Stats", "Trade", "brain_of", "build", "round_trips"]


def _currency(fills: Sequence[Fill], default: str) -> str:
    found = {f.currency for f in fills if f.currency}
    if len(found) > 1:
        raise ReportError(
            f"fills in several quote currencies ({', '.join(sorted(found))}): one report per currency "
            "(choose the symbols with --symbols)"
        )
    return found.pop() if found else default


def build(
    fills: Sequence[Fill],
    marks: Marks,
    out_dir: str | Path,
    *,
    capital: float = 100_000.0,
    title: str = "Tradehive backtest",
    meta: Mapping[str, str] | None = None,
    default_currency: str = "USD",
) -> list[Stats]:
    """Write the report directory; returns the statistics (total first, then one row per brain)."""
    from tradehive.report import html

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    currency = _currency(fills, default_currency)
    grid = grid_from_marks(marks)
    trades, still_open = round_trips(fills)
    brains = sorted({f.brain for f in fills})
    curves: dict[str, Curve] = {"total": curve(fills, marks, grid)}
    for b in brains:
        curves[b] = curve([f for f in fills if f.brain == b], marks, grid)

    def fees(brain: str | None) -> float:
        return float(sum(f.fee for f in fills if brain is None or f.brain == brain))

    stats = [compute("total", currency, curves["total"], trades, capital, fees(None))]
    stats += [
        compute(b, currency, curves[b], [t for t in trades if t.brain == b], capital, fees(b)) for b in brains
    ]
    _write_fills(out / "fills.csv", fills)
    _write_trades(out / "trades.csv", trades)
    _write_equity(out / "equity.csv", curves, capital)
    doc = {"currency": currency, "capital": capital, "stats": as_rows(stats),
           "open_positions": [{"brain": b, "symbol": s, "qty": q} for (b, s), q in sorted(still_open.items())],
           **({"meta": dict(meta)} if meta else {})}  # fmt: skip
    (out / "stats.json").write_text(json.dumps(doc, indent=2))
    symbols = sorted({f.symbol for f in fills})
    page = html.render(
        title, stats, html.equity_png(curves, capital, currency),
        {s: html.trades_png(s, marks, fills, trades) for s in symbols}, meta or {},
    )  # fmt: skip
    (out / "report.html").write_text(page)
    return stats


def _write_fills(path: Path, fills: Sequence[Fill]) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["ts_ns", "brain", "symbol", "side", "qty", "price", "fee", "client_order_id"])
        for f in sorted(fills, key=lambda f: f.ts_ns):
            w.writerow([f.ts_ns, f.brain, f.symbol, "buy" if f.side > 0 else "sell", repr(f.qty), repr(f.price),
                        repr(f.fee), f.client_order_id])  # fmt: skip


def _write_trades(path: Path, trades: Sequence[Trade]) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["brain", "symbol", "direction", "entry_ns", "exit_ns", "qty", "entry_price", "exit_price",
                    "gross_pnl", "fees", "net_pnl", "fills"])  # fmt: skip
        for t in trades:
            w.writerow([t.brain, t.symbol, t.direction, t.entry_ns, t.exit_ns, repr(t.qty), repr(t.entry_price),
                        repr(t.exit_price), repr(t.gross_pnl), repr(t.fees), repr(t.net_pnl), t.fills])  # fmt: skip


def _write_equity(path: Path, curves: Mapping[str, Curve], capital: float) -> None:
    scopes = list(curves)
    grid = curves["total"].grid
    dds = {s: drawdown(curves[s], capital) for s in scopes}
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["ts_ns"] + [f"{s}_pnl" for s in scopes] + [f"{s}_drawdown" for s in scopes])
        for i in range(grid.size):
            w.writerow([int(grid[i])] + [repr(float(curves[s].pnl[i])) for s in scopes]
                       + [repr(float(dds[s][i])) for s in scopes])  # fmt: skip
