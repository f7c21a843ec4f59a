"""Indicator series a brain publishes per closed bar and serves as history, so a chart can draw them from the
first visible bar: a typed record of named float64 columns over bar open times.

* live: topic ``ind.<brain>.<symbol>`` on the brain's ``signals`` PUB, one :class:`IndicatorBatch` per batch of
  closed bars (type ``indicators``);
* history: the brain's ``indicators`` REP answers an :class:`IndicatorHistoryRequest` with an
  :class:`IndicatorBatch` of the rows it holds (or an :class:`IndicatorError`).

:class:`IndicatorOutputs` is all of that for whatever runs a strategy: the buffer the strategy records into, the
batches it publishes after closed bars, the answer to a history request and the recompute after a parameter change.

Columns travel as raw little-endian arrays (``ts`` int64, ``values`` float64 row-major ``len(ts) x len(names)``),
not as lists of Python floats. ``panes`` says where a column belongs: ``price`` (overlaid on the candles, e.g. an
EMA or a stop level) or ``sub`` (its own pane: oscillators, a regime). ``styles`` (optional, absent = ``line``) says
how a chart draws it: ``line`` (a line through the bars), ``stop`` or ``target`` (a level per bar, drawn as a
short dash across its candle: a stop or target price that jumps sides when the trend turns). NaN = no value (yet).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

import msgspec
import numpy as np

from tradehive.errors import TradehiveError

INDICATOR_PREFIX: Final = "ind."
TYPE_INDICATORS: Final = "indicators"
BRAIN_INDICATORS: Final = "indicators"  # the brain's REP alias serving indicator history
SERIES_VERSION: Final = 1


def indicator_topic(brain: str, symbol: str) -> str:
    return f"{INDICATOR_PREFIX}{brain}.{symbol}"


class IndicatorBatch(msgspec.Struct, frozen=True, kw_only=True, tag="indicators"):
    brain: str
    symbol: str
    timeframe: str
    names: list[str]
    panes: dict[str, str]
    ts: bytes
    values: bytes
    reset: bool = False  # True: these rows replace everything held (a parameter change recomputed them)
    v: int = SERIES_VERSION
    styles: dict[
        str, str
    ] = {}  # name -> line | stop | target (absent: line); readers of v1 without it ignore it

    @classmethod
    def build(cls, brain: str, symbol: str, timeframe: str, names: list[str], panes: dict[str, str],
              ts: np.ndarray, values: np.ndarray, reset: bool = False,
              styles: dict[str, str] | None = None) -> IndicatorBatch:  # fmt: skip
        ts = np.ascontiguousarray(ts, dtype="<i8")
        values = np.ascontiguousarray(values, dtype="<f8").reshape(ts.size, len(names))
        return cls(brain=brain, symbol=symbol, timeframe=timeframe, names=list(names), panes=dict(panes),
                   ts=ts.tobytes(), values=values.tobytes(), reset=reset, styles=dict(styles or {}))  # fmt: skip

    def style(self, name: str) -> str:
        return self.styles.get(name, "line")

    def ts_array(self) -> np.ndarray:
        return np.frombuffer(self.ts, dtype="<i8")

    def values_array(self) -> np.ndarray:
        return np.frombuffer(self.values, dtype="<f8").reshape(-1, len(self.names))

    def __len__(self) -> int:
        return len(self.ts) // 8


class IndicatorHistoryRequest(msgspec.Struct, frozen=True, kw_only=True, tag="indicator_history"):
    symbol: str
    last_n: int | None = None


class IndicatorError(msgspec.Struct, frozen=True, kw_only=True, tag="indicator_error"):
    reason: str


class IndicatorBuffer:
    """What a brain keeps of its strategy's outputs: per symbol, the last ``capacity`` rows (bar time, values),
    and how many rows were already published."""

    def __init__(self, names: list[str], capacity: int = 50_000) -> None:
        self.names = list(names)
        self.capacity = capacity
        self._ts: dict[str, np.ndarray] = {}
        self._vals: dict[str, np.ndarray] = {}
        self._n: dict[str, int] = {}
        self._sent: dict[str, int] = {}
        self.reset_pending: set[str] = set()

    def record(self, symbol: str, ts_ns: int, values: tuple[float, ...]) -> None:
        n = self._n.get(symbol, 0)
        if n == 0 and symbol not in self._ts:
            self._ts[symbol] = np.zeros(self.capacity, "<i8")
            self._vals[symbol] = np.full((self.capacity, len(self.names)), np.nan)
        ts, vals = self._ts[symbol], self._vals[symbol]
        if (
            n and ts_ns <= ts[n - 1]
        ):  # a bar seen again (a re-warm overlapping the held rows): replace from it
            n = int(np.searchsorted(ts[:n], ts_ns, side="left"))
            self._sent[symbol] = min(self._sent.get(symbol, 0), n)
        if n == self.capacity:  # keep the newer half
            half = self.capacity // 2
            ts[:half], vals[:half] = ts[half:], vals[half:]
            n -= half
            self._sent[symbol] = max(0, self._sent.get(symbol, 0) - half)
        ts[n] = ts_ns
        vals[n] = values
        self._n[symbol] = n + 1

    def clear(self, symbol: str) -> None:
        self._n[symbol] = 0
        self._sent[symbol] = 0
        self.reset_pending.add(symbol)

    def rows(self, symbol: str, last_n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        n = self._n.get(symbol, 0)
        lo = max(0, n - last_n) if last_n else 0
        if not n:
            return np.zeros(0, "<i8"), np.zeros((0, len(self.names)))
        return self._ts[symbol][lo:n], self._vals[symbol][lo:n]

    def unsent(self, symbol: str) -> tuple[np.ndarray, np.ndarray]:
        n, sent = self._n.get(symbol, 0), self._sent.get(symbol, 0)
        self._sent[symbol] = n
        if not n:
            return np.zeros(0, "<i8"), np.zeros((0, len(self.names)))
        return self._ts[symbol][sent:n], self._vals[symbol][sent:n]

    @property
    def symbols(self) -> list[str]:
        return list(self._n)


class IndicatorOutputs:
    """One brain's outputs: ``buffer`` is what its strategy records into (``Strategy.record``); ``publish`` sends
    the rows not sent yet through ``send(topic, payload)``; ``answer`` is the history REP's reply."""

    def __init__(self, brain: str, timeframe: str, panes: Mapping[str, str], send: Callable[[str, bytes], None],
                 capacity: int = 50_000, styles: Mapping[str, str] | None = None) -> None:  # fmt: skip
        self.brain, self.timeframe, self.panes = brain, timeframe, dict(panes)
        self.styles = dict(styles or {})
        self.buffer = IndicatorBuffer(list(panes), capacity)
        self._send = send

    @classmethod
    def attach(
        cls, strategy: Any, brain: str, timeframe: str, send: Callable[[str, bytes], None]
    ) -> IndicatorOutputs:
        """Outputs for a ``tradehive.strategy.Strategy`` (its ``outputs`` and ``output_styles``), recording what
        its ``record`` calls give."""
        out = cls(brain, timeframe, strategy.outputs, send, styles=strategy.output_styles)
        strategy._recorder = out.buffer
        return out

    def batch(self, symbol: str, ts: np.ndarray, values: np.ndarray, reset: bool = False) -> IndicatorBatch:
        return IndicatorBatch.build(self.brain, symbol, self.timeframe, self.buffer.names, self.panes, ts, values,
                                    reset, self.styles)  # fmt: skip

    def publish(self, symbol: str) -> None:
        """After closed bars: the new rows (or a reset, after a recompute) on ``ind.<brain>.<symbol>``."""
        reset = symbol in self.buffer.reset_pending
        self.buffer.reset_pending.discard(symbol)
        ts, values = self.buffer.unsent(symbol)
        if ts.size or reset:
            self._send(indicator_topic(self.brain, symbol), encode(self.batch(symbol, ts, values, reset)))

    def answer(self, data: bytes | memoryview) -> bytes:
        """The reply to a history request: every row held for its symbol (``SeriesError`` for a bad request)."""
        req = decode(data)
        if not isinstance(req, IndicatorHistoryRequest):
            raise SeriesError(f"unexpected request {type(req).__name__}")
        ts, values = self.buffer.rows(req.symbol.upper(), req.last_n)
        return encode(self.batch(req.symbol.upper(), ts, values, True))

    def recompute(self, rewarm: Callable[[str], object]) -> None:
        """A parameter that shapes the outputs changed: forget them, let ``rewarm(symbol)`` feed the history
        again, publish the whole recomputed series as a reset (a chart redraws it at once)."""
        for symbol in self.buffer.symbols:
            self.buffer.clear(symbol)
            rewarm(symbol)
            self.publish(symbol)


_Any = IndicatorBatch | IndicatorHistoryRequest | IndicatorError
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_Any)


class SeriesError(TradehiveError, ValueError):
    """An undecodable or inconsistent indicator record."""


def encode(record: _Any) -> bytes:
    return _encoder.encode(record)


def decode(data: bytes | memoryview) -> _Any:
    try:
        rec: _Any = _decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise SeriesError(f"undecodable indicator record: {exc}") from exc
    if isinstance(rec, IndicatorBatch):
        if rec.v != SERIES_VERSION:
            raise SeriesError(f"indicator series version {rec.v}, this build reads {SERIES_VERSION}")
        if len(rec.ts) % 8 or len(rec.values) != len(rec.ts) * len(rec.names):
            raise SeriesError("indicator batch columns do not match its names and times")
    return rec
