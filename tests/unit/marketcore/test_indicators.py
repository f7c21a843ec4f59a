"""Streaming indicators against full recomputations (numpy/pandas over the whole series)."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from marketcore.errors import IndicatorError, MarketcoreError
from marketcore.indicators import ATR, EMA, MACD, RSI, SMA, BollingerBands, warm_up_kernels
from numpy.lib.stride_tricks import sliding_window_view

REPO = Path(__file__).resolve().parents[3]
DATA = Path(os.environ.get("TRADEHIVE_DATA", REPO.parent / "shared" / "data"))
MINUTE_ZIP = DATA / "fxcm" / "minute" / "eurusd" / "20140508_quote.zip"

RTOL = 1e-9


def _close(a: np.ndarray, b: np.ndarray, scale: float = 1.0) -> None:
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=RTOL * scale, equal_nan=True)


def _padded(values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    out[n - len(values) :] = values
    return out


def ref_sma(x: np.ndarray, p: int) -> np.ndarray:
    return _padded(sliding_window_view(x, p).mean(axis=1), len(x))


def ref_bollinger(x: np.ndarray, p: int, k: float) -> np.ndarray:
    win = sliding_window_view(x, p)
    mid = _padded(win.mean(axis=1), len(x))
    std = _padded(win.std(axis=1, ddof=0), len(x))
    return np.column_stack([mid, mid + k * std, mid - k * std])


def ref_seeded_ewm(x: np.ndarray, p: int, alpha: float) -> np.ndarray:
    """SMA of the first p values as seed, then pandas' recursive EWM."""
    seeded = pd.Series(np.r_[x[:p].mean(), x[p:]]).ewm(alpha=alpha, adjust=False).mean().to_numpy()
    return _padded(seeded, len(x))


def ref_ema(x: np.ndarray, p: int) -> np.ndarray:
    return ref_seeded_ewm(x, p, 2.0 / (p + 1))


def ref_rsi(x: np.ndarray, p: int) -> np.ndarray:
    d = np.diff(x)
    gain = ref_seeded_ewm(np.where(d > 0, d, 0.0), p, 1.0 / p)
    loss = ref_seeded_ewm(np.where(d < 0, -d, 0.0), p, 1.0 / p)
    with np.errstate(divide="ignore", invalid="ignore"):
        rsi = 100.0 - 100.0 / (1.0 + gain / loss)
    rsi = np.where(loss == 0.0, np.where(gain == 0.0, 50.0, 100.0), rsi)
    rsi = np.where(np.isnan(gain), np.nan, rsi)
    return np.r_[np.nan, rsi]


def ref_macd(x: np.ndarray, fast: int, slow: int, signal: int) -> np.ndarray:
    macd = ref_ema(x, fast) - ref_ema(x, slow)
    start = slow - 1
    sig = np.r_[np.full(start, np.nan), ref_ema(macd[start:], signal)]
    return np.column_stack([macd, sig, macd - sig])


def ref_atr(h: np.ndarray, lo: np.ndarray, c: np.ndarray, p: int) -> np.ndarray:
    prev = np.r_[np.nan, c[:-1]]
    tr = np.nanmax(np.column_stack([h - lo, np.abs(h - prev), np.abs(lo - prev)]), axis=1)
    return ref_seeded_ewm(tr, p, 1.0 / p)


def _random_walk(n: int, seed: int, start: float = 100.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return start + np.cumsum(rng.normal(0, 0.5, n))


def _real_bars() -> pd.DataFrame:
    if not MINUTE_ZIP.exists():
        pytest.skip(f"real data absent: {MINUTE_ZIP} (set TRADEHIVE_DATA)")
    with zipfile.ZipFile(MINUTE_ZIP) as zf:
        raw = zf.read(zf.namelist()[0])
    arr = np.loadtxt(io.BytesIO(raw), delimiter=",")
    return pd.DataFrame({"high": arr[:, 2], "low": arr[:, 3], "close": arr[:, 4]})


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    warm_up_kernels()


def _series_cases() -> list[tuple[str, np.ndarray]]:
    return [("random", _random_walk(3000, 1)), ("real", _real_bars()["close"].to_numpy())]


@pytest.mark.parametrize("p", [1, 2, 14, 50])
def test_sma_and_ema_match_recompute(p: int) -> None:
    for _, x in _series_cases():
        _close(SMA(p).update_many(x), ref_sma(x, p))
        _close(EMA(p).update_many(x), ref_ema(x, p))


@pytest.mark.parametrize("p", [2, 14, 30])
def test_rsi_matches_recompute(p: int) -> None:
    for _, x in _series_cases():
        _close(RSI(p).update_many(x), ref_rsi(x, p), scale=100.0)


@pytest.mark.parametrize(("p", "k"), [(1, 2.0), (20, 2.0), (55, 1.5)])
def test_bollinger_matches_recompute(p: int, k: float) -> None:
    for _, x in _series_cases():
        _close(BollingerBands(p, k).update_many(x), ref_bollinger(x, p, k), scale=float(np.max(x)))


def test_macd_matches_recompute() -> None:
    for _, x in _series_cases():
        _close(MACD(12, 26, 9).update_many(x), ref_macd(x, 12, 26, 9), scale=float(np.max(x)))


def test_atr_matches_recompute_on_real_bars() -> None:
    bars = _real_bars()
    h, lo, c = (bars[k].to_numpy() for k in ("high", "low", "close"))
    _close(ATR(14).update_many(h, lo, c), ref_atr(h, lo, c, 14), scale=1.0)


def test_atr_matches_recompute_on_random_bars() -> None:
    rng = np.random.default_rng(7)
    c = _random_walk(2000, 3)
    h = c + rng.uniform(0, 1, c.size)
    lo = c - rng.uniform(0, 1, c.size)
    _close(ATR(10).update_many(h, lo, c), ref_atr(h, lo, c, 10), scale=100.0)


def test_update_equals_update_many_and_warmup_flags() -> None:
    x = _random_walk(200, 5)
    cases = [
        (SMA(10), lambda i, v: i.update(v)),
        (EMA(10), lambda i, v: i.update(v)),
        (RSI(10), lambda i, v: i.update(v)),
        (BollingerBands(10), lambda i, v: i.update(v)),
        (MACD(5, 10, 4), lambda i, v: i.update(v)),
    ]
    batched = [SMA(10), EMA(10), RSI(10), BollingerBands(10), MACD(5, 10, 4)]
    for (ind, step), ref in zip(cases, batched, strict=True):
        singles = []
        for j, v in enumerate(x):
            singles.append(step(ind, v))
            assert ind.ready == (j + 1 >= ind.warmup), (type(ind).__name__, j)
        got = np.array(singles, dtype=float)
        want = ref.update_many(x)
        np.testing.assert_array_equal(got.reshape(want.shape), want)
        # NaN exactly until warm, finite after
        first = np.flatnonzero(~np.isnan(want.reshape(len(x), -1)[:, -1]))[0]
        assert first == ind.warmup - 1


def test_chunked_update_many_continues_state() -> None:
    x = _random_walk(1000, 9)
    whole = BollingerBands(20).update_many(x)
    bb = BollingerBands(20)
    parts = np.vstack([bb.update_many(x[:333]), bb.update_many(x[333:700]), bb.update_many(x[700:])])
    np.testing.assert_array_equal(parts, whole)


def test_reset_restarts_warmup() -> None:
    x = _random_walk(100, 2)
    for ind in (SMA(5), EMA(5), RSI(5), BollingerBands(5), MACD(3, 5, 2)):
        first = ind.update_many(x)
        assert ind.ready
        ind.reset()
        assert not ind.ready
        np.testing.assert_array_equal(ind.update_many(x), first)


@pytest.mark.timeout(60)
def test_running_variance_stable_on_long_offset_series() -> None:
    """2M points with a huge offset and tiny variance: naive sum/sumsq would lose every digit."""
    rng = np.random.default_rng(11)
    n, p = 2_000_000, 50
    x = 1e6 + rng.normal(0, 1e-3, n)
    x[: n // 2] += 1e3  # a level shift: any accumulated error from the first half would show
    bb = BollingerBands(p, 2.0)
    out = bb.update_many(x)
    tail = x[-5 * p :]
    want = ref_bollinger(tail, p, 2.0)[p - 1 :]
    got = out[-len(want) :]
    std_got = (got[:, 1] - got[:, 0]) / 2.0
    std_want = (want[:, 1] - want[:, 0]) / 2.0
    np.testing.assert_allclose(std_got, std_want, rtol=1e-6)
    np.testing.assert_allclose(got[:, 0], want[:, 0], rtol=1e-12)
    sma_out = SMA(p).update_many(x)
    np.testing.assert_allclose(sma_out[-len(want) :], want[:, 0], rtol=1e-12)


def test_constant_series_has_zero_width_bands_and_neutral_rsi() -> None:
    x = np.full(100, 1.39147)
    bands = BollingerBands(20).update_many(x)[-1]
    assert bands[0] == pytest.approx(1.39147, abs=1e-15)
    assert bands[1] - bands[2] == pytest.approx(0.0, abs=1e-12)
    assert RSI(14).update_many(x)[-1] == 50.0
    assert RSI(3).update_many(np.arange(10.0))[-1] == 100.0


@pytest.mark.parametrize(
    "make",
    [
        lambda: SMA(0),
        lambda: EMA(-1),
        lambda: RSI(1.5),
        lambda: BollingerBands(20, -1.0),
        lambda: MACD(26, 12),
    ],
)
def test_bad_parameters_raise(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IndicatorError) as info:
        make()
    assert isinstance(info.value, MarketcoreError)


def test_bad_input_shapes_raise() -> None:
    with pytest.raises(IndicatorError):
        SMA(3).update_many(np.zeros((2, 2)))
    with pytest.raises(IndicatorError):
        ATR(3).update_many([1.0, 2.0], [0.5], [1.0, 1.5])
