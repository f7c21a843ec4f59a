"""QuoteSequencer: quotes reach the venue only once every trading brain has decided on them."""

from __future__ import annotations

import numpy as np
from marketcore.execution import QuoteSequencer
from marketcore.schema import TICK_DTYPE


def _ticks(*ts: int) -> np.ndarray:
    t = np.zeros(len(ts), dtype=TICK_DTYPE)
    t["ts"] = ts
    t["bid"], t["ask"] = 1.0, 1.1
    return t


def test_quotes_wait_for_every_participant_and_split_at_the_watermark():
    out: list[tuple[str, list[int]]] = []
    seq = QuoteSequencer(["a", "b"], lambda s, t, o: out.append((s, t["ts"].tolist())))
    seq.on_ticks("EURUSD", _ticks(1, 2, 3, 4))
    assert out == [] and seq.held_ticks == 4
    seq.on_watermark("a", "EURUSD", 3)
    assert out == []  # b has not spoken
    seq.on_watermark("b", "EURUSD", 2)
    assert out == [("EURUSD", [1, 2])]
    seq.on_watermark("b", "EURUSD", 10)
    assert out[-1] == ("EURUSD", [3])
    seq.on_ticks("EURUSD", _ticks(5))
    seq.on_watermark("a", "EURUSD", 5)
    assert [x for _, ts in out for x in ts] == [1, 2, 3, 4, 5] and seq.held_ticks == 0


def test_symbols_are_independent_and_strangers_ignored():
    out: list[str] = []
    seq = QuoteSequencer(["a"], lambda s, t, o: out.append(s))
    seq.on_ticks("EURUSD", _ticks(5))
    seq.on_ticks("NZDUSD", _ticks(5))
    seq.on_watermark("stranger", "EURUSD", 100)
    seq.on_watermark("a", "NZDUSD", 5)
    assert out == ["NZDUSD"]


def test_without_participants_quotes_pass_through():
    out: list[int] = []
    seq = QuoteSequencer([], lambda s, t, o: out.extend(t["ts"].tolist()))
    seq.on_ticks("EURUSD", _ticks(1, 2))
    assert out == [1, 2] and not seq.enabled


def test_live_hold_limit_forces_release():
    now = [0]
    out: list[int] = []
    seq = QuoteSequencer(
        ["a"], lambda s, t, o: out.extend(t["ts"].tolist()), max_hold_ns=100, monotonic_ns=lambda: now[0]
    )
    seq.on_ticks("EURUSD", _ticks(1))
    now[0] = 50
    assert seq.expire() == 0 and out == []
    now[0] = 150
    assert seq.expire() == 1 and out == [1] and seq.forced == 1


def test_without_participants_every_quote_is_released_and_the_limit_is_open():
    seq = QuoteSequencer([], lambda s, t, o: None)
    assert seq.limit("EURUSD") == np.iinfo(np.int64).max  # no one to wait for (was: min() of nothing)
    seq.on_watermark("anyone", "EURUSD", 5)  # ignored, no error
