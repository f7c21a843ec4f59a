"""Bars built from real ticks equal the bars published with them (FXCM minute + daily, Binance 1m klines).

Findings on the data (checked by these tests):
- FXCM: all 13 tick days of EURUSD and NZDUSD are complete UTC-05 days; bid and ask minute bars built from the
  ticks equal the minute files exactly (every bar, every field; sizes are 0). Daily bars with the session at
  05:00 UTC equal ``daily_<sym>.zip`` exactly for all 13 days, open = first tick of the day (which here is
  also the previous close). Volumes are always 0. Friday files end ~20:59 UTC (17:00 New York); the Sunday
  files (20140504, 20140511) start ~19:00 UTC, so their daily bars are short sessions (8k-24k ticks instead of
  50k-170k).
- Binance: 1m bars from the trades with ``empty="fill"`` equal all 3,560 klines exactly, volume included: the
  volume is summed in time order, as Binance does, so no tolerance is needed.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import os
import zipfile
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from marketcore.bars import FXCM_SESSION_OFFSET, BarBuilder, resample
from marketcore.schema import BAR_DTYPE, NS_PER_MS, TICK_DTYPE

DATA = Path(os.environ.get("TRADEHIVE_DATA", Path(__file__).resolve().parents[3].parent / "shared" / "data"))
FXCM = DATA / "fxcm"
BINANCE = DATA / "binance"
SYMBOLS = ("eurusd", "nzdusd")
FIELDS = ("open", "high", "low", "close", "volume")

pytestmark = pytest.mark.skipif(
    not (FXCM / "tick").is_dir() or not BINANCE.is_dir(),
    reason=f"real market data not found at {DATA} (set TRADEHIVE_DATA)",
)


# -- private loaders (zip -> csv via numpy); marketcore.io will replace them ---------------------------------
def _csv_text(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read(z.namelist()[0]).decode()


def _day_start_ns(name: str) -> int:
    """UTC ns of 00:00 UTC-05:00 on the day named ``YYYYMMDD...``."""
    day = dt.datetime.strptime(name[:8], "%Y%m%d").replace(tzinfo=dt.UTC)
    return int(day.timestamp()) * 1_000_000_000 + FXCM_SESSION_OFFSET


@cache
def _fxcm_ticks(sym: str, name: str) -> np.ndarray:
    path = FXCM / "tick" / sym / name
    raw = np.loadtxt(io.StringIO(_csv_text(path)), delimiter=",", ndmin=2)
    ticks = np.zeros(raw.shape[0], dtype=TICK_DTYPE)
    ticks["ts"] = _day_start_ns(name) + raw[:, 0].astype(np.int64) * NS_PER_MS
    ticks["bid"], ticks["ask"], ticks["last"] = raw[:, 1], raw[:, 2], np.nan
    return ticks


def _fxcm_minutes(sym: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(bid bars, ask bars) of a minute file; ``count`` is unknown there (-1)."""
    raw = np.loadtxt(io.StringIO(_csv_text(FXCM / "minute" / sym / name)), delimiter=",", ndmin=2)
    out = []
    for first in (1, 6):
        bars = np.zeros(raw.shape[0], dtype=BAR_DTYPE)
        bars["ts"] = _day_start_ns(name) + raw[:, 0].astype(np.int64) * NS_PER_MS
        for i, field in enumerate(FIELDS):
            bars[field] = raw[:, first + i]
        bars["count"] = -1
        out.append(bars)
    return out[0], out[1]


def _tick_days(sym: str) -> list[str]:
    """Days with both a tick file and a minute file."""
    ticks = {p.name for p in (FXCM / "tick" / sym).glob("*_quote.zip")}
    minutes = {p.name for p in (FXCM / "minute" / sym).glob("*_quote.zip")}
    return sorted(ticks & minutes)


def _assert_bars_equal(got: np.ndarray, expected: np.ndarray, *, check_count: bool = True) -> None:
    assert got.shape == expected.shape, f"{got.shape[0]} bars, expected {expected.shape[0]}"
    np.testing.assert_array_equal(got["ts"], expected["ts"])
    for field in FIELDS:
        np.testing.assert_array_equal(got[field], expected[field], err_msg=field)
    if check_count:
        np.testing.assert_array_equal(got["count"], expected["count"])


def _stream(
    builder: BarBuilder, ticks: np.ndarray, sizes: tuple[int, ...]
) -> dict[tuple[str, str], np.ndarray]:
    """Feed ``ticks`` in batches cycling through ``sizes``; closed bars per key plus the final partial bar."""
    got: dict[tuple[str, str], list[np.ndarray]] = {(str(tf), s): [] for tf, s in builder.keys}
    i = k = 0
    while i < ticks.shape[0]:
        upd = builder.update(ticks[i : i + sizes[k % len(sizes)]])
        assert upd.rejected_out_of_order == 0 and upd.rejected_invalid == 0
        for tf, s in builder.keys:
            got[(str(tf), s)].append(upd.closed_bars(tf, s))
        i += sizes[k % len(sizes)]
        k += 1
    out = {}
    for (tf, s), parts in got.items():
        partial = builder.partial(tf, s)
        tail = [np.array([partial], dtype=BAR_DTYPE)] if partial is not None else []
        out[(tf, s)] = np.concatenate(parts + tail)
    return out


# -- FXCM minute bars ----------------------------------------------------------------------------------------
@pytest.mark.timeout(120)
@pytest.mark.parametrize("sym", SYMBOLS)
def test_fxcm_minute_bars_from_ticks_equal_minute_files(sym: str) -> None:
    days = _tick_days(sym)
    assert len(days) == 13
    for name in days:
        ticks = _fxcm_ticks(sym, name)
        bid, ask = _fxcm_minutes(sym, name)
        for source, expected in (("bid", bid), ("ask", ask)):
            got = resample(ticks, "1m", source)
            _assert_bars_equal(got, expected, check_count=False)
            assert got["count"].min() >= 1 and got["count"].sum() == ticks.shape[0]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("sym", SYMBOLS)
def test_fxcm_streaming_in_varying_batches_equals_minute_files_and_batch(sym: str) -> None:
    days = _tick_days(sym)
    ticks = np.concatenate([_fxcm_ticks(sym, d) for d in days])
    minutes = [_fxcm_minutes(sym, d) for d in days]
    expected = {
        "bid": np.concatenate([m[0] for m in minutes]),
        "ask": np.concatenate([m[1] for m in minutes]),
    }
    timeframes = ("1s", "1m", "5m", "15m", "1h", "4h", "1d")
    builder = BarBuilder(timeframes, ("bid", "ask"), session_offset=FXCM_SESSION_OFFSET)
    got = _stream(builder, ticks, (1, 7, 1000, 3, 10_000, 250))
    for source in ("bid", "ask"):
        _assert_bars_equal(got[("1m", source)], expected[source], check_count=False)
        for tf in timeframes:
            batch = resample(ticks, tf, source, session_offset=FXCM_SESSION_OFFSET)
            _assert_bars_equal(got[(tf, source)], batch)


@pytest.mark.timeout(120)
def test_fxcm_streaming_one_tick_at_a_time_one_day() -> None:
    name = _tick_days("eurusd")[2]  # the Sunday session, 8k ticks
    ticks = _fxcm_ticks("eurusd", name)
    bid, ask = _fxcm_minutes("eurusd", name)
    got = _stream(BarBuilder(["1m"], ("bid", "ask"), session_offset="UTC-05:00"), ticks, (1,))
    _assert_bars_equal(got[("1m", "bid")], bid, check_count=False)
    _assert_bars_equal(got[("1m", "ask")], ask, check_count=False)


# -- FXCM daily bars -----------------------------------------------------------------------------------------
def _fxcm_daily(sym: str) -> dict[str, np.ndarray]:
    rows = {}
    for line in _csv_text(FXCM / f"daily_{sym}.zip").splitlines():
        fields = line.split(",")
        rows[fields[0][:8]] = np.array(fields[1:], dtype=np.float64)
    return rows


@pytest.mark.timeout(120)
@pytest.mark.parametrize("sym", SYMBOLS)
def test_fxcm_daily_bars_with_0500_utc_session_equal_daily_file(sym: str) -> None:
    days = sorted(p.name for p in (FXCM / "tick" / sym).glob("*_quote.zip"))
    ticks = np.concatenate([_fxcm_ticks(sym, d) for d in days])
    daily = _fxcm_daily(sym)
    for source, first in (("bid", 0), ("ask", 5)):
        bars = resample(ticks, "1d", source, session_offset=FXCM_SESSION_OFFSET)
        labels = [
            dt.datetime.fromtimestamp((int(t) - FXCM_SESSION_OFFSET) / 1e9, dt.UTC).strftime("%Y%m%d")
            for t in bars["ts"]
        ]
        assert labels == [d[:8] for d in days]  # one daily bar per tick file: every day is complete
        for label, bar in zip(labels, bars, strict=True):
            got = np.array([bar[f] for f in FIELDS])
            np.testing.assert_array_equal(
                got, daily[label][first : first + 5], err_msg=f"{sym} {source} {label}"
            )
        assert (bars["volume"] == 0).all()
        # Sunday sessions (evening only) are short
        sunday = [i for i, d in enumerate(labels) if dt.datetime.strptime(d, "%Y%m%d").weekday() == 6]
        weekday = [i for i in range(len(labels)) if i not in sunday]
        assert len(sunday) == 2 and bars["count"][sunday].max() < bars["count"][weekday].min()
    # with a UTC-midnight session the same ticks give different daily bars: the offset matters
    utc = resample(ticks, "1d", "bid")
    assert utc.shape[0] != len(days) or not np.array_equal(utc["open"], bars["open"])


# -- Binance 1m klines ---------------------------------------------------------------------------------------
@cache
def _binance_ticks() -> np.ndarray:
    with gzip.open(BINANCE / "freqtrade_binance_XRP_ETH-trades.json.gz") as f:
        trades = json.load(f)
    ticks = np.zeros(len(trades), dtype=TICK_DTYPE)
    ticks["ts"] = np.array([t[0] for t in trades], dtype=np.int64) * NS_PER_MS
    ticks["last"] = [t[4] for t in trades]
    ticks["volume"] = [t[5] for t in trades]
    ticks["bid"] = ticks["ask"] = np.nan
    return ticks


def _binance_klines() -> np.ndarray:
    raw = np.array(json.loads((BINANCE / "freqtrade_binance_XRP_ETH-1m.json").read_text()), dtype=np.float64)
    bars = np.zeros(raw.shape[0], dtype=BAR_DTYPE)
    bars["ts"] = raw[:, 0].astype(np.int64) * NS_PER_MS
    for i, field in enumerate(FIELDS):
        bars[field] = raw[:, i + 1]
    return bars


def _covered(klines: np.ndarray, ticks: np.ndarray) -> np.ndarray:
    minute = 60 * 1_000_000_000
    lo, hi = ticks["ts"][0] // minute * minute, ticks["ts"][-1] // minute * minute
    return klines[(klines["ts"] >= lo) & (klines["ts"] <= hi)]


@pytest.mark.timeout(60)
def test_binance_1m_bars_from_trades_with_fill_equal_klines() -> None:
    ticks = _binance_ticks()
    klines = _covered(_binance_klines(), ticks)
    assert klines.shape[0] == 3560
    got = resample(ticks, "1m", "last", empty="fill")
    _assert_bars_equal(got, klines, check_count=False)
    assert (got["count"] == 0).sum() == (klines["volume"] == 0).sum() > 0
    # skip mode drops exactly the empty minutes
    skipped = resample(ticks, "1m", "last", empty="skip")
    _assert_bars_equal(skipped, got[got["count"] > 0])


@pytest.mark.timeout(60)
def test_binance_streaming_with_fill_equals_klines() -> None:
    ticks = _binance_ticks()
    klines = _covered(_binance_klines(), ticks)
    builder = BarBuilder(["1m", "5m"], ("last",), empty="fill")
    got = _stream(builder, ticks, (1, 7, 1000, 64))
    _assert_bars_equal(got[("1m", "last")], klines, check_count=False)
    _assert_bars_equal(got[("5m", "last")], resample(ticks, "5m", "last", empty="fill"))
