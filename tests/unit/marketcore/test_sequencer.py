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


def _arrivals(order: list[tuple[str, int, str]]) -> list[str]:
    """Decisions and watermarks of brains a and b arriving in ``order``; what the venue saw, in order."""
    seen: list[str] = []
    seq = QuoteSequencer(["a", "b"], lambda s, t, o: seen.extend(f"q{x}" for x in t["ts"].tolist()))
    seq.on_ticks("EURUSD", _ticks(1, 2, 3, 4, 5, 6))
    for who, ts, key in order:
        if key:
            seq.on_decision(who, "EURUSD", ts, key, lambda k=key: seen.append(k))  # type: ignore[misc]
        else:
            seq.on_watermark(who, "EURUSD", ts)
    seq.on_watermark("a", "EURUSD", 10)
    seq.on_watermark("b", "EURUSD", 10)
    return seen


def test_simultaneous_decisions_of_two_brains_run_in_one_order_whatever_arrives_first():
    """a and b both decide at data time 3 (a twice), b also at 5: every arrival order (a brain's own messages
    keep their order) gives one sequence: quotes before 3, the decisions at 3 by (brain, key), quotes 3-4, b's
    decision at 5, the rest."""
    a = [("a", 3, "a-1"), ("a", 3, "a-2"), ("a", 6, "")]
    b = [("b", 3, "b-1"), ("b", 5, "b-2"), ("b", 6, "")]
    results = set()
    import itertools

    for mask in set(itertools.permutations([0, 0, 0, 1, 1, 1])):
        ia, ib = iter(a), iter(b)
        order = [next(ia) if m == 0 else next(ib) for m in mask]
        results.add(tuple(_arrivals(order)))
    assert results == {("q1", "q2", "a-1", "a-2", "b-1", "q3", "q4", "b-2", "q5", "q6")}


def test_a_decision_waits_for_the_other_brain_and_holds_later_quotes():
    out: list[str] = []
    seq = QuoteSequencer(["a", "b"], lambda s, t, o: out.extend(f"q{x}" for x in t["ts"].tolist()))
    seq.on_ticks("EURUSD", _ticks(1, 2, 3))
    seq.on_watermark("b", "EURUSD", 1)
    seq.on_decision("a", "EURUSD", 2, "a-1", lambda: out.append("a-1"))
    assert out == ["q1"] and seq.held_decisions == 1  # b has not decided on 2 yet
    seq.on_watermark("b", "EURUSD", 2)
    assert out == ["q1", "a-1"] and seq.held_decisions == 0  # q2 waits for a's word on it
    seq.on_watermark("a", "EURUSD", 3)
    assert out == ["q1", "a-1", "q2"]
    seq.on_decision("stranger", "EURUSD", 3, "x", lambda: out.append("x"))  # not a participant: at once
    assert out[-1] == "x"


def test_live_hold_limit_forces_a_waiting_decision():
    now = [0]
    out: list[str] = []
    seq = QuoteSequencer(["a", "b"], lambda s, t, o: None, max_hold_ns=100, monotonic_ns=lambda: now[0])
    seq.on_decision("a", "EURUSD", 5, "a-1", lambda: out.append("a-1"))
    now[0] = 150
    assert seq.expire() == 1 and out == ["a-1"] and seq.held_decisions == 0
