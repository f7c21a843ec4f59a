"""Streaming technical indicators: O(1) per new value, state in numpy arrays, numba kernels.

Every indicator has ``update(x)`` (one value in, current output out), ``update_many(xs)`` (a batched numba
loop, same results as repeated ``update``), ``ready`` (True once the warm-up is done), ``warmup`` (number of
inputs before the first non-NaN output) and ``reset()``. Outputs are NaN until warm.

Conventions (documented because libraries differ):
- EMA: alpha = 2 / (period + 1), seeded with the SMA of the first ``period`` values (first value at index
  period - 1).
- RSI (Wilder): average gain/loss seeded with the mean of the first ``period`` changes, then
  ``avg = (avg * (period - 1) + x) / period``; first value at index ``period``. RSI is 100 when the average
  loss is 0 (50 when both averages are 0).
- Bollinger: middle = SMA(period), bands = middle +/- k * population std over the same window.
  Running mean/M2 are updated with a windowed Welford step and recomputed exactly (two passes over the window)
  every ``max(period, 1024)`` updates, so rounding error cannot accumulate on long series.
- MACD: macd = EMA(fast) - EMA(slow) from index slow - 1; signal = EMA(signal) of macd (SMA seeded),
  from index
  slow + signal - 2; histogram = macd - signal.
- ATR (Wilder): true range of the first bar is high - low; ATR is seeded with the mean of the first ``period``
  true ranges (index period - 1), then Wilder smoothing.
- SMA uses a running window sum with the same periodic exact recompute as Bollinger.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

from marketcore.errors import IndicatorError

FloatArray = npt.NDArray[np.float64]

_RECOMPUTE_MIN = 1024
NAN = math.nan


def _check_period(name: str, period: int, minimum: int = 1) -> int:
    if not isinstance(period, int | np.integer) or isinstance(period, bool) or period < minimum:
        raise IndicatorError(f"{name} must be an integer >= {minimum}, got {period!r}")
    return int(period)


def _as_f64(xs: npt.ArrayLike) -> FloatArray:
    arr = np.ascontiguousarray(xs, dtype=np.float64)
    if arr.ndim != 1:
        raise IndicatorError(f"expected a 1-D series, got shape {arr.shape}")
    return arr


# --------------------------------------------------------------------------------------------------
# Windowed mean/variance (shared by SMA and Bollinger)
# state: [count, head, mean, m2, since_recompute, recompute_every]


@njit(cache=True)
def _win_recompute(state: FloatArray, buf: FloatArray) -> None:
    n = buf.shape[0]
    total = 0.0
    for i in range(n):
        total += buf[i]
    mean = total / n
    m2 = 0.0
    for i in range(n):
        d = buf[i] - mean
        m2 += d * d
    state[2] = mean
    state[3] = m2
    state[4] = 0.0


@njit(cache=True)
def _win_push(state: FloatArray, buf: FloatArray, x: float) -> bool:
    """Push ``x``; return True when the window is full (mean/m2 valid)."""
    n = buf.shape[0]
    count = state[0]
    head = int(state[1])
    if count < n:
        # Plain Welford while filling.
        count += 1.0
        buf[head] = x
        delta = x - state[2]
        state[2] += delta / count
        state[3] += delta * (x - state[2])
        state[0] = count
    else:
        old = buf[head]
        buf[head] = x
        old_mean = state[2]
        new_mean = old_mean + (x - old) / n
        state[3] += (x - old) * (x - new_mean + old - old_mean)
        state[2] = new_mean
        state[4] += 1.0
        if state[4] >= state[5]:
            _win_recompute(state, buf)
    head += 1
    if head == n:
        head = 0
    state[1] = head
    if state[3] < 0.0:
        state[3] = 0.0
    return bool(state[0] >= n)


def _win_state(period: int) -> FloatArray:
    state = np.zeros(6, dtype=np.float64)
    state[5] = max(period, _RECOMPUTE_MIN)
    return state


@njit(cache=True)
def _sma_update(state: FloatArray, buf: FloatArray, x: float) -> float:
    if _win_push(state, buf, x):
        return float(state[2])
    return np.nan


@njit(cache=True)
def _sma_update_many(state: FloatArray, buf: FloatArray, xs: FloatArray, out: FloatArray) -> None:
    for i in range(xs.shape[0]):
        out[i] = _sma_update(state, buf, xs[i])


@njit(cache=True)
def _bb_update(state: FloatArray, buf: FloatArray, x: float, k: float, out: FloatArray) -> None:
    if _win_push(state, buf, x):
        mean = state[2]
        width = k * np.sqrt(state[3] / buf.shape[0])
        out[0] = mean
        out[1] = mean + width
        out[2] = mean - width
    else:
        out[0] = np.nan
        out[1] = np.nan
        out[2] = np.nan


@njit(cache=True)
def _bb_update_many(state: FloatArray, buf: FloatArray, xs: FloatArray, k: float, out: FloatArray) -> None:
    for i in range(xs.shape[0]):
        _bb_update(state, buf, xs[i], k, out[i])


# --------------------------------------------------------------------------------------------------
# Seeded exponential smoothing (EMA with alpha, Wilder with alpha = 1/period)
# state: [count, value, seed_sum, period, alpha]


@njit(cache=True)
def _ema_update(state: FloatArray, x: float) -> float:
    count = state[0] + 1.0
    state[0] = count
    period = state[3]
    if count < period:
        state[2] += x
        return np.nan
    if count == period:
        state[2] += x
        state[1] = state[2] / period
    else:
        state[1] += state[4] * (x - state[1])
    return float(state[1])


@njit(cache=True)
def _ema_update_many(state: FloatArray, xs: FloatArray, out: FloatArray) -> None:
    for i in range(xs.shape[0]):
        out[i] = _ema_update(state, xs[i])


def _ema_state(period: int, alpha: float) -> FloatArray:
    return np.array([0.0, NAN, 0.0, float(period), alpha], dtype=np.float64)


def _reset_ema(state: FloatArray) -> None:
    state[0] = 0.0
    state[1] = NAN
    state[2] = 0.0


# --------------------------------------------------------------------------------------------------
# RSI: state: [has_prev, prev, gain EMA state (5), loss EMA state (5)]


@njit(cache=True)
def _rsi_update(state: FloatArray, x: float) -> float:
    if state[0] == 0.0:
        state[0] = 1.0
        state[1] = x
        return np.nan
    change = x - state[1]
    state[1] = x
    gain = change if change > 0.0 else 0.0
    loss = -change if change < 0.0 else 0.0
    avg_gain = _ema_update(state[2:7], gain)
    avg_loss = _ema_update(state[7:12], loss)
    if np.isnan(avg_gain):
        return np.nan
    if avg_loss == 0.0:
        return 50.0 if avg_gain == 0.0 else 100.0
    return 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)


@njit(cache=True)
def _rsi_update_many(state: FloatArray, xs: FloatArray, out: FloatArray) -> None:
    for i in range(xs.shape[0]):
        out[i] = _rsi_update(state, xs[i])


# --------------------------------------------------------------------------------------------------
# MACD: state: [fast EMA (5), slow EMA (5), signal EMA (5)]


@njit(cache=True)
def _macd_update(state: FloatArray, x: float, out: FloatArray) -> None:
    fast = _ema_update(state[0:5], x)
    slow = _ema_update(state[5:10], x)
    if np.isnan(slow):
        out[0] = np.nan
        out[1] = np.nan
        out[2] = np.nan
        return
    macd = fast - slow
    signal = _ema_update(state[10:15], macd)
    out[0] = macd
    out[1] = signal
    out[2] = macd - signal


@njit(cache=True)
def _macd_update_many(state: FloatArray, xs: FloatArray, out: FloatArray) -> None:
    for i in range(xs.shape[0]):
        _macd_update(state, xs[i], out[i])


# --------------------------------------------------------------------------------------------------
# ATR: state: [has_prev, prev_close, Wilder state (5)]


@njit(cache=True)
def _atr_update(state: FloatArray, high: float, low: float, close: float) -> float:
    tr = high - low
    if state[0] != 0.0:
        prev = state[1]
        up = abs(high - prev)
        down = abs(low - prev)
        if up > tr:
            tr = up
        if down > tr:
            tr = down
    state[0] = 1.0
    state[1] = close
    return _ema_update(state[2:7], tr)


@njit(cache=True)
def _atr_update_many(
    state: FloatArray, high: FloatArray, low: FloatArray, close: FloatArray, out: FloatArray
) -> None:
    for i in range(high.shape[0]):
        out[i] = _atr_update(state, high[i], low[i], close[i])


# --------------------------------------------------------------------------------------------------
# Public classes


class SMA:
    """Simple moving average over ``period`` values."""

    def __init__(self, period: int) -> None:
        self.period = _check_period("period", period)
        self.warmup = self.period
        self._buf = np.zeros(self.period, dtype=np.float64)
        self._state = _win_state(self.period)

    @property
    def ready(self) -> bool:
        return bool(self._state[0] >= self.period)

    def update(self, x: float) -> float:
        return float(_sma_update(self._state, self._buf, float(x)))

    def update_many(self, xs: npt.ArrayLike) -> FloatArray:
        arr = _as_f64(xs)
        out = np.empty_like(arr)
        _sma_update_many(self._state, self._buf, arr, out)
        return out

    def reset(self) -> None:
        self._buf[:] = 0.0
        self._state[:5] = 0.0


class EMA:
    """Exponential moving average, alpha = 2 / (period + 1), SMA-seeded."""

    def __init__(self, period: int) -> None:
        self.period = _check_period("period", period)
        self.warmup = self.period
        self.alpha = 2.0 / (self.period + 1.0)
        self._state = _ema_state(self.period, self.alpha)

    @property
    def ready(self) -> bool:
        return bool(self._state[0] >= self.period)

    def update(self, x: float) -> float:
        return float(_ema_update(self._state, float(x)))

    def update_many(self, xs: npt.ArrayLike) -> FloatArray:
        arr = _as_f64(xs)
        out = np.empty_like(arr)
        _ema_update_many(self._state, arr, out)
        return out

    def reset(self) -> None:
        _reset_ema(self._state)


class RSI:
    """Wilder's relative strength index (0..100)."""

    def __init__(self, period: int = 14) -> None:
        self.period = _check_period("period", period)
        self.warmup = self.period + 1
        wilder = _ema_state(self.period, 1.0 / self.period)
        self._state = np.concatenate([[0.0, 0.0], wilder, wilder.copy()])

    @property
    def ready(self) -> bool:
        return bool(self._state[2] >= self.period)

    def update(self, x: float) -> float:
        return float(_rsi_update(self._state, float(x)))

    def update_many(self, xs: npt.ArrayLike) -> FloatArray:
        arr = _as_f64(xs)
        out = np.empty_like(arr)
        _rsi_update_many(self._state, arr, out)
        return out

    def reset(self) -> None:
        self._state[:2] = 0.0
        _reset_ema(self._state[2:7])
        _reset_ema(self._state[7:12])


class BollingerBands:
    """Middle = SMA(period), upper/lower = middle +/- k * population std. Outputs (middle, upper, lower)."""

    def __init__(self, period: int = 20, k: float = 2.0) -> None:
        self.period = _check_period("period", period, minimum=1)
        if not (math.isfinite(k) and k >= 0):
            raise IndicatorError(f"k must be finite and >= 0, got {k!r}")
        self.k = float(k)
        self.warmup = self.period
        self._buf = np.zeros(self.period, dtype=np.float64)
        self._state = _win_state(self.period)
        self._out = np.empty(3, dtype=np.float64)

    @property
    def ready(self) -> bool:
        return bool(self._state[0] >= self.period)

    def update(self, x: float) -> tuple[float, float, float]:
        _bb_update(self._state, self._buf, float(x), self.k, self._out)
        return float(self._out[0]), float(self._out[1]), float(self._out[2])

    def update_many(self, xs: npt.ArrayLike) -> FloatArray:
        """Array of shape (n, 3): columns middle, upper, lower."""
        arr = _as_f64(xs)
        out = np.empty((arr.shape[0], 3), dtype=np.float64)
        _bb_update_many(self._state, self._buf, arr, self.k, out)
        return out

    def reset(self) -> None:
        self._buf[:] = 0.0
        self._state[:5] = 0.0


class MACD:
    """MACD line, signal line and histogram. Outputs (macd, signal, histogram)."""

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        self.fast = _check_period("fast", fast)
        self.slow = _check_period("slow", slow)
        self.signal = _check_period("signal", signal)
        if self.fast >= self.slow:
            raise IndicatorError(f"fast period ({fast}) must be shorter than slow period ({slow})")
        self.warmup = self.slow + self.signal - 1
        self._state = np.concatenate(
            [
                _ema_state(self.fast, 2.0 / (self.fast + 1.0)),
                _ema_state(self.slow, 2.0 / (self.slow + 1.0)),
                _ema_state(self.signal, 2.0 / (self.signal + 1.0)),
            ]
        )
        self._out = np.empty(3, dtype=np.float64)

    @property
    def ready(self) -> bool:
        return bool(self._state[10] >= self.signal)

    def update(self, x: float) -> tuple[float, float, float]:
        _macd_update(self._state, float(x), self._out)
        return float(self._out[0]), float(self._out[1]), float(self._out[2])

    def update_many(self, xs: npt.ArrayLike) -> FloatArray:
        """Array of shape (n, 3): columns macd, signal, histogram."""
        arr = _as_f64(xs)
        out = np.empty((arr.shape[0], 3), dtype=np.float64)
        _macd_update_many(self._state, arr, out)
        return out

    def reset(self) -> None:
        for start in (0, 5, 10):
            _reset_ema(self._state[start : start + 5])


class ATR:
    """Wilder's average true range from high/low/close."""

    def __init__(self, period: int = 14) -> None:
        self.period = _check_period("period", period)
        self.warmup = self.period
        self._state = np.concatenate([[0.0, 0.0], _ema_state(self.period, 1.0 / self.period)])

    @property
    def ready(self) -> bool:
        return bool(self._state[2] >= self.period)

    def update(self, high: float, low: float, close: float) -> float:
        return float(_atr_update(self._state, float(high), float(low), float(close)))

    def update_many(self, high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike) -> FloatArray:
        h, lo, c = _as_f64(high), _as_f64(low), _as_f64(close)
        if not h.shape == lo.shape == c.shape:
            raise IndicatorError(f"high/low/close lengths differ: {h.shape}, {lo.shape}, {c.shape}")
        out = np.empty_like(h)
        _atr_update_many(self._state, h, lo, c, out)
        return out

    def reset(self) -> None:
        self._state[:2] = 0.0
        _reset_ema(self._state[2:7])


def warm_up_kernels() -> None:
    """Compile (or load from the numba cache) every kernel; call at start-up, not on the first tick."""
    xs = np.linspace(1.0, 2.0, 64)
    for ind in (SMA(3), EMA(3), RSI(3), BollingerBands(3), MACD(2, 3, 2)):
        ind.update(1.0)
        ind.update_many(xs)
    atr = ATR(3)
    atr.update(2.0, 1.0, 1.5)
    atr.update_many(xs + 0.1, xs - 0.1, xs)
