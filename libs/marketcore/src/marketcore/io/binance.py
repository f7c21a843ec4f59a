"""Readers of Binance spot data as saved by freqtrade/ccxt: aggregated trades and klines (JSON or gz).

- trades: ``[[ts_ms, id, null, side, price, amount, cost], ...]`` -> ticks with last=price, volume=amount,
  bid/ask NaN (a trade feed has no quotes).
- klines: ``[[open_ms, o, h, l, c, volume], ...]`` -> bars labelled at open, count=0 (unknown).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from marketcore.errors import DataFormatError
from marketcore.io._files import read_bytes
from marketcore.io.validate import OnError, SkipCounts, check_on_error, ohlc_ok, select_rows
from marketcore.schema import BAR_DTYPE, NS_PER_MS, TICK_DTYPE
from marketcore.ticks import trades_ok

_Trade = tuple[int, str | int | None, Any, str | None, float, float, float | None]
_Kline = tuple[int, float, float, float, float, float]
_trades_dec = msgspec.json.Decoder(list[_Trade])
_klines_dec = msgspec.json.Decoder(list[_Kline])
_any_dec = msgspec.json.Decoder(list[Any])
_MAX_MS = np.iinfo(np.int64).max // NS_PER_MS  # the last millisecond whose nanosecond count fits int64


def read_binance_trades(
    path: str | Path, *, on_error: OnError = "raise", counts: SkipCounts | None = None
) -> np.ndarray:
    """Trade ticks (TICK_DTYPE) of a freqtrade/ccxt trades JSON list (``.json`` or ``.json.gz``)."""
    check_on_error(on_error)
    cols = _decode(path, _trades_dec, _Trade, on_error, (0, 4, 5))
    ts, price, amount, ok, row = cols
    price_ok = trades_ok(price, amount)
    keep = select_rows(path, ts, ok, price_ok, row, on_error, counts, what="row")
    out = np.empty(int(keep.sum()), dtype=TICK_DTYPE)
    out["ts"] = ts[keep]
    out["bid"] = np.nan
    out["ask"] = np.nan
    out["last"] = price[keep]
    out["volume"] = amount[keep]
    return out


def read_binance_klines(
    path: str | Path, *, on_error: OnError = "raise", counts: SkipCounts | None = None
) -> np.ndarray:
    """One-timeframe klines (BAR_DTYPE, count=0) of a freqtrade/ccxt OHLCV JSON list."""
    check_on_error(on_error)
    ts, o, h, lo, c, vol, ok, row = _decode(path, _klines_dec, _Kline, on_error, (0, 1, 2, 3, 4, 5))
    keep = select_rows(path, ts, ok, ohlc_ok(o, h, lo, c, vol), row, on_error, counts, what="row")
    bars = np.empty(int(keep.sum()), dtype=BAR_DTYPE)
    bars["ts"] = ts[keep]
    for name, col in zip(("open", "high", "low", "close", "volume"), (o, h, lo, c, vol), strict=True):
        bars[name] = col[keep]
    bars["count"] = 0
    return bars


def _decode(
    path: str | Path,
    decoder: msgspec.json.Decoder[Any],
    row_type: Any,
    on_error: OnError,
    picks: tuple[int, ...],
) -> list[np.ndarray]:
    """Columns ``picks`` (ts in ns first, then floats), then ``ok`` and 0-based row numbers."""
    data = read_bytes(path)
    try:
        rows = decoder.decode(data)
        ok = np.ones(len(rows), dtype=np.bool_)
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError) as e:  # bad UTF-8: the latter
        if on_error == "raise":
            raise DataFormatError(f"{path}: {e}") from e  # msgspec names the row: `$[123]`
        rows, ok = _decode_rows(path, data, row_type)
    n = len(rows)
    ts = np.fromiter((_ms(r[picks[0]]) if good else 0 for r, good in zip(rows, ok, strict=True)), np.int64, n)
    in_range = (ts >= 0) & (ts <= _MAX_MS)  # beyond it ms -> ns wraps around int64 (found by fuzzing)
    if not in_range.all():
        if on_error == "raise":
            row = int(np.flatnonzero(~in_range)[0])
            raise DataFormatError(f"{path}: row {row}: timestamp {int(ts[row])} ms is out of range")
        ok = ok & in_range
        ts = np.where(in_range, ts, 0)
    cols: list[np.ndarray] = [ts * NS_PER_MS]
    for j in picks[1:]:
        cols.append(
            np.fromiter((r[j] if good else np.nan for r, good in zip(rows, ok, strict=True)), np.float64, n)
        )
    return [*cols, ok, np.arange(n)]


def _ms(value: int) -> int:
    """A millisecond timestamp, or -1 (out of range, refused below) when it does not even fit int64."""
    return value if -(2**63) <= value < 2**63 else -1


def _decode_rows(path: str | Path, data: bytes, row_type: Any) -> tuple[list[Any], np.ndarray]:
    """Row-by-row validation (slow path for files with bad rows); bad rows become ``None`` with ok=False."""
    try:
        raw = _any_dec.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError) as e:
        raise DataFormatError(f"{path}: not a JSON list: {e}") from e
    rows: list[Any] = []
    ok = np.ones(len(raw), dtype=np.bool_)
    for i, r in enumerate(raw):
        try:
            rows.append(msgspec.convert(r, row_type))
        except msgspec.ValidationError:
            rows.append(None)
            ok[i] = False
    return rows, ok
