"""Bar aggregation: ticks -> OHLCV bars, in batch (:func:`resample`) or streaming (:class:`BarBuilder`).

Time bars at any timeframe (``Timeframe.parse("5m")``), tick bars and volume bars, for the ``bid``, ``ask``,
``mid`` = (bid+ask)/2 or ``last`` price; empty intervals skipped (FXCM) or filled with the previous close
(Binance); daily bars on a session offset (FXCM: 05:00 UTC). Call :func:`warmup` at start-up so that the
numba kernels are compiled (or loaded from the on-disk cache) before the first tick.
"""

from __future__ import annotations

import numpy as np

from marketcore.bars.builder import (
    BarBuilder,
    BarUpdates,
    TickBarBuilder,
    TickCount,
    VolumeBarBuilder,
    VolumeCount,
)
from marketcore.bars.resample import price_column, resample, tick_bars, volume_bars
from marketcore.bars.timeframe import FXCM_SESSION_OFFSET, SessionOffset, Timeframe, session_offset_ns
from marketcore.schema import TICK_DTYPE

__all__ = [
    "BarBuilder",
    "BarUpdates",
    "FXCM_SESSION_OFFSET",
    "SessionOffset",
    "TickBarBuilder",
    "TickCount",
    "Timeframe",
    "VolumeBarBuilder",
    "VolumeCount",
    "price_column",
    "resample",
    "session_offset_ns",
    "tick_bars",
    "volume_bars",
    "warmup",
]


def warmup() -> None:
    """Compile (or load from cache) every bar kernel by running each once on two synthetic ticks."""
    ticks = np.zeros(2, dtype=TICK_DTYPE)
    ticks["ts"] = (0, 120_000_000_000)
    ticks["bid"] = ticks["ask"] = ticks["last"] = 1.0
    resample(ticks, "1m", "bid", empty="fill")
    tick_bars(ticks, 1, "bid")
    volume_bars(ticks, 1.0, "bid", invalid="skip")
    builder = BarBuilder(["1m"], ("bid",), empty="fill")
    builder.update(ticks)
    builder.close_until(240_000_000_000)
    TickBarBuilder(1, ("bid",)).update(ticks)
