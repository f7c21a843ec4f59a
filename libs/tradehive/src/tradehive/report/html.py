"""The HTML report: the statistics table and the plots (equity, drawdown, trades on price) embedded as PNG."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import matplotlib

matplotlib.use("Agg")  # files only: never a window
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from tradehive.report.equity import Curve, Marks  # noqa: E402
from tradehive.report.stats import Stats, drawdown  # noqa: E402
from tradehive.report.trades import Fill, Trade  # noqa: E402

_COLUMNS = [
    ("scope", "scope", "{}"), ("net_pnl", "net PnL", "{:,.2f}"), ("fees", "fees", "{:,.2f}"),
    ("total_return", "return", "{:.3%}"), ("sharpe", "Sharpe", "{:.2f}"), ("sortino", "Sortino", "{:.2f}"),
    ("max_drawdown", "max DD", "{:.3%}"), ("max_drawdown_duration_s", "max DD duration", "{}"),
    ("trades", "trades", "{}"), ("win_rate", "win rate", "{:.1%}"), ("profit_factor", "profit factor", "{:.2f}"),
    ("avg_trade", "avg trade", "{:,.2f}"), ("exposure", "exposure", "{:.1%}"),
    ("trades_per_day", "trades/day", "{:.1f}"),
]  # fmt: skip


def _dt(ns: np.ndarray) -> np.ndarray:
    return ns.astype("datetime64[ns]")


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _fmt_cell(key: str, fmt: str, value: object) -> str:
    if value is None:
        return "–"
    if key == "max_drawdown_duration_s":
        s = int(value)  # type: ignore[call-overload]
        return f"{s // 86400}d {s % 86400 // 3600:02d}h{s % 3600 // 60:02d}m"
    return fmt.format(value)


def _time_axis(ax: Axes) -> None:
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M"))  # type: ignore[no-untyped-call]
    ax.set_xlabel("time (UTC)")


def equity_png(curves: Mapping[str, Curve], capital: float, currency: str) -> str:
    fig, (ax, ax_dd) = plt.subplots(2, 1, figsize=(11, 6), sharex=True, height_ratios=[3, 1])
    brains = [s for s in curves if s != "total"]
    if (
        len(brains) == 1
    ):  # one brain: its curve is the total (two identical lines would blend into one colour)
        c = curves["total"]
        ax.plot(_dt(c.grid), c.pnl, color="tab:blue", linewidth=1.8, label=f"total ({brains[0]})")
    else:
        for scope, c in curves.items():
            is_total = scope == "total"
            ax.plot(_dt(c.grid), c.pnl, label=scope, linewidth=2.0 if is_total else 1.0,
                    **({"color": "black"} if is_total else {}))  # fmt: skip
    ax.axhline(0.0, color="grey", linewidth=0.6)
    ax.set_ylabel(f"PnL ({currency})")
    ax.set_title("Equity (net of fees, marked to market)")
    ax.legend(loc="upper left")
    total = curves["total"]
    dd = drawdown(total, capital) * 100.0
    ax_dd.fill_between(_dt(total.grid), dd, 0.0, color="tab:red", alpha=0.4)
    ax_dd.set_ylabel("drawdown %")
    _time_axis(ax_dd)
    fig.autofmt_xdate()
    return _png(fig)


def trades_png(symbol: str, marks: Marks, fills: Sequence[Fill], trades: Sequence[Trade] = ()) -> str:
    """The price with every fill, and each round trip joined entry to exit (green: won, red: lost, net of fees),
    so entries, exits and outcomes can be told apart where the markers crowd."""
    ts, px = marks[symbol]
    fig, ax = plt.subplots(figsize=(11, 4))
    step = max(1, ts.size // 20000)  # plot at most ~20k points of the price line
    ax.plot(_dt(ts[::step]), px[::step], color="0.4", linewidth=0.7, label=f"{symbol} mid")
    own = [t for t in trades if t.symbol == symbol]
    for won in (True, False):
        trips = [t for t in own if (t.net_pnl > 0) == won]
        if not trips:
            continue
        xs = _dt(np.array([[t.entry_ns, t.exit_ns] for t in trips], dtype=np.int64)).T
        ys = np.array([[t.entry_price, t.exit_price] for t in trips]).T
        lines = ax.plot(xs, ys, color="tab:green" if won else "tab:red", linewidth=1.6, alpha=0.8)
        lines[0].set_label(f"{'won' if won else 'lost'} ({len(trips)} trades)")
    for side, marker, color, label in ((1, "^", "tab:blue", "buy"), (-1, "v", "tab:orange", "sell")):
        sel = [f for f in fills if f.symbol == symbol and f.side == side]
        if sel:
            ax.scatter(_dt(np.array([f.ts_ns for f in sel], dtype=np.int64)), [f.price for f in sel],
                       marker=marker, color=color, s=28, zorder=3, edgecolors="black", linewidths=0.3,
                       label=f"{label} fill ({len(sel)})")  # fmt: skip
    ax.set_title(f"Trades on price: {symbol}")
    ax.legend(loc="upper left", fontsize=8)
    _time_axis(ax)
    fig.autofmt_xdate()
    return _png(fig)


def render(
    title: str,
    stats: Sequence[Stats],
    equity_b64: str,
    trade_pngs: Mapping[str, str],
    meta: Mapping[str, str],
) -> str:
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label, _ in _COLUMNS)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt_cell(k, fmt, getattr(s, k)))}</td>" for k, _, fmt in _COLUMNS)
        + "</tr>"
        for s in stats
    )  # fmt: skip
    info = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in meta.items())
    imgs = "".join(
        f'<h2>{html.escape(sym)}</h2><img class="plot" alt="trades on {html.escape(sym)}" '
        f'src="data:image/png;base64,{b64}">'
        for sym, b64 in trade_pngs.items()
    )
    made = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; color: #222; }}
table {{ border-collapse: collapse; font-size: 13px; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; }}
th {{ background: #f0f0f0; }} td:first-child {{ text-align: left; font-weight: 600; }}
img.plot {{ max-width: 100%; border: 1px solid #ddd; margin: 8px 0; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<ul>{info}<li><b>made</b>: {made}</li></ul>
<table id="stats"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>
<h2>Equity and drawdown</h2>
<img class="plot" id="equity" alt="equity and drawdown" src="data:image/png;base64,{equity_b64}">
{imgs}
<p>Files beside this report: orders.csv, fills.csv, trades.csv, equity.csv, stats.json.</p>
</body></html>
"""
