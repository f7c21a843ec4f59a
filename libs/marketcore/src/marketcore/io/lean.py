"""Readers of QuantConnect Lean quote files (FXCM and other forex vendors): ticks, minute and daily bars.

Formats (headerless CSV, one per zip):
- ``tick/<sym>/YYYYMMDD_quote.zip``: ``ms_since_midnight,bid,ask``
- ``minute/<sym>/YYYYMMDD_quote.zip``: ``ms, bid o,h,l,c,size, ask o,h,l,c,size``
- ``daily_<sym>.zip``: ``YYYYMMDD HH:MM, <the same 10 columns>``
Times are in a fixed data clock (FXCM: UTC-05:00, no DST) and converted to UTC ns here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from marketcore.io._csvkernel import parse_numeric_csv
from marketcore.io._files import as_u8, date_from_name, read_bytes
from marketcore.io.timezone import NS_PER_DAY, TzOffset, is_fixed, local_day_to_utc_ns, offset_ns, parse_tz
from marketcore.io.validate import OnError, SkipCounts, check_on_error, ohlc_ok, positive, select_rows
from marketcore.schema import BAR_DTYPE, NS_PER_MS, TICK_DTYPE

FXCM_TZ = "-05:00"
# Lean zips carry no zone; the only Lean vendor we read is FXCM (fixed UTC-05:00, no DST), so that is the default
# clock of the format. Other Lean data: give the zone (``--tz``). Never guessed from a path.
LEAN_DEFAULT_TZ = FXCM_TZ


def read_lean_quote_ticks(
    path: str | Path,
    tz_offset: TzOffset = FXCM_TZ,
    *,
    on_error: OnError = "raise",
    counts: SkipCounts | None = None,
) -> np.ndarray:
    """Ticks (TICK_DTYPE, last=NaN, volume=0) of one Lean ``YYYYMMDD_quote.zip`` tick file.

    ``on_error="raise"`` raises :class:`DataFormatError` at the first bad line; ``"skip"`` drops bad rows
    (unparsable, NaN/non-positive price, out of order) and adds them to ``counts``. Crossed and locked quotes
    are real feed behaviour and kept.
    """
    check_on_error(on_error)
    day = date_from_name(path)
    key, vals, ok, line_no = parse_numeric_csv(as_u8(read_bytes(path)), 2, False)
    ts = local_day_to_utc_ns(day, key * NS_PER_MS, tz_offset)
    keep = select_rows(path, ts, ok, positive(vals[:, 0], vals[:, 1]), line_no, on_error, counts)
    out = np.empty(int(keep.sum()), dtype=TICK_DTYPE)
    out["ts"] = ts[keep]
    out["bid"] = vals[keep, 0]
    out["ask"] = vals[keep, 1]
    out["last"] = np.nan
    out["volume"] = 0.0
    return out


def read_lean_quote_bars(
    path: str | Path,
    tz_offset: TzOffset = FXCM_TZ,
    *,
    on_error: OnError = "raise",
    counts: SkipCounts | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(bid bars, ask bars), BAR_DTYPE, count=0 (unknown), of a Lean ``minute/<sym>/YYYYMMDD_quote.zip``."""
    check_on_error(on_error)
    day = date_from_name(path)
    key, vals, ok, line_no = parse_numeric_csv(as_u8(read_bytes(path)), 10, False)
    return _bars(
        path, local_day_to_utc_ns(day, key * NS_PER_MS, tz_offset), vals, ok, line_no, on_error, counts
    )


def read_lean_daily_bars(
    path: str | Path,
    tz_offset: TzOffset = FXCM_TZ,
    *,
    on_error: OnError = "raise",
    counts: SkipCounts | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(bid bars, ask bars) of a Lean ``daily_<sym>.zip``; a day starts at 00:00 in the data clock."""
    check_on_error(on_error)
    key, vals, ok, line_no = parse_numeric_csv(as_u8(read_bytes(path)), 10, True)
    ts = _daily_utc_ns(key * NS_PER_MS, tz_offset)
    return _bars(path, ts, vals, ok, line_no, on_error, counts)


def _bars(
    path: str | Path,
    ts: np.ndarray,
    vals: np.ndarray,
    ok: np.ndarray,
    line_no: np.ndarray,
    on_error: OnError,
    counts: SkipCounts | None,
) -> tuple[np.ndarray, np.ndarray]:
    v = vals
    price_ok = ohlc_ok(v[:, 0], v[:, 1], v[:, 2], v[:, 3], v[:, 4]) & ohlc_ok(
        v[:, 5], v[:, 6], v[:, 7], v[:, 8], v[:, 9]
    )
    keep = select_rows(path, ts, ok, price_ok, line_no, on_error, counts)
    sides = []
    for first in (0, 5):
        bars = np.empty(int(keep.sum()), dtype=BAR_DTYPE)
        bars["ts"] = ts[keep]
        for j, field in enumerate(("open", "high", "low", "close", "volume")):
            bars[field] = v[keep, first + j]
        bars["count"] = 0
        sides.append(bars)
    return sides[0], sides[1]


def _daily_utc_ns(local_midnights_ns: np.ndarray, tz_offset: TzOffset) -> np.ndarray:
    """UTC ns of each day's local 00:00 (a DST zone's offset is looked up per day: a few thousand rows)."""
    zone = parse_tz(tz_offset)
    if is_fixed(zone):
        return local_midnights_ns - offset_ns(zone)
    days = local_midnights_ns // NS_PER_DAY
    epoch = dt.date(1970, 1, 1)
    offsets = np.array([offset_ns(zone, epoch + dt.timedelta(days=int(d))) for d in days], dtype=np.int64)
    return local_midnights_ns - offsets
