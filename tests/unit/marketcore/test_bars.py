"""Bar aggregation edge cases: timeframes, sessions, empty policies, clock closing, rejections, count bars."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marketcore.bars import (
    FXCM_SESSION_OFFSET,
    BarBuilder,
    TickBarBuilder,
    Timeframe,
    VolumeBarBuilder,
    resample,
    session_offset_ns,
    tick_bars,
    volume_bars,
    warmup,
)
from marketcore.errors import MarketcoreError, TickDataError, TimeframeError
from marketcore.schema import BAR_DTYPE, TICK_DTYPE

S = 1_000_000_000
M = 60 * S
H = 60 * M


def ticks(rows: list[tuple[int, float, float]], last: float = np.nan, volume: float = 0.0) -> np.ndarray:
    a = np.zeros(len(rows), dtype=TICK_DTYPE)
    for i, (ts, bid, ask) in enumerate(rows):
        a[i] = (ts, bid, ask, last, volume)
    return a


def trades(rows: list[tuple[int, float, float]]) -> np.ndarray:
    a = np.zeros(len(rows), dtype=TICK_DTYPE)
    for i, (ts, price, vol) in enumerate(rows):
        a[i] = (ts, np.nan, np.nan, price, vol)
    return a


def ohlcvc(bar: np.void) -> tuple:
    return tuple(bar[f] for f in ("ts", "open", "high", "low", "close", "volume", "count"))


# -- timeframes and sessions ---------------------------------------------------------------------------------
def test_timeframe_parse_and_format() -> None:
    for text, ns in (
        ("1s", S),
        ("1m", M),
        ("5m", 5 * M),
        ("15m", 15 * M),
        ("1h", H),
        ("4h", 4 * H),
        ("1d", 24 * H),
    ):
        tf = Timeframe.parse(text)
        assert tf.ns == ns and str(tf) == text and Timeframe.parse(tf) is tf
    assert str(Timeframe.parse("60m")) == "1h" and str(Timeframe.parse("250ms")) == "250ms"
    for bad in ("", "1", "m", "0m", "1y", "-1m", "1.5h"):
        with pytest.raises(TimeframeError):
            Timeframe.parse(bad)
    with pytest.raises(MarketcoreError):
        Timeframe(0)


def test_session_offsets() -> None:
    assert session_offset_ns(FXCM_SESSION_OFFSET) == 5 * H
    assert session_offset_ns("UTC-05:00") == session_offset_ns("-05:00") == 5 * H
    assert session_offset_ns("+02:00") == 22 * H
    assert session_offset_ns(timedelta(hours=5)) == 5 * H
    assert session_offset_ns("Etc/GMT+5") == 5 * H  # POSIX sign: Etc/GMT+5 is UTC-05:00
    assert session_offset_ns("UTC") == 0
    with pytest.raises(TimeframeError, match="daylight"):
        session_offset_ns("America/New_York")
    with pytest.raises(TimeframeError, match="unknown"):
        session_offset_ns("Not/AZone")


def test_daily_bars_follow_the_session_offset() -> None:
    day = 1_400_000_000 // 86_400 * 86_400 * S  # a UTC midnight
    t = ticks(
        [(day + 4 * H, 1.0, 1.1), (day + 6 * H, 2.0, 2.1), (day + 23 * H, 3.0, 3.1), (day + 29 * H, 4.0, 4.1)]
    )
    utc = resample(t, "1d", "bid")
    assert [ohlcvc(b)[:5] for b in utc] == [(day, 1.0, 3.0, 1.0, 3.0), (day + 24 * H, 4.0, 4.0, 4.0, 4.0)]
    fx = resample(t, "1d", "bid", session_offset="UTC-05:00")
    assert [ohlcvc(b)[:5] for b in fx] == [
        (day - 19 * H, 1.0, 1.0, 1.0, 1.0),
        (day + 5 * H, 2.0, 3.0, 2.0, 3.0),
        (day + 29 * H, 4.0, 4.0, 4.0, 4.0),  # 05:00 UTC the next day opens the next session
    ]


# -- batch resample ------------------------------------------------------------------------------------------
def test_empty_and_single_tick() -> None:
    assert resample(np.zeros(0, dtype=TICK_DTYPE), "1m", "bid").shape == (0,)
    one = resample(ticks([(90 * S, 1.5, 1.6)]), "1m", "mid")
    assert one.dtype == BAR_DTYPE and ohlcvc(one[0]) == (M, 1.55, 1.55, 1.55, 1.55, 0.0, 1)


def test_tick_on_boundary_opens_the_next_bar() -> None:
    bars = resample(ticks([(0, 1.0, 2.0), (M - 1, 2.0, 3.0), (M, 3.0, 4.0)]), "1m", "bid")
    assert [ohlcvc(b) for b in bars] == [(0, 1.0, 2.0, 1.0, 2.0, 0.0, 2), (M, 3.0, 3.0, 3.0, 3.0, 0.0, 1)]


def test_gaps_skip_and_fill() -> None:
    t = trades([(10 * S, 5.0, 1.0), (20 * S, 6.0, 2.0), (3 * M + 1, 4.0, 3.0)])
    skip = resample(t, "1m", "last", empty="skip")
    assert [ohlcvc(b) for b in skip] == [(0, 5.0, 6.0, 5.0, 6.0, 3.0, 2), (3 * M, 4.0, 4.0, 4.0, 4.0, 3.0, 1)]
    fill = resample(t, "1m", "last", empty="fill")
    assert [ohlcvc(b) for b in fill] == [
        (0, 5.0, 6.0, 5.0, 6.0, 3.0, 2),
        (M, 6.0, 6.0, 6.0, 6.0, 0.0, 0),
        (2 * M, 6.0, 6.0, 6.0, 6.0, 0.0, 0),
        (3 * M, 4.0, 4.0, 4.0, 4.0, 3.0, 1),
    ]


def test_crossed_and_locked_quotes_are_aggregated() -> None:
    t = ticks([(1, 1.0002, 1.0001), (2, 1.0001, 1.0001), (3, 1.0000, 1.0003)])  # crossed, locked, normal
    bid, ask = resample(t, "1m", "bid"), resample(t, "1m", "ask")
    assert ohlcvc(bid[0])[1:] == (1.0002, 1.0002, 1.0, 1.0, 0.0, 3)
    assert ohlcvc(ask[0])[1:] == (1.0001, 1.0003, 1.0001, 1.0003, 0.0, 3)


def test_batch_rejects_unsorted_and_invalid_prices() -> None:
    with pytest.raises(TickDataError, match="not sorted"):
        resample(ticks([(2, 1.0, 1.0), (1, 1.0, 1.0)]), "1m", "bid")
    bad = ticks([(1, 1.0, 1.0), (2, np.nan, 1.0), (3, -1.0, 1.0), (4, 2.0, 1.0)])
    with pytest.raises(TickDataError, match="2 ticks"):
        resample(bad, "1m", "bid")
    assert ohlcvc(resample(bad, "1m", "bid", invalid="skip")[0])[1:] == (1.0, 2.0, 1.0, 2.0, 0.0, 2)
    assert resample(bad, "1m", "mid", invalid="skip")["count"][0] == 2
    with pytest.raises(TickDataError, match="price source"):
        resample(bad, "1m", "close")
    with pytest.raises(TickDataError, match="TICK_DTYPE"):
        resample(np.zeros(3, dtype=BAR_DTYPE), "1m", "bid")


def test_tick_and_volume_bars() -> None:
    t = trades([(i, float(i + 1), 1.0 + (i % 2)) for i in range(7)])  # volumes 1,2,1,2,1,2,1
    tb = tick_bars(t, 3, "last")
    assert [ohlcvc(b) for b in tb] == [
        (0, 1.0, 3.0, 1.0, 3.0, 4.0, 3),
        (3, 4.0, 6.0, 4.0, 6.0, 5.0, 3),
        (6, 7.0, 7.0, 7.0, 7.0, 1.0, 1),
    ]
    vb = volume_bars(t, 3.0, "last")
    assert [(b["ts"], b["volume"], b["count"]) for b in vb] == [
        (0, 3.0, 2),
        (2, 3.0, 2),
        (4, 3.0, 2),
        (6, 1.0, 1),
    ]
    with pytest.raises(TickDataError):
        tick_bars(t, 0, "last")


# -- streaming -----------------------------------------------------------------------------------------------
def test_builder_empty_batch_and_partial_vs_closed() -> None:
    b = BarBuilder(["1m"], ("bid",))
    u = b.update(np.zeros(0, dtype=TICK_DTYPE))
    assert u.n_closed == 0 and u.partial_bar("1m", "bid") is None and b.last_ts is None
    u = b.update(ticks([(5 * S, 1.0, 1.1)]))
    assert u.n_closed == 0 and ohlcvc(u.partial_bar("1m", "bid")) == (0, 1.0, 1.0, 1.0, 1.0, 0.0, 1)
    u2 = b.update(ticks([(6 * S, 2.0, 2.1)]))
    assert ohlcvc(u.partial_bar("1m", "bid"))[4] == 1.0  # an update is a snapshot, not a live view
    assert ohlcvc(u2.partial_bar("1m", "bid"))[2:] == (2.0, 1.0, 2.0, 0.0, 2)
    u3 = b.update(ticks([(M, 3.0, 3.1)]))  # exactly on the boundary: closes [0, 1m)
    assert [ohlcvc(x) for x in u3.closed_bars("1m", "bid")] == [(0, 1.0, 2.0, 1.0, 2.0, 0.0, 2)]
    assert ohlcvc(u3.partial_bar(Timeframe.parse("1m"), "bid"))[:2] == (M, 3.0)
    with pytest.raises(TickDataError, match="no bars"):
        u3.closed_bars("5m", "bid")


def test_builder_close_until_by_clock_and_late_ticks() -> None:
    b = BarBuilder(["1m", "5m"], ("bid",), empty="fill")
    b.update(ticks([(10 * S, 1.0, 1.1), (70 * S, 2.0, 2.1)]))
    u = b.close_until(3 * M + 30 * S)
    assert [ohlcvc(x)[:2] + ohlcvc(x)[5:] for x in u.closed_bars("1m", "bid")] == [
        (M, 2.0, 0.0, 1),
        (2 * M, 2.0, 0.0, 0),
    ]
    assert u.closed_bars("5m", "bid").shape == (0,) and u.partial_bar("5m", "bid") is not None
    # a tick inside a bar already closed by the clock is late: rejected and counted, not merged
    late = b.update(ticks([(2 * M + 59 * S, 9.0, 9.1), (3 * M + 40 * S, 3.0, 3.1)]))
    assert late.rejected_out_of_order == 1 and b.rejected_out_of_order == 1
    assert late.n_closed == 0 and ohlcvc(late.partial_bar("1m", "bid"))[:2] == (3 * M, 3.0)
    # the clock fills the empty minutes after the last bar, then the next tick continues
    u = b.close_until(6 * M)
    assert [x["ts"] for x in u.closed_bars("1m", "bid")] == [3 * M, 4 * M, 5 * M]
    assert [ohlcvc(x)[:2] for x in u.closed_bars("5m", "bid")] == [(0, 1.0)]
    assert b.close_until(6 * M).n_closed == 0  # idempotent


def test_builder_gaps_in_both_modes() -> None:
    t = ticks([(1 * S, 1.0, 1.1), (5 * M + 1, 2.0, 2.1), (5 * M + 2, 3.0, 3.1)])
    skip = BarBuilder(["1m"], ("ask",), empty="skip").update(t)
    assert [x["ts"] for x in skip.closed_bars("1m", "ask")] == [0]
    fill = BarBuilder(["1m"], ("ask",), empty="fill").update(t)
    closed = fill.closed_bars("1m", "ask")
    assert [x["ts"] for x in closed] == [0, M, 2 * M, 3 * M, 4 * M]
    assert (closed["close"] == 1.1).all() and closed["count"].tolist() == [1, 0, 0, 0, 0]


def test_builder_large_fill_gap_is_resumed_across_harvests() -> None:
    b = BarBuilder(["1s"], ("bid", "ask"), empty="fill", capacity=4)
    u = b.update(ticks([(0, 1.0, 1.1), (3 * H, 2.0, 2.1)]))  # 10,800 one-second bars per source
    for src in ("bid", "ask"):
        closed = u.closed_bars("1s", src)
        assert closed.shape[0] == 3 * 3600 and np.all(np.diff(closed["ts"]) == S)
    assert u.n_closed == 2 * 3 * 3600


def test_builder_out_of_order_and_invalid_counts() -> None:
    b = BarBuilder(["1m"], ("bid", "ask", "mid"))
    t = ticks([(10, 1.0, 1.2), (5, 7.0, 7.0), (20, np.nan, 1.3), (30, 1.1, -1.0), (30, 1.05, 1.0)])
    u = b.update(t)
    assert u.rejected_out_of_order == 1
    assert b.rejected_invalid == {"bid": 1, "ask": 1, "mid": 2} and u.rejected_invalid == 4
    assert ohlcvc(u.partial_bar("1m", "bid"))[1:] == (1.0, 1.1, 1.0, 1.05, 0.0, 3)
    assert ohlcvc(u.partial_bar("1m", "ask"))[1:] == (1.2, 1.3, 1.0, 1.0, 0.0, 3)
    assert u.partial_bar("1m", "mid")["count"] == 2  # crossed quote (1.05, 1.0) is kept
    assert b.update(ticks([(29, 1.0, 1.0)])).rejected_out_of_order == 1
    with pytest.raises(TickDataError):
        b.update(np.zeros(1, dtype=BAR_DTYPE))


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.integers(min_value=0, max_value=200 * S), min_size=1, max_size=120),
    cuts=st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=10),
    fill=st.booleans(),
)
@pytest.mark.timeout(60)
def test_streaming_equals_batch_for_any_batching(gaps: list[int], cuts: list[int], fill: bool) -> None:
    ts = np.cumsum(np.asarray(gaps, dtype=np.int64))
    t = trades([(int(x), 1.0 + (i * 7919 % 13) / 10, float(i % 3)) for i, x in enumerate(ts)])
    mode = "fill" if fill else "skip"
    b = BarBuilder(["1m", "5m"], ("last",), empty=mode, capacity=2)
    got: dict[str, list[np.ndarray]] = {"1m": [], "5m": []}
    i = k = 0
    while i < t.shape[0]:
        u = b.update(t[i : i + cuts[k % len(cuts)]])
        for tf in got:
            got[tf].append(u.closed_bars(tf, "last"))
        i += cuts[k % len(cuts)]
        k += 1
    for tf, parts in got.items():
        parts.append(np.array([b.partial(tf, "last")], dtype=BAR_DTYPE))
        assert np.concatenate(parts).tobytes() == resample(t, tf, "last", empty=mode).tobytes()


def test_streaming_tick_and_volume_bars_match_batch() -> None:
    t = trades([(i * S, float(10 + i % 5), float(1 + i % 4)) for i in range(50)])
    tb = TickBarBuilder(4, ("last",))
    closed = [tb.update(t[i : i + 3]).closed_bars(tb.spec, "last") for i in range(0, 50, 3)]
    expected = tick_bars(t, 4, "last")
    assert np.concatenate(closed).tobytes() == expected[:-1].tobytes()
    assert tb.partial(tb.spec, "last").tobytes() == expected[-1].tobytes()
    vb = VolumeBarBuilder(7.0)
    closed = [vb.update(t[i : i + 5]).closed_bars(vb.spec, "last") for i in range(0, 50, 5)]
    expected = volume_bars(t, 7.0, "last")
    got = np.concatenate(closed)
    assert got.tobytes() == expected[: got.shape[0]].tobytes() and (got["volume"] >= 7.0).all()


def test_warmup_runs() -> None:
    warmup()  # compiled or loaded from cache: must not raise


def test_streaming_gives_the_same_bars_for_every_kind_of_tick_array() -> None:
    """The builder calls the kernel's compiled specialisation directly, keyed by the ticks' array flags: a
    read-only wire buffer, a strided view, a writable copy and a subclass must each get their own and the
    same bars as the dispatcher."""
    t = trades([(i * 7 * S, float(10 + i % 5), float(1 + i % 4)) for i in range(400)])
    wide = np.zeros(800, dtype=TICK_DTYPE)
    wide[::2] = t
    variants = {
        "writable": t.copy(),
        "read-only": np.frombuffer(t.tobytes(), dtype=TICK_DTYPE),
        "strided": wide[::2],
        "recarray": t.copy().view(np.recarray),
    }
    assert not variants["read-only"].flags.writeable and not variants["strided"].flags.c_contiguous
    expected = resample(t, "1m", "last")
    for name, arr in variants.items():
        for step in (1, 7):
            b = BarBuilder(["1m"], ("last",))
            closed = [b.update(arr[i : i + step]).closed_bars("1m", "last") for i in range(0, 400, step)]
            closed.append(np.array([b.partial("1m", "last")], dtype=BAR_DTYPE))
            assert np.concatenate(closed).tobytes() == expected.tobytes(), (name, step)
