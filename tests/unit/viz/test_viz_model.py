"""The chart's model and the indicator-series record, without Qt: appends, forming candle, ticks, merging, codec."""

from __future__ import annotations

import numpy as np
import pytest
from marketcore.schema import BAR_DTYPE, TICK_DTYPE
from tradehive import series
from tradehive_viz.model import CandleSeries, apply_ticks, merge_bars

NS = 60 * 10**9


def bars(n: int, start: int = 0) -> np.ndarray:
    b = np.zeros(n, BAR_DTYPE)
    b["ts"] = (np.arange(n) + start) * NS
    b["open"] = 1.0 + np.arange(n) * 1e-4
    b["close"] = b["open"] + np.where(np.arange(n) % 2, 1e-4, -1e-4)
    b["high"] = np.maximum(b["open"], b["close"]) + 5e-5
    b["low"] = np.minimum(b["open"], b["close"]) - 5e-5
    b["count"] = 10
    return b


def test_append_closed_bars_and_forming() -> None:
    s = CandleSeries()
    s.reset(bars(5), bars(1, 5))
    assert len(s) == 5 and s.forming is not None and s.take_dirty() == 0
    assert s.append_closed(bars(1, 4)) == 0  # the last bar again: replaced, not appended
    assert s.take_dirty() == 4
    assert s.append_closed(bars(2, 5)) == 2 and len(s) == 7 and s.forming is None  # the forming bar closed
    assert s.take_dirty() == 5 and s.take_dirty() is None
    assert not s.set_forming(bars(1, 6))  # older than the last closed bar: ignored
    assert s.set_forming(bars(1, 7)) and int(s.forming["ts"]) == 7 * NS
    assert s.index_of(np.array([0, 3 * NS + 5, 7 * NS + 1, -1])).tolist() == [0, 3, 7, -1]
    big = CandleSeries()
    big.reset(bars(10))
    big.append_closed(bars(10_000, 10))  # grows past its first allocation
    assert len(big) == 10_010 and np.array_equal(big.bars["ts"], bars(10_010)["ts"])


def test_ticks_move_only_the_forming_candle_inside_it() -> None:
    s = CandleSeries()
    s.reset(bars(3), bars(1, 3))
    closed, before = s.bars.copy(), s.forming.copy()
    t = np.zeros(3, TICK_DTYPE)
    t["ts"] = [3 * NS + 1, 3 * NS + 2, 4 * NS + 1]  # the last one belongs to a bar the router has not built
    t["bid"], t["ask"] = [2.0, 0.5, 9.0], [2.0, 0.5, 9.0]
    assert apply_ticks(s, t, "mid", NS)
    assert np.array_equal(s.bars, closed)
    f = s.forming
    assert f["high"] == 2.0 and f["low"] == 0.5 and f["close"] == 0.5 and f["count"] == before["count"] + 2


def test_merge_bars() -> None:
    b = bars(5)
    m = merge_bars(b, 2)
    assert m.size == 3
    assert m["open"][0] == b["open"][0] and m["close"][0] == b["close"][1] and m["close"][2] == b["close"][4]
    assert m["high"][1] == b["high"][2:4].max() and m["low"][1] == b["low"][2:4].min() and m["count"][0] == 20


def test_indicator_buffer_and_codec() -> None:
    buf = series.IndicatorBuffer(["a", "b"], capacity=8)
    for i in range(10):  # past capacity: the newer half is kept
        buf.record("X", i, (float(i), float(-i)))
    ts, vals = buf.rows("X")
    assert ts.tolist() == [4, 5, 6, 7, 8, 9] and vals[:, 1].tolist() == [-4, -5, -6, -7, -8, -9]
    sent, _ = buf.unsent("X")
    assert sent.tolist() == ts.tolist() and buf.unsent("X")[0].size == 0
    buf.record("X", 8, (80.0, -80.0))  # a re-warm overlapping held rows replaces from there
    assert buf.rows("X")[0].tolist() == [4, 5, 6, 7, 8] and buf.unsent("X")[0].tolist() == [8]
    batch = series.IndicatorBatch.build(
        "b1", "X", "1m", buf.names, {"a": "price", "b": "sub"}, *buf.rows("X")
    )
    back = series.decode(series.encode(batch))
    assert isinstance(back, series.IndicatorBatch) and back.ts_array().tolist() == [4, 5, 6, 7, 8]
    assert back.values_array()[-1].tolist() == [80.0, -80.0] and not back.reset
    with pytest.raises(series.SeriesError):
        series.decode(b"\x93garbage")
    bad = series.encode(series.IndicatorBatch(brain="b", symbol="X", timeframe="1m", names=["a"], panes={},
                                              ts=b"\x00" * 8, values=b""))  # fmt: skip
    with pytest.raises(series.SeriesError):
        series.decode(bad)
