"""Batch aggregation in one pass: ticks -> time bars, tick bars, volume bars.

Conventions (the FXCM and Binance ones): a time bar is labelled by its open time and covers ``[ts, ts + tf)``;
open = first tick inside it, close = last, volume = sum of tick volume, count = ticks. Bars are aligned on the
session offset (``origin``): ``bucket = origin + floor((ts - origin) / tf) * tf``, so with a 05:00 UTC session
daily bars run 05:00 -> 05:00 and 4h bars start at 01:00, 05:00, 09:00... UTC. The last bar of the result
may be incomplete (the ticks end inside it); use :class:`~marketcore.bars.BarBuilder` to tell partial from
closed bars.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from marketcore.bars import _batch_kernels as kb
from marketcore.bars.timeframe import PRICE_SOURCE_CODES, SessionOffset, Timeframe, session_offset_ns
from marketcore.errors import TickDataError
from marketcore.schema import BAR_DTYPE, TICK_DTYPE
from marketcore.ticks import trades_ok

__all__ = ["resample", "tick_bars", "volume_bars", "price_column"]

EmptyPolicy = Literal["skip", "fill"]
InvalidPolicy = Literal["raise", "skip"]


def price_column(ticks: np.ndarray, source: str) -> np.ndarray:
    """The price of each tick for ``source`` (``bid``, ``ask``, ``mid`` = (bid+ask)/2, ``last``); NaN if
    unknown."""
    if source not in PRICE_SOURCE_CODES:
        raise TickDataError(f"unknown price source {source!r}: expected one of {sorted(PRICE_SOURCE_CODES)}")
    if source != "mid":
        return np.ascontiguousarray(ticks[source])
    bid, ask = ticks["bid"], ticks["ask"]
    mid: np.ndarray = 0.5 * (bid + ask)
    mid[~((bid > 0.0) & (ask > 0.0))] = np.nan
    return mid


def _columns(
    ticks: np.ndarray, source: str, invalid: InvalidPolicy
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not isinstance(ticks, np.ndarray) or ticks.dtype != TICK_DTYPE or ticks.ndim != 1:
        raise TickDataError(f"expected a 1-D TICK_DTYPE array, got {getattr(ticks, 'dtype', type(ticks))}")
    ts = np.ascontiguousarray(ticks["ts"])
    if ts.shape[0] > 1 and bool(np.any(ts[1:] < ts[:-1])):
        first = int(np.argmax(ts[1:] < ts[:-1])) + 1
        raise TickDataError(f"ticks are not sorted by ts: row {first} ({ts[first]}) < row {first - 1}")
    price = price_column(ticks, source)
    vol = np.ascontiguousarray(ticks["volume"])
    ok = trades_ok(price, vol)
    if not bool(ok.all()):
        bad = int(ok.size - np.count_nonzero(ok))
        if invalid == "raise":
            row = int(np.argmin(ok))
            raise TickDataError(
                f"{bad} ticks have no valid {source!r} price or a bad volume (first at row {row}); "
                "pass invalid='skip' to drop them"
            )
        ts, price, vol = ts[ok], price[ok], vol[ok]
    return ts, price, vol


def resample(
    ticks: np.ndarray,
    timeframe: str | Timeframe,
    source: str,
    *,
    empty: EmptyPolicy = "skip",
    session_offset: SessionOffset = 0,
    invalid: InvalidPolicy = "raise",
) -> np.ndarray:
    """Time bars (BAR_DTYPE) of ``source`` prices from sorted ticks, in one pass.

    ``empty="skip"``: an interval without ticks has no bar (FXCM). ``empty="fill"``: it gets O=H=L=C=previous
    close, volume 0, count 0 (Binance). Ticks out of time order raise :class:`TickDataError`; so do ticks
    without a valid price unless ``invalid="skip"``.
    """
    tf = Timeframe.parse(timeframe)
    if empty not in ("skip", "fill"):
        raise TickDataError(f"empty must be 'skip' or 'fill', got {empty!r}")
    origin = session_offset_ns(session_offset)
    ts, price, vol = _columns(ticks, source, invalid)
    if ts.shape[0] == 0:
        return np.zeros(0, dtype=BAR_DTYPE)
    span = (tf.bucket(int(ts[-1]), origin) - tf.bucket(int(ts[0]), origin)) // tf.ns + 1
    size = span if empty == "fill" else min(span, ts.shape[0])
    out = np.empty(size, dtype=BAR_DTYPE)
    n = kb.time_bars(ts, price, vol, tf.ns, origin, empty == "fill", out)
    return out[:n]


def tick_bars(ticks: np.ndarray, every: int, source: str, *, invalid: InvalidPolicy = "raise") -> np.ndarray:
    """A bar every ``every`` ticks (labelled by its first tick's ts); the last bar may hold fewer ticks."""
    if every < 1:
        raise TickDataError(f"tick bars need every >= 1, got {every}")
    ts, price, vol = _columns(ticks, source, invalid)
    out = np.empty(-(-ts.shape[0] // every), dtype=BAR_DTYPE)
    n = kb.count_bars(ts, price, vol, every, 0.0, out)
    return out[:n]


def volume_bars(
    ticks: np.ndarray, every: float, source: str, *, invalid: InvalidPolicy = "raise"
) -> np.ndarray:
    """A bar each time the summed volume reaches ``every`` (a tick is never split, so a bar may exceed it).

    Quote feeds without sizes (FXCM, volume 0) never complete a volume bar: the result is one open bar.
    """
    if not every > 0.0:
        raise TickDataError(f"volume bars need every > 0, got {every}")
    ts, price, vol = _columns(ticks, source, invalid)
    out = np.empty(ts.shape[0], dtype=BAR_DTYPE)
    n = kb.count_bars(ts, price, vol, 0, float(every), out)
    return out[:n]
