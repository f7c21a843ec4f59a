"""marketcore.sources: merged replay of recorded data, pacing, and the seeded market simulator."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from marketcore.errors import DataSourceError
from marketcore.io import discover, read_binance_trades, read_lean_quote_ticks
from marketcore.schema import TICK_DTYPE
from marketcore.sources import MarketSimulator, Pacer, ReplaySource, SymbolSpec

REPO = Path(__file__).resolve().parents[3]
DATA = Path(os.environ.get("TRADEHIVE_DATA", REPO.parent / "shared" / "data"))
S = 1_000_000_000


@pytest.fixture(scope="module")
def data() -> Path:
    if not (DATA / "fxcm" / "tick" / "eurusd").is_dir():
        pytest.skip(f"recorded market data not found at {DATA} (set TRADEHIVE_DATA)")
    return DATA


def _utc_ns(text: str) -> int:
    return int(np.datetime64(text, "ns").astype(np.int64))


def _day(root: Path, sym: str, day: str, text: str) -> None:
    d = root / "tick" / sym
    d.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(d / f"{day}_quote.zip", "w") as zf:
        zf.writestr("x.csv", text)


def assert_same(a: np.ndarray, b: np.ndarray) -> None:
    """Bit-for-bit equality (NaN fields included, which == does not give)."""
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# --- replay on real data -----------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_replay_merges_two_symbols_in_time_order(data: Path) -> None:
    src = ReplaySource(data / "fxcm" / "tick", start="2014-05-07T05:00", end="2014-05-09T05:00")
    assert src.symbols == ("EURUSD", "NZDUSD")
    per_symbol: dict[str, list[np.ndarray]] = {s: [] for s in src.symbols}
    prev_end = -1
    all_ids, all_ts = [], []
    for batch in src.batches(max_ticks=5_000):
        assert batch.start_ns > prev_end  # batches never overlap in time
        assert batch.size <= 5_000
        prev_end = batch.end_ns
        for sym, ticks in batch.runs:
            per_symbol[sym].append(ticks)
        ids, ticks = batch.merged(src.symbol_ids)
        all_ids.append(ids)
        all_ts.append(ticks["ts"])
    ids, ts = np.concatenate(all_ids), np.concatenate(all_ts)
    assert (np.diff(ts) >= 0).all()
    ties = np.flatnonzero(np.diff(ts) == 0)
    assert (ids[ties + 1] >= ids[ties]).all()  # equal timestamps: symbol order
    for sym in src.symbols:
        days = [
            read_lean_quote_ticks(data / f"fxcm/tick/{sym.lower()}/{d}_quote.zip")
            for d in (20140507, 20140508)
        ]
        assert_same(np.concatenate(per_symbol[sym]), np.concatenate(days))
    p = src.progress()
    assert p.total_is_exact and p.ticks_done == p.ticks_total == ts.size and p.fraction == 1.0
    assert p.files_read == p.files_total == 4
    assert sum(p.skipped.values()) == 0


def test_replay_is_lazy_and_estimates_progress(data: Path) -> None:
    src = ReplaySource(discover(data / "fxcm" / "tick"), symbols=["eurusd"])
    before = src.progress()
    assert before.files_total == 13 and before.files_read == 0 and not before.total_is_exact
    batch = src.next_batch(max_ticks=100)
    assert batch is not None and batch.size == 100 and [s for s, _ in batch.runs] == ["EURUSD"]
    p = src.progress()
    assert p.files_read == 1 and p.ticks_done == 100 and p.data_time_ns == batch.end_ns
    assert 0.8e6 < p.ticks_total < 1.5e6  # 13 EURUSD days, estimated from zip sizes


def test_replay_span_limit(data: Path) -> None:
    src = ReplaySource(data / "fxcm" / "tick", start="2014-05-08T12:40", end="2014-05-08T12:50")
    n = 0
    for batch in src.batches(max_ticks=10_000, max_span_ns=S // 50):
        assert batch.end_ns - batch.start_ns < S // 50
        n += batch.size
    expected = sum(
        len(src.history(s, _utc_ns("2014-05-08T12:40"), _utc_ns("2014-05-08T12:50"))) for s in src.symbols
    )
    assert n == expected > 1000


def test_replay_history(data: Path) -> None:
    src = ReplaySource(data / "fxcm" / "tick")
    day = read_lean_quote_ticks(data / "fxcm/tick/eurusd/20140508_quote.zip")
    nxt = read_lean_quote_ticks(data / "fxcm/tick/eurusd/20140509_quote.zip")
    a, b = int(day["ts"][1000]), int(nxt["ts"][50])
    h = src.history("eurusd", a, b)
    assert_same(h, np.concatenate([day[1000:], nxt[:50]]))
    assert_same(src.history("EURUSD", a, b, limit=10), nxt[40:50])
    assert src.history("EURUSD", b, a).size == 0
    with pytest.raises(DataSourceError):
        src.history("GBPUSD", a, b)


def test_replay_binance_trades(data: Path) -> None:
    src = ReplaySource(data / "binance")
    assert src.symbols == ("XRPETH",)
    got = np.concatenate([t for b in src.batches(1000) for _, t in b.runs])
    assert_same(got, read_binance_trades(data / "binance/freqtrade_binance_XRP_ETH-trades.json.gz"))


# --- replay on synthetic files -----------------------------------------------------------------------------


def test_replay_ties_bad_rows_and_day_boundaries(tmp_path: Path) -> None:
    _day(tmp_path, "aaa", "20200101", "1000,1.0,1.1\n2000,1.0,1.1\n3000,bad\n86399000,1.0,1.2\n")
    _day(tmp_path, "aaa", "20200102", "0,1.0,1.1\n")
    _day(tmp_path, "bbb", "20200101", "1000,2.0,2.1\n1500,-2.0,2.1\n2000,2.0,2.1\n2500,2.0,2.1\n")
    datasets = discover(tmp_path, tz_offset="UTC")
    src = ReplaySource(datasets)
    ids, ticks = next(src.merged())
    t0 = _utc_ns("2020-01-01")
    assert list(ticks["ts"][:5] - t0) == [
        1000 * 10**6,
        1000 * 10**6,
        2000 * 10**6,
        2000 * 10**6,
        2500 * 10**6,
    ]
    assert list(ids[:5]) == [0, 1, 0, 1, 1]  # AAA before BBB at equal times
    rest = [b for b in src.batches()]
    total = ticks.size + sum(b.size for b in rest)
    assert total == 7
    assert src.progress().skipped == {"unparsable": 1, "bad_price": 1, "out_of_order": 0}
    with pytest.raises(DataSourceError, match="GBPUSD"):
        ReplaySource(datasets, symbols=["GBPUSD"])
    with pytest.raises(DataSourceError):
        ReplaySource(datasets, start="2020-01-02", end="2020-01-01")
    with pytest.raises(DataSourceError):
        ReplaySource(discover(tmp_path, format="binance"))


def test_replay_max_ticks_never_splits_equal_timestamps(tmp_path: Path) -> None:
    _day(tmp_path, "aaa", "20200101", "".join(f"{1000 + (i // 5)},1.0,1.1\n" for i in range(50)))
    src = ReplaySource(discover(tmp_path, tz_offset="UTC"))
    sizes = [b.size for b in src.batches(max_ticks=3)]
    assert sizes == [5] * 10  # five ticks share each ms: a batch holds all of them


# --- pacing ------------------------------------------------------------------------------------------------


def test_pacer_real_time_and_faster() -> None:
    clock = FakeClock()
    pacer = Pacer(1.0, clock)
    assert pacer.max_span_ns == S // 50
    assert pacer.delay(10 * S) == 0.0  # anchors
    assert pacer.delay(11 * S) == pytest.approx(1.0)
    clock.now += 0.4
    assert pacer.delay(11 * S) == pytest.approx(0.6)
    clock.now += 5
    assert pacer.delay(12 * S) == 0.0  # late: no wait, catch up
    assert pacer.lag() == pytest.approx(3.4)
    pacer.set_speed(10)
    assert pacer.max_span_ns == S // 5
    assert pacer.delay(22 * S) == pytest.approx(1.0)  # re-anchored at the speed change
    pacer.set_speed("max")
    assert pacer.delay(10_000 * S) == 0.0 and pacer.max_span_ns is None
    with pytest.raises(DataSourceError):
        pacer.delay(5 * S)
    for bad in (0, -1.0, "fast"):
        with pytest.raises(DataSourceError):
            Pacer(bad, clock)  # type: ignore[arg-type]


def test_pacer_compresses_idle_gaps() -> None:
    clock = FakeClock()
    pacer = Pacer(1.0, clock, max_idle_s=2.0)
    pacer.delay(0)
    assert pacer.delay(48 * 3600 * S) == 2.0  # a weekend becomes 2 s
    clock.now += 2.0
    assert pacer.delay(48 * 3600 * S + S) == pytest.approx(1.0)


def test_paced_replay_has_no_bursts(data: Path) -> None:
    clock = FakeClock()
    pacer = Pacer(1.0, clock)
    src = ReplaySource(data / "fxcm" / "tick", start="2014-05-08T12:44", end="2014-05-08T12:48")
    waits = []
    while (batch := src.next_batch(pacer.max_ticks, pacer.max_span_ns)) is not None:
        wait = pacer.delay(batch.end_ns)
        clock.now += wait
        waits.append(wait)
        assert batch.end_ns - batch.start_ns < S // 50
    assert clock.now - 100.0 == pytest.approx(
        (src.progress().data_time_ns - _utc_ns("2014-05-08T12:44")) / S, abs=1
    )
    assert max(waits) < 5


# --- simulator ---------------------------------------------------------------------------------------------


SPECS = {"EURUSD": SymbolSpec(1.1, 1e-5, 1.5e-5), "BTC": {"price": 60000.0, "tick_size": 0.01, "spread": 0.5}}


def test_sim_deterministic_and_seed_dependent() -> None:
    a = MarketSimulator(SPECS, seed=7, tick_rate_hz=20).history("EURUSD", 0, 600 * S)
    b = MarketSimulator(SPECS, seed=7, tick_rate_hz=20).history("EURUSD", 0, 600 * S)
    c = MarketSimulator(SPECS, seed=8, tick_rate_hz=20).history("EURUSD", 0, 600 * S)
    assert a.dtype == TICK_DTYPE and a.size > 1000
    assert_same(a, b)
    assert a.size != c.size or not np.array_equal(a["bid"], c["bid"])
    btc = MarketSimulator(SPECS, seed=7, tick_rate_hz=20).history("BTC", 0, 600 * S)
    assert not np.array_equal(btc["ts"][:100], a["ts"][:100])  # symbols have their own streams


def test_sim_history_equals_stream() -> None:
    start = 1_700_000_000 * S
    sim = MarketSimulator(SPECS, seed=3, tick_rate_hz=50, start_ns=start, origin_ns=start - 3600 * S)
    streamed: dict[str, list[np.ndarray]] = {"EURUSD": [], "BTC": []}
    future = sim.history("BTC", start, start + 900 * S)  # asked before it is streamed
    rng = np.random.default_rng(0)
    t = start
    while t < start + 1000 * S:
        t += int(rng.integers(1, 30 * S))
        for sym, ticks in sim.next_batch(t):
            assert ticks["ts"][-1] <= t
            streamed[sym].append(ticks)
    assert sim.next_batch(t) == []
    fresh = MarketSimulator(SPECS, seed=3, tick_rate_hz=50, start_ns=start, origin_ns=start - 3600 * S)
    for sym, parts in streamed.items():
        got = np.concatenate(parts)
        assert got["ts"][0] >= start and (np.diff(got["ts"]) >= 0).all()
        assert_same(got[got["ts"] <= t], fresh.history(sym, start, t + 1))
    btc = np.concatenate(streamed["BTC"])
    assert_same(future, btc[btc["ts"] < start + 900 * S])
    warm = sim.history("EURUSD", start - 3600 * S, start, limit=500)
    assert warm.size == 500 and warm["ts"][-1] < start
    assert sim.history("EURUSD", 0, start - 3600 * S).size == 0  # before the origin


def test_sim_quotes_are_realistic() -> None:
    sim = MarketSimulator(SPECS, seed=11, tick_rate_hz=10)
    ticks = sim.history("EURUSD", 0, 86_400 * S)
    n = ticks.size
    assert abs(n - 864_000) < 5 * np.sqrt(864_000)  # Poisson arrivals at 10 Hz
    gaps = np.diff(ticks["ts"]) / S
    assert gaps.mean() == pytest.approx(0.1, rel=0.02) and gaps.std() == pytest.approx(0.1, rel=0.05)
    spread = ticks["ask"] - ticks["bid"]
    assert (spread >= 0).mean() > 0.95 and (spread < 0).any()  # mostly positive; one-sided updates cross
    assert np.median(spread) >= 1e-5
    for side in ("bid", "ask"):
        grid = ticks[side] / 1e-5
        assert np.abs(grid - np.round(grid)).max() < 1e-6
    assert np.isnan(ticks["last"]).all() and (ticks["volume"] == 0).all()
    mid = (ticks["bid"] + ticks["ask"]) / 2
    assert 0.9 < mid.min() and mid.max() < 1.3
    moved_one = (np.diff(ticks["bid"]) != 0) ^ (np.diff(ticks["ask"]) != 0)
    assert moved_one.mean() > 0.1


def test_sim_volatility_clustering() -> None:
    ticks = MarketSimulator(SPECS, seed=5, tick_rate_hz=10).history("EURUSD", 0, 20_000 * S)
    mid = (ticks["bid"] + ticks["ask"]) / 2
    r = np.diff(np.log(mid[::10]))  # 10-tick returns: less tick-grid noise
    sq = r**2 - np.mean(r**2)
    se = 1 / np.sqrt(sq.size)
    acf = [np.dot(sq[:-lag], sq[lag:]) / np.dot(sq, sq) for lag in (1, 2, 3, 5)]
    assert min(acf) > 4 * se, acf
    shuffled = np.random.default_rng(0).permutation(sq)
    assert abs(np.dot(shuffled[:-1], shuffled[1:]) / np.dot(sq, sq)) < 4 * se  # the test can fail


def test_sim_trades_and_bad_settings() -> None:
    sim = MarketSimulator({"X": SymbolSpec(100.0, 0.01, 0.02, trade_prob=0.5)}, seed=1, tick_rate_hz=100)
    ticks = sim.history("x", 0, 60 * S)
    traded = ~np.isnan(ticks["last"])
    assert 0.4 < traded.mean() < 0.6
    assert np.isin(ticks["last"][traded], np.concatenate([ticks["bid"], ticks["ask"]])).all()
    assert (ticks["volume"][traded] > 0).all() and (ticks["volume"][~traded] == 0).all()
    with pytest.raises(DataSourceError):
        SymbolSpec(1.0, 0.0, 0.1)
    with pytest.raises(DataSourceError):
        SymbolSpec(1.0, 0.01, 0.1, garch_alpha=0.5, garch_beta=0.6)
    with pytest.raises(DataSourceError):
        MarketSimulator({"X": {"price": 1.0, "tick": 0.1}})
    with pytest.raises(DataSourceError):
        sim.history("Y", 0, S)


def test_sim_state_memory_is_bounded_and_history_still_equals_stream() -> None:
    """A long stream kept one model state per block for ever (the feeder's RSS grew ~10 KB/s at 10k ticks/s):
    the states held stay bounded, and history older than them is regenerated identically from checkpoints."""
    start = 1_700_000_000 * S
    kw = {"seed": 5, "tick_rate_hz": 400, "start_ns": start, "origin_ns": start - 60 * S}
    sim = MarketSimulator(SPECS, **kw, cache_blocks=2, recent_states=3, max_checkpoints=4)  # type: ignore[arg-type]
    streamed: dict[str, list[np.ndarray]] = {"EURUSD": [], "BTC": []}
    t, held = start, []
    for _ in range(120):  # 1200 s: ~120 blocks of 4096 ticks per symbol
        t += 10 * S
        for sym, ticks in sim.next_batch(t):
            streamed[sym].append(ticks)
        held.append(sum(m.states_held() for m in sim._models.values()))
    models = sim._models.values()
    assert all(m.frontier[0] > 100 for m in models)  # far more blocks than states held
    assert max(held) <= 2 * (3 + 4 + 1)  # bounded, not one per block streamed
    fresh = MarketSimulator(SPECS, **kw)  # type: ignore[arg-type]
    for sym, parts in streamed.items():
        got = np.concatenate(parts)
        for lo, hi in [(start, start + 100 * S), (start + 500 * S, start + 700 * S), (start - 60 * S, t + 1)]:
            assert_same(sim.history(sym, lo, hi), fresh.history(sym, lo, hi))  # old blocks regenerated
            assert_same(got[(got["ts"] >= lo) & (got["ts"] < hi)], fresh.history(sym, max(lo, start), hi))
    assert sum(m.states_held() for m in models) <= 2 * (3 + 4 + 1)
    with pytest.raises(DataSourceError):
        MarketSimulator(SPECS, max_checkpoints=1)
