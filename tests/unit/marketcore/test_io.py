"""marketcore.io: readers of recorded real data (Lean/FXCM, freqtrade/Binance), strict and stream modes."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from marketcore.errors import DataFormatError, DataSourceError, MarketcoreError
from marketcore.io import (
    SkipCounts,
    discover,
    offset_ns,
    read_binance_klines,
    read_binance_trades,
    read_lean_daily_bars,
    read_lean_quote_bars,
    read_lean_quote_ticks,
)
from marketcore.io._files import read_bytes
from marketcore.schema import BAR_DTYPE, TICK_DTYPE

REPO = Path(__file__).resolve().parents[3]
DATA = Path(os.environ.get("TRADEHIVE_DATA", REPO.parent / "shared" / "data"))
HOUR_NS = 3_600 * 10**9


@pytest.fixture(scope="module")
def data() -> Path:
    if not (DATA / "fxcm" / "tick" / "eurusd").is_dir():
        pytest.skip(f"recorded market data not found at {DATA} (set TRADEHIVE_DATA)")
    return DATA


def _utc_ns(text: str) -> int:
    return int(np.datetime64(text, "ns").astype(np.int64))


def _write_zip(path: Path, text: str, member: str = "x.csv") -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, text)
    return path


# --- time zones ---


@pytest.mark.parametrize(
    ("text", "hours"),
    [("-05:00", -5), ("+00:00", 0), ("UTC", 0), ("+0530", 5.5), (dt.timedelta(hours=-5), -5)],
)
def test_offset_ns_parses(text: str | dt.timedelta, hours: float) -> None:
    assert offset_ns(text) == int(hours * HOUR_NS)


@pytest.mark.parametrize("text", ["Mars/Olympus", "-5h", "+15:00", "", "+5:75", "America/New_York"])
def test_offset_ns_rejects(text: str) -> None:
    with pytest.raises(DataFormatError):  # a DST zone has no single offset without a date
        offset_ns(text)


def test_iana_zone_offsets_follow_dst() -> None:
    assert offset_ns("America/New_York", dt.date(2014, 1, 8)) == -5 * HOUR_NS
    assert offset_ns("America/New_York", dt.date(2014, 5, 8)) == -4 * HOUR_NS
    assert offset_ns("EST") == -5 * HOUR_NS and offset_ns("Etc/GMT-3") == 3 * HOUR_NS


def test_local_times_cross_a_dst_change() -> None:
    from marketcore.io.timezone import local_day_to_utc_ns

    day = dt.date(2014, 3, 9)  # New York springs forward at 02:00 local (07:00 UTC)
    local = np.array([1, 3], dtype=np.int64) * HOUR_NS  # 01:00 EST and 03:00 EDT
    utc = local_day_to_utc_ns(day, local, "America/New_York")
    expect = [dt.datetime(2014, 3, 9, 6, tzinfo=dt.UTC), dt.datetime(2014, 3, 9, 7, tzinfo=dt.UTC)]
    assert list(utc) == [int(e.timestamp()) * 10**9 for e in expect]
    fixed = local_day_to_utc_ns(day, local, "-05:00")
    assert list(fixed - utc) == [0, HOUR_NS]


# --- Lean / FXCM on real data ---


def test_lean_ticks_match_a_reference_parse(data: Path) -> None:
    path = data / "fxcm/tick/eurusd/20140508_quote.zip"
    ticks = read_lean_quote_ticks(path)
    rows = list(csv.reader(io.StringIO(read_bytes(path).decode())))
    assert ticks.dtype == TICK_DTYPE
    assert len(ticks) == len(rows) == 167_466
    base = _utc_ns("2014-05-08T05:00")  # midnight in the fixed UTC-05:00 FXCM clock
    np.testing.assert_array_equal(ticks["ts"], base + np.array([int(r[0]) for r in rows]) * 1_000_000)
    np.testing.assert_array_equal(ticks["bid"], [float(r[1]) for r in rows])  # exact, like float()
    np.testing.assert_array_equal(ticks["ask"], [float(r[2]) for r in rows])
    assert np.isnan(ticks["last"]).all() and (ticks["volume"] == 0).all()
    assert (np.diff(ticks["ts"]) >= 0).all()
    assert (ticks["bid"] > ticks["ask"]).sum() > 1000  # crossed quotes are real and kept


def test_lean_ticks_ecb_spike_is_in_the_press_conference(data: Path) -> None:
    ticks = read_lean_quote_ticks(data / "fxcm/tick/eurusd/20140508_quote.zip")
    mid = (ticks["bid"] + ticks["ask"]) / 2
    minute = ticks["ts"] // (60 * 10**9)
    ranges = {m: np.ptp(mid[minute == m]) for m in np.unique(minute)}
    busiest = max(ranges, key=lambda m: ranges[m])
    t = dt.datetime.fromtimestamp(int(ticks["ts"][minute == busiest][0]) / 1e9, dt.UTC)
    assert dt.time(12, 30) <= t.time() < dt.time(13, 0)  # the ECB press conference


def test_lean_tz_offset_shifts_times(data: Path) -> None:
    path = data / "fxcm/tick/nzdusd/20140505_quote.zip"
    fx = read_lean_quote_ticks(path)
    utc = read_lean_quote_ticks(path, "UTC")
    np.testing.assert_array_equal(fx["ts"] - utc["ts"], np.full(len(fx), 5 * HOUR_NS))


def test_lean_minute_bars_equal_bars_built_from_ticks(data: Path) -> None:
    ticks = read_lean_quote_ticks(data / "fxcm/tick/eurusd/20140508_quote.zip")
    bid, ask = read_lean_quote_bars(data / "fxcm/minute/eurusd/20140508_quote.zip")
    assert bid.dtype == BAR_DTYPE and len(bid) == len(ask)
    label = ticks["ts"] - ticks["ts"] % (60 * 10**9)
    starts, first = np.unique(label, return_index=True)
    last = np.r_[first[1:], len(ticks)] - 1
    np.testing.assert_array_equal(bid["ts"], starts)
    for bars, side in ((bid, "bid"), (ask, "ask")):
        np.testing.assert_array_equal(bars["open"], ticks[side][first])
        np.testing.assert_array_equal(bars["close"], ticks[side][last])
        np.testing.assert_array_equal(bars["high"], np.maximum.reduceat(ticks[side], first))
        np.testing.assert_array_equal(bars["low"], np.minimum.reduceat(ticks[side], first))
        assert (bars["count"] == 0).all() and (bars["volume"] == 0).all()


def test_lean_daily_bars_day_starts_at_data_midnight(data: Path) -> None:
    bid, ask = read_lean_daily_bars(data / "fxcm/daily_eurusd.zip")
    assert len(bid) == len(ask) > 3000
    assert bid["ts"][0] == _utc_ns("2007-03-30T05:00")
    assert (np.diff(bid["ts"]) > 0).all()
    ticks = read_lean_quote_ticks(data / "fxcm/tick/eurusd/20140508_quote.zip")
    day = bid[bid["ts"] == _utc_ns("2014-05-08T05:00")][0]
    assert (day["open"], day["close"]) == (ticks["bid"][0], ticks["bid"][-1])
    assert (day["high"], day["low"]) == (ticks["bid"].max(), ticks["bid"].min())
    assert (ask["high"] >= ask["low"]).all()


# --- Binance / freqtrade on real data ---


def test_binance_trades(data: Path) -> None:
    ticks = read_binance_trades(data / "binance/freqtrade_binance_XRP_ETH-trades.json.gz")
    assert ticks.dtype == TICK_DTYPE and len(ticks) == 12_477
    assert ticks["ts"][0] == 1570752011620 * 1_000_000
    assert ticks["last"][0] == 0.00141342 and ticks["volume"][0] == 23.0
    assert np.isnan(ticks["bid"]).all() and np.isnan(ticks["ask"]).all()
    assert (np.diff(ticks["ts"]) >= 0).all()


def test_binance_klines_equal_trades_where_traded(data: Path) -> None:
    bars = read_binance_klines(data / "binance/freqtrade_binance_XRP_ETH-1m.json")
    trades = read_binance_trades(data / "binance/freqtrade_binance_XRP_ETH-trades.json.gz")
    assert bars.dtype == BAR_DTYPE and len(bars) == 3560
    assert (np.diff(bars["ts"]) == 60 * 10**9).all()
    label = trades["ts"] - trades["ts"] % (60 * 10**9)
    starts, first = np.unique(label, return_index=True)
    sel = bars[np.isin(bars["ts"], starts)]
    keep = np.isin(starts, sel["ts"])
    np.testing.assert_allclose(sel["volume"], np.add.reduceat(trades["volume"], first)[keep], rtol=1e-9)
    np.testing.assert_array_equal(sel["high"], np.maximum.reduceat(trades["last"], first)[keep])


# --- malformed input ---


BAD_TICKS = (
    "1000,1.1,1.2\r\n2000,1.1\r\n3000,nan,1.2\r\n500,1.1,1.2\r\n4000,-1,1.2\r\n5000,1.1,1.3\r\n6000,x,1\r\n"
)


def test_lean_strict_names_file_and_line(tmp_path: Path) -> None:
    path = _write_zip(tmp_path / "20140508_quote.zip", BAD_TICKS)
    with pytest.raises(DataFormatError, match=r"20140508_quote\.zip: line 2: unparsable"):
        read_lean_quote_ticks(path)
    ok = _write_zip(tmp_path / "20140509_quote.zip", "1000,1.1,1.2\n3000,1.1,0\n")
    with pytest.raises(DataFormatError, match="line 2: NaN, non-positive"):
        read_lean_quote_ticks(ok)
    ooo = _write_zip(tmp_path / "20140510_quote.zip", "1000,1.1,1.2\n\n900,1.1,1.2\n")
    with pytest.raises(DataFormatError, match="line 3: timestamp earlier"):
        read_lean_quote_ticks(ooo)


def test_lean_stream_mode_skips_and_counts(tmp_path: Path) -> None:
    path = _write_zip(tmp_path / "20140508_quote.zip", BAD_TICKS)
    counts = SkipCounts()
    ticks = read_lean_quote_ticks(path, "UTC", on_error="skip", counts=counts)
    assert (counts.unparsable, counts.bad_price, counts.out_of_order) == (2, 2, 1)
    assert counts.total == 5
    np.testing.assert_array_equal(ticks["ts"] - _utc_ns("2014-05-08"), [1000 * 10**6, 5000 * 10**6])
    np.testing.assert_array_equal(ticks["ask"], [1.2, 1.3])
    read_lean_quote_ticks(path, "UTC", on_error="skip", counts=counts)
    assert counts.total == 10  # accumulates


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("quote.zip", "1,1,1\n", "YYYYMMDD"),
        ("20141340_quote.zip", "1,1,1\n", "bad date"),
        ("20140508_quote.zip", b"not a zip", "cannot read"),
    ],
)
def test_lean_bad_files(tmp_path: Path, name: str, content: str | bytes, message: str) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        _write_zip(path, content)
    with pytest.raises(DataFormatError, match=message):
        read_lean_quote_ticks(path)


def test_zip_with_two_members_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "20140508_quote.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.csv", "1,1,1\n")
        zf.writestr("b.csv", "1,1,1\n")
    with pytest.raises(MarketcoreError, match="expected one file"):
        read_lean_quote_ticks(path)


def test_lean_bars_reject_inconsistent_ohlc(tmp_path: Path) -> None:
    good = "0,1.0,1.2,0.9,1.1,0,1.0,1.2,0.9,1.1,0\n"
    bad = "60000,1.0,0.95,0.9,1.1,0,1.0,1.2,0.9,1.1,0\n"  # bid high below close
    path = _write_zip(tmp_path / "20140508_quote.zip", good + bad)
    with pytest.raises(DataFormatError, match="line 2"):
        read_lean_quote_bars(path)
    counts = SkipCounts()
    bid, ask = read_lean_quote_bars(path, on_error="skip", counts=counts)
    assert len(bid) == len(ask) == 1 and counts.bad_price == 1


def test_binance_strict_and_stream(tmp_path: Path) -> None:
    rows = [
        [1, "1", None, "buy", 1.0, 2.0, 2.0],
        [2, "2", None, "buy", "x", 2.0, 2.0],
        [3, "3", None, "sell", float("nan"), 2.0, 2.0],
        [0, "4", None, "buy", 1.0, 2.0, 2.0],
        [5, "5", None, "buy", 1.5, 3.0, 4.5],
    ]
    path = tmp_path / "A_B-trades.json.gz"
    path.write_bytes(gzip.compress(json.dumps(rows).replace("NaN", '"nan"').encode()))
    with pytest.raises(DataFormatError, match=r"\$\[1\]"):
        read_binance_trades(path)
    counts = SkipCounts()
    ticks = read_binance_trades(path, on_error="skip", counts=counts)
    np.testing.assert_array_equal(ticks["ts"], [1_000_000, 5_000_000])
    assert (counts.unparsable, counts.bad_price, counts.out_of_order) == (2, 0, 1)
    notjson = tmp_path / "A_B-1m.json"
    notjson.write_text("{oops")
    with pytest.raises(DataFormatError):
        read_binance_klines(notjson, on_error="skip")


def test_bad_on_error_value(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="on_error"):
        read_lean_quote_ticks(tmp_path / "20140508_quote.zip", on_error="ignore")  # type: ignore[arg-type]


# --- discovery ---


def test_discover_real_layouts(data: Path) -> None:
    ticks = discover(data / "fxcm" / "tick")
    assert [(d.symbol, d.kind, len(d.files), d.tz_offset) for d in ticks] == [
        ("EURUSD", "quote_ticks", 13, "-05:00"),
        ("NZDUSD", "quote_ticks", 13, "-05:00"),
    ]
    starts = [f.start_ns for f in ticks[0].files]
    assert starts == sorted(starts) and starts[0] == _utc_ns("2014-05-01T05:00")
    binance = discover(data / "binance", format="binance")
    assert sorted((d.symbol, d.kind, d.timeframe) for d in binance) == [
        ("XRPETH", "klines", "1m"),
        ("XRPETH", "trades", None),
    ]
    everything = discover(data)
    kinds = {(d.symbol, d.kind) for d in everything}
    assert {("EURUSD", "minute_quote_bars"), ("NZDUSD", "daily_quote_bars"), ("XRPETH", "trades")} <= kinds
    assert not discover(data / "fxcm", format="binance")


def test_discover_tmp_layout_and_tz(tmp_path: Path) -> None:
    d = tmp_path / "oanda" / "tick" / "gbpusd"
    d.mkdir(parents=True)
    _write_zip(d / "20200102_quote.zip", "0,1.3,1.31\n")
    _write_zip(d / "20200101_quote.zip", "0,1.3,1.31\n")
    (ds,) = discover(tmp_path, tz_offset="UTC")
    assert ds.symbol == "GBPUSD" and ds.tz_offset == "UTC"
    assert [f.path.name for f in ds.files] == ["20200101_quote.zip", "20200102_quote.zip"]
    assert ds.load(ds.files[0])["ts"][0] == _utc_ns("2020-01-01")
    (dflt,) = discover(tmp_path)  # not guessed from the path ("oanda"): the Lean format's default clock
    assert dflt.tz_offset == "-05:00" and dflt.load(dflt.files[0])["ts"][0] == _utc_ns("2020-01-01T05:00")
    (ny,) = discover(tmp_path, tz_offset="America/New_York")  # January: EST
    assert ny.load(ny.files[0])["ts"][0] == _utc_ns("2020-01-01T05:00")
    with pytest.raises(DataSourceError):
        discover(tmp_path / "missing")
    with pytest.raises(DataSourceError):
        discover(tmp_path, format="csv")  # type: ignore[arg-type]
