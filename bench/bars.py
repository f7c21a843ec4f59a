"""Bar aggregation throughput on the 13 real FXCM EURUSD tick days (1.14M ticks).

    uv run python bench/bars.py [--repeat N]

1. Streaming as the router does it: BarBuilder with 5 timeframes x (bid, ask), fed in batches of 1, 100 and
   10,000 ticks (the batch-of-1 run uses the first 50,000 ticks): ticks/s and us per update call, wall and CPU
   (thread time; the single-tick target, issue 11, is <= 1 us per update). The batch-of-1 run is timed twice:
   slicing each one-tick view in the loop (``ticks[i:i+1]``, ~0.1 us of it) and on views made beforehand
   (the update call alone, as when a tick arrives as its own array from the wire).
2. One batch pass (1m bars of the bid) with ``resample``, against the pandas baseline
   ``Series.resample("1min").ohlc()`` on the same ticks (measured in the same run; pandas is batch only).
Prints medians of ``--repeat`` runs (default 5). Data: $TRADEHIVE_DATA or <repo>/../shared/data.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from marketcore.bars import FXCM_SESSION_OFFSET, BarBuilder, resample, warmup
from marketcore.io import read_lean_quote_ticks

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TRADEHIVE_DATA", REPO.parent / "shared" / "data"))
TIMEFRAMES = ("1m", "5m", "15m", "1h", "1d")


def load_eurusd() -> np.ndarray:
    files = sorted((DATA / "fxcm" / "tick" / "eurusd").glob("*_quote.zip"))
    if not files:
        sys.exit(f"no FXCM EURUSD tick files under {DATA} (set TRADEHIVE_DATA)")
    return np.concatenate([read_lean_quote_ticks(f) for f in files])


def median_time(
    fn: Callable[[], object], repeat: int, clock: Callable[[], float] = time.perf_counter
) -> float:
    times = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return statistics.median(times)


def stream(ticks: np.ndarray, batch: int) -> int:
    builder = BarBuilder(TIMEFRAMES, ("bid", "ask"), session_offset=FXCM_SESSION_OFFSET)
    closed = 0
    update = builder.update
    for i in range(0, ticks.shape[0], batch):
        closed += update(ticks[i : i + batch]).n_closed
    return closed


def stream_views(views: list[np.ndarray]) -> int:
    builder = BarBuilder(TIMEFRAMES, ("bid", "ask"), session_offset=FXCM_SESSION_OFFSET)
    closed = 0
    update = builder.update
    for v in views:
        closed += update(v).n_closed
    return closed


def pandas_ohlc(ticks: np.ndarray) -> object:
    import pandas as pd

    series = pd.Series(ticks["bid"], index=pd.to_datetime(ticks["ts"], unit="ns"))
    return series.resample("1min").ohlc().dropna()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    ticks = load_eurusd()
    n = ticks.shape[0]
    warmup()
    print(f"EURUSD ticks: {n:,} (13 days); median of {args.repeat} runs")
    print(f"\nstreaming BarBuilder, {len(TIMEFRAMES)} timeframes x (bid, ask):")
    for batch in (10_000, 100, 1):
        data = ticks if batch > 1 else ticks[:50_000]
        t = median_time(lambda d=data, b=batch: stream(d, b), args.repeat if batch > 1 else 3)
        calls = -(-data.shape[0] // batch)
        # CPU time of this thread too: on a shared machine wall time includes the time others ran
        cpu = median_time(
            lambda d=data, b=batch: stream(d, b), args.repeat if batch > 1 else 3, time.thread_time
        )
        print(
            f"  batch {batch:>6,}: {data.shape[0] / t / 1e6:7.2f} M ticks/s"
            f"   {t / calls * 1e6:9.2f} us/update"
            f"   ({t / data.shape[0] * 1e9:6.1f} ns/tick)"
            f"   CPU {cpu / calls * 1e6:7.2f} us/update"
        )
    views = [ticks[i : i + 1] for i in range(50_000)]
    t = median_time(lambda: stream_views(views), 3)
    cpu = median_time(lambda: stream_views(views), 3, time.thread_time)
    print(
        f"  batch      1, views made before: {t / len(views) * 1e6:5.2f} us/update"
        f"   CPU {cpu / len(views) * 1e6:5.2f} us/update  (the update call alone)"
    )
    print("\none pass, 1m bars of the bid:")
    t_nb = median_time(lambda: resample(ticks, "1m", "bid"), args.repeat)
    print(f"  marketcore.resample   : {n / t_nb / 1e6:7.2f} M ticks/s  ({t_nb * 1e3:.1f} ms)")
    try:
        t_pd = median_time(lambda: pandas_ohlc(ticks), args.repeat)
    except ImportError:
        print("  pandas not installed: baseline skipped")
        return
    print(f"  pandas resample().ohlc: {n / t_pd / 1e6:7.2f} M ticks/s  ({t_pd * 1e3:.1f} ms)")
    print(f"  ratio marketcore / pandas: {t_pd / t_nb:.2f}x")
    nb_bars = resample(ticks, "1m", "bid")
    pd_bars = pandas_ohlc(ticks)
    same = np.array_equal(nb_bars["close"], pd_bars["close"].to_numpy())  # type: ignore[attr-defined]
    print(f"  same 1m bars as pandas: {same} ({nb_bars.shape[0]:,} bars)")


if __name__ == "__main__":
    main()
