"""TimeSeriesBuffer: properties against a plain-list model, plus edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marketcore.buffer import TimeSeriesBuffer
from marketcore.errors import MarketcoreError, SeriesError
from marketcore.schema import BAR_DTYPE, TICK_DTYPE


def _ticks(ts: list[int], start_price: float = 1.0) -> np.ndarray:
    a = np.zeros(len(ts), dtype=TICK_DTYPE)
    a["ts"] = ts
    a["bid"] = start_price + np.arange(len(ts))
    a["ask"] = a["bid"] + 0.5
    a["last"] = np.nan
    return a


# An operation: ("row", n) append one row; ("batch", k) append k rows; ("update", 0) update the last row.
_ops = st.lists(
    st.one_of(
        st.tuples(st.just("row"), st.just(1)),
        st.tuples(st.just("batch"), st.integers(min_value=0, max_value=40)),
        st.tuples(st.just("update"), st.just(0)),
    ),
    max_size=120,
)


@settings(max_examples=200, deadline=None)
@given(
    window=st.integers(min_value=1, max_value=12),
    factor=st.integers(min_value=2, max_value=4),
    extra=st.integers(min_value=0, max_value=3),
    ops=_ops,
)
@pytest.mark.timeout(60)
def test_structured_buffer_matches_list_model(window: int, factor: int, extra: int, ops: list) -> None:
    buf = TimeSeriesBuffer(TICK_DTYPE, window, capacity=factor * window + extra)
    model: list[tuple] = []
    clock = 0
    for kind, n in ops:
        if kind == "row":
            clock += 1
            row = (clock, float(clock), float(clock) + 0.5, np.nan, 1.0)
            buf.append(row)
            model.append(row)
        elif kind == "batch":
            batch = _ticks(list(range(clock + 1, clock + 1 + n)), start_price=float(clock))
            clock += n
            buf.append(batch)
            model.extend(tuple(r) for r in batch.tolist())
        elif model:  # update the newest row, same ts, new prices
            ts = model[-1][0]
            row = (ts, -1.0 * ts, 2.0 * ts, 3.0, 4.0)
            buf.update_last(row)
            model[-1] = row
        expected = model[-window:]
        view = buf.view
        assert len(buf) == len(expected) == view.shape[0]
        # byte comparison: NaN fields compare equal to themselves
        assert view.tobytes() == np.array(expected, dtype=TICK_DTYPE).tobytes()
        assert view.flags["C_CONTIGUOUS"]
        assert not expected or np.shares_memory(view, buf.backing)
        assert buf.fill == pytest.approx(len(expected) / window)
        if expected:
            assert tuple(buf.last.tolist())[0] == expected[-1][0]


@settings(max_examples=200, deadline=None)
@given(
    window=st.integers(min_value=1, max_value=10),
    values=st.lists(st.lists(st.floats(allow_nan=False, width=64), max_size=25), max_size=30),
)
@pytest.mark.timeout(60)
def test_float_buffer_matches_list_model(window: int, values: list[list[float]]) -> None:
    buf = TimeSeriesBuffer(np.float64, window, factor=2)
    model: list[float] = []
    for chunk in values:
        if len(chunk) == 1:
            buf.append(chunk[0])
        else:
            buf.append(np.asarray(chunk, dtype=np.float64))
        model.extend(chunk)
        np.testing.assert_array_equal(buf.view, np.asarray(model[-window:], dtype=np.float64))
        assert buf.view.flags["C_CONTIGUOUS"]
        assert not model or np.shares_memory(buf.view, buf.backing)


def test_compactions_are_counted_and_amortised() -> None:
    buf = TimeSeriesBuffer(np.float64, 10, factor=4)  # capacity 40
    for i in range(1000):
        buf.append(float(i))
    # each compaction keeps 9 rows and leaves room for 31 appends
    assert buf.compactions == pytest.approx((1000 - 40) / 31, abs=1.5)
    np.testing.assert_array_equal(buf.view, np.arange(990, 1000, dtype=np.float64))


def test_larger_than_window_batch_keeps_last_rows() -> None:
    buf = TimeSeriesBuffer(TICK_DTYPE, 5)
    buf.append(_ticks(list(range(100))))
    assert buf.view["ts"].tolist() == [95, 96, 97, 98, 99]


def test_since_and_range_by_ts() -> None:
    buf = TimeSeriesBuffer(BAR_DTYPE, 6, factor=2)
    for t in range(0, 200, 10):
        buf.append((t, 1.0, 2.0, 0.5, 1.5, 0.0, 1))
    assert buf.view["ts"].tolist() == [140, 150, 160, 170, 180, 190]
    assert buf.since(165)["ts"].tolist() == [170, 180, 190]
    assert buf.since(170)["ts"].tolist() == [170, 180, 190]
    assert buf.range(150, 180)["ts"].tolist() == [150, 160, 170]
    assert buf.range(0, 10).shape[0] == 0
    assert buf.range(180, 150).shape[0] == 0
    assert np.shares_memory(buf.since(0), buf.backing)


def test_errors_are_clear() -> None:
    buf = TimeSeriesBuffer(TICK_DTYPE, 4)
    with pytest.raises(SeriesError, match="empty"):
        _ = buf.last
    with pytest.raises(SeriesError, match="empty"):
        buf.update_last((0, 1.0, 1.0, 1.0, 0.0))
    buf.append((10, 1.0, 1.0, np.nan, 0.0))
    with pytest.raises(SeriesError, match="older"):
        buf.append((9, 1.0, 1.0, np.nan, 0.0))
    assert len(buf) == 1
    with pytest.raises(SeriesError, match="older"):
        buf.append(_ticks([5, 6]))
    with pytest.raises(SeriesError, match="non-decreasing"):
        buf.append(_ticks([20, 19]))
    with pytest.raises(SeriesError, match="dtype"):
        buf.append(np.zeros(3, dtype=BAR_DTYPE))
    with pytest.raises(MarketcoreError):
        TimeSeriesBuffer(np.float64, 10, capacity=10)
    fbuf = TimeSeriesBuffer(np.float64, 3)
    with pytest.raises(SeriesError, match="since/range"):
        fbuf.since(0)
