"""Indicator series a brain publishes per closed bar and serves as history, so a chart can draw them from the
first visible bar: a typed record of named float64 columns over bar open times.

* live: topic ``ind.<brain>.<symbol>`` on the brain's ``signals`` PUB, one :class:`IndicatorBatch` per batch of
  closed bars (type ``indicators``);
* history: the brain's ``indicators`` REP answers an :class:`IndicatorHistoryRequest` with an
  :class:`IndicatorBatch` of the rows it holds (or an :class:`IndicatorError`).

Columns travel as raw little-endian arrays (``ts`` int64, ``values`` float64 row-major ``len(ts) x len(names)``),
not as lists of Python floats. ``panes`` says where a column belongs: ``price`` (overlaid on the candles, e.g. an
EMA or a stop level) or ``sub`` (its own pane: oscillators, a regime). NaN = no value yet (warming up).
"""

from __future__ import annotations

from typing import Final

import msgspec
import numpy as np

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
    v: int = SERIES_VERSION

    @classmethod
    def build(cls, brain: str, symbol: str, timeframe: str, names: list[str], panes: dict[str, str],
              ts: np.ndarray, values: np.ndarray) -> IndicatorBatch:  # fmt: skip
        ts = np.ascontiguousarray(ts, dtype="<i8")
        values = np.ascontiguousarray(values, dtype="<f8").reshape(ts.size, len(names))
        return cls(brain=brain, symbol=symbol, timeframe=timeframe, names=list(names), panes=dict(panes),
                   ts=ts.tobytes(), values=values.tobytes())  # fmt: skip

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


_Any = IndicatorBatch | IndicatorHistoryRequest | IndicatorError
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_Any)


class SeriesError(ValueError):
    """An undecodable or inconsistent indicator record."""


def encode(record: _Any) -> bytes:
    return _encoder.encode(record)


def decode(data: bytes | memoryview) -> _Any:
    try:
        rec = _decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise SeriesError(f"undecodable indicator record: {exc}") from exc
    if isinstance(rec, IndicatorBatch):
        if rec.v != SERIES_VERSION:
            raise SeriesError(f"indicator series version {rec.v}, this build reads {SERIES_VERSION}")
        if len(rec.ts) % 8 or len(rec.values) != len(rec.ts) * len(rec.names):
            raise SeriesError("indicator batch columns do not match its names and times")
    return rec
