"""Indicator cost per update after 1k vs 10M values already processed (flat = O(1)) and batch throughput.

Run: uv run python bench/indicators.py
Prints medians of repeated timings; ratios are measured against baselines from the same run.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from marketcore.indicators import ATR, EMA, MACD, RSI, SMA, BollingerBands, warm_up_kernels

N_SINGLE = 20_000
REPEATS = 5
HISTORY = (1_000, 10_000_000)


def _make(name: str):  # type: ignore[no-untyped-def]
    return {
        "SMA(50)": lambda: SMA(50),
        "EMA(50)": lambda: EMA(50),
        "RSI(14)": lambda: RSI(14),
        "Bollinger(20,2)": lambda: BollingerBands(20, 2.0),
        "MACD(12,26,9)": lambda: MACD(12, 26, 9),
        "ATR(14)": lambda: ATR(14),
    }[name]()


def _feed(ind, xs: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    if isinstance(ind, ATR):
        ind.update_many(xs + 0.001, xs - 0.001, xs)
    else:
        ind.update_many(xs)


def _per_update_ns(ind, xs: np.ndarray) -> float:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(REPEATS):
        if isinstance(ind, ATR):
            t0 = time.perf_counter_ns()
            for x in xs:
                ind.update(x + 0.001, x - 0.001, x)
        else:
            update = ind.update
            t0 = time.perf_counter_ns()
            for x in xs:
                update(x)
        runs.append((time.perf_counter_ns() - t0) / len(xs))
    return statistics.median(runs)


def _batch_rate(ind, xs: np.ndarray) -> float:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        _feed(ind, xs)
        runs.append(time.perf_counter() - t0)
    return len(xs) / statistics.median(runs)


def main() -> None:
    warm_up_kernels()
    rng = np.random.default_rng(0)
    big = 1.39 + np.cumsum(rng.normal(0, 1e-5, HISTORY[-1]))
    singles = [float(v) for v in big[:N_SINGLE]]
    batch = big[:1_000_000]
    loop_ns = statistics.median(
        [
            (lambda t0: (sum(1 for _ in singles), time.perf_counter_ns() - t0)[1])(time.perf_counter_ns())
            / N_SINGLE
            for _ in range(REPEATS)
        ]
    )
    print(f"baseline: empty Python loop over the same values: {loop_ns:.0f} ns/value")
    print(f"{'indicator':<16} {'update@1k ns':>13} {'update@10M ns':>14} {'ratio':>6} {'batch Mval/s':>13}")
    for name in ("SMA(50)", "EMA(50)", "RSI(14)", "Bollinger(20,2)", "MACD(12,26,9)", "ATR(14)"):
        costs = []
        for history in HISTORY:
            ind = _make(name)
            _feed(ind, big[:history])
            costs.append(_per_update_ns(ind, np.asarray(singles)))
        rate = _batch_rate(_make(name), batch)
        print(
            f"{name:<16} {costs[0]:>13.0f} {costs[1]:>14.0f} {costs[1] / costs[0]:>6.2f} {rate / 1e6:>13.1f}"
        )


if __name__ == "__main__":
    main()
