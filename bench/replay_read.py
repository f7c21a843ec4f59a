"""Benchmark: reading the recorded FXCM ticks, merging them in time order, and simulator throughput.

    uv run python bench/replay_read.py [--repeat N]

Prints medians over N runs and ratios against baselines measured in the same run (pandas.read_csv of the same
zip members; a bare numpy random walk of the same length). Data: $TRADEHIVE_DATA or <repo>/../shared/data.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from marketcore.io import discover, read_lean_quote_ticks
from marketcore.sources import MarketSimulator, ReplaySource

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TRADEHIVE_DATA", REPO.parent / "shared" / "data"))


def median_time(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    repeat = ap.parse_args().repeat
    tick_dir = DATA / "fxcm" / "tick"
    if not tick_dir.is_dir():
        sys.exit(f"no recorded data at {tick_dir} (set TRADEHIVE_DATA)")
    files = [f.path for ds in discover(tick_dir) for f in ds.files]
    read_lean_quote_ticks(files[0])  # warm the numba cache

    def read_all() -> int:
        return sum(len(read_lean_quote_ticks(p)) for p in files)

    def unzip_only() -> int:
        total = 0
        for p in files:
            with zipfile.ZipFile(p) as zf:
                total += len(zf.read(zf.namelist()[0]))
        return total

    def replay_merge() -> int:
        n = 0
        src = ReplaySource(discover(tick_dir))
        for batch in src.batches(max_ticks=10_000):
            ids, ticks = batch.merged(src.symbol_ids)
            n += ticks.size
        return n

    t_read, n = median_time(read_all, repeat)
    t_unzip, _ = median_time(unzip_only, repeat)
    t_merge, n_merge = median_time(replay_merge, repeat)
    assert n == n_merge
    print(f"FXCM tick files: {len(files)} files, {n:,} ticks (EURUSD + NZDUSD, 13 days each)")
    print(f"  unzip only              {t_unzip * 1e3:8.1f} ms")
    print(f"  read_lean_quote_ticks   {t_read * 1e3:8.1f} ms   {n / t_read / 1e6:6.2f} M ticks/s")
    print(f"  ReplaySource merged     {t_merge * 1e3:8.1f} ms   {n / t_merge / 1e6:6.2f} M ticks/s")
    try:
        import pandas as pd

        def pandas_all() -> int:
            total = 0
            for p in files:
                with zipfile.ZipFile(p) as zf:
                    raw = io.BytesIO(zf.read(zf.namelist()[0]))
                df = pd.read_csv(raw, header=None, names=["ms", "b", "a"])
                total += len(df)
            return total

        t_pd, _ = median_time(pandas_all, repeat)
        print(f"  baseline pandas.read_csv {t_pd * 1e3:7.1f} ms   ours is {t_pd / t_read:4.1f}x faster")
    except ImportError:
        print("  (pandas not installed: no read_csv baseline)")

    day_ns = 86_400 * 10**9
    MarketSimulator(seed=0).history("EURUSD", 0, 60 * 10**9)  # warm the kernel

    def simulate() -> int:
        sim = MarketSimulator(seed=1, tick_rate_hz=10.0)
        return sum(len(sim.history(s, 0, day_ns)) for s in sim.symbols)

    def random_walk() -> int:
        rng = np.random.default_rng(1)
        return int(np.cumsum(rng.standard_normal(n_sim)).size)

    t_sim, n_sim = median_time(simulate, repeat)
    assert isinstance(n_sim, int)
    t_rw, _ = median_time(random_walk, repeat)
    print(f"MarketSimulator: 3 symbols x 1 day at 10 Hz = {n_sim:,} ticks")
    print(f"  history generation      {t_sim * 1e3:8.1f} ms   {n_sim / t_sim / 1e6:6.2f} M ticks/s")
    print(f"  baseline numpy walk     {t_rw * 1e3:8.1f} ms   sim/walk {t_sim / t_rw:4.1f}x")


if __name__ == "__main__":
    main()
