"""tradehive replay's comparison: two order logs (canonical JSON lines) -> the differences, first divergence first,
cut at the recorded session's horizon; and the recording tick source feeding recorded messages back in order."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from marketcore.errors import DataSourceError
from marketcore.execution import QuoteSequencer
from marketcore.schema import TICK_DTYPE
from tradehive.recording import HISTORY, Header, RecordingWriter
from tradehive.recsource import RecordedTicks, RecordingSource
from tradehive.replay import diff_logs, render

pytestmark = pytest.mark.timeout(60)
CID = "brain-trend-live01.EURUSD-"


def _order(n: int, d: int, side: str = "BUY", qty: float = 10_000.0, symbol: str = "EURUSD") -> str:
    return json.dumps({"msg": "submit_order", "client_order_id": f"{CID}{n}", "symbol": symbol, "side": side,
                       "qty": qty, "type": "MARKET", "stop_loss": 1.0, "take_profit": 1.2, "data_ts_ns": d})  # fmt: skip


def _fill(
    n: int, ts: int, price: float, venue: str = "PAPER-1", symbol: str = "EURUSD", side: str = "BUY"
) -> str:
    return json.dumps({"msg": "order_filled", "client_order_id": f"{CID}{n}", "venue_order_id": venue,
                       "fill_id": f"F{n}", "symbol": symbol, "side": side, "price": price, "qty": 10_000.0,
                       "ts_ns": ts})  # fmt: skip


LOG = [_order(1, 100), _fill(1, 105, 1.1), _order(2, 200, "SELL"), _fill(2, 203, 1.2, side="SELL")]


def test_identical_logs_diff_clean() -> None:
    d = diff_logs(LOG, list(LOG))
    assert d.clean and d.first is None and d.recorded_events == 4
    assert "no difference" in render(d)


def test_the_venues_own_ids_are_not_decisions() -> None:
    other = [_order(1, 100), _fill(1, 105, 1.1, venue="PAPER-9"), *LOG[2:]]
    assert diff_logs(LOG, other).clean


def test_a_different_fill_price_is_the_first_divergence_with_its_fields() -> None:
    other = [_order(1, 100), _fill(1, 105, 1.1), _order(2, 200, "SELL"), _fill(2, 203, 1.25, side="SELL")]
    d = diff_logs(LOG, other)
    assert not d.clean and len(d.differences) == 1
    first = d.first
    assert first is not None and first.kind == "fill" and first.client_order_id == f"{CID}2"
    assert first.brain == "brain-trend" and first.data_ts_ns == 203
    assert first.fields() == [("price", 1.2, 1.25)]
    text = render(d)
    assert f"fill {CID}2 (brain brain-trend)" in text and "1.25" in text


def test_first_divergence_is_the_earliest_in_data_time_and_all_are_counted() -> None:
    other = [_order(1, 100, qty=5_000.0), _fill(1, 105, 1.1), _order(3, 150), _order(2, 200, "SELL")]
    d = diff_logs(LOG, other)
    kinds = [(x.kind, x.client_order_id, x.recorded is None, x.replayed is None) for x in d.differences]
    assert kinds == [
        ("order", f"{CID}1", False, False),  # quantity changed at 100
        ("order", f"{CID}3", True, False),  # only in the replay, at 150
        ("fill", f"{CID}2", False, True),  # only in the recording, at 203
    ]
    assert d.first is not None and ("qty", 10_000.0, 5_000.0) in d.first.fields()
    assert d.positions == {"EURUSD": (0.0, 10_000.0)}  # the recorded session is flat, the replay long
    assert "3 difference(s)" in render(d) and "final position EURUSD" in render(d)


def test_an_order_decided_earlier_in_the_replay_diverges_at_the_earlier_time() -> None:
    """The same client order id, decided at 200 in the recording and at 180 in the replay: the runs part at 180
    (seen on a live recording: a changed parameter moved the decision one bar earlier)."""
    other = [LOG[0], LOG[1], _order(2, 180, "SELL"), LOG[3]]
    d = diff_logs(LOG, other)
    assert d.first is not None and d.first.client_order_id == f"{CID}2" and d.first.data_ts_ns == 180
    assert ("data_ts_ns", 200, 180) in d.first.fields()
    later = [LOG[0], LOG[1], _order(2, 230, "SELL"), LOG[3]]
    d = diff_logs(LOG, later)
    assert d.first is not None and d.first.data_ts_ns == 200  # the recording's, when it is the earlier


def test_the_horizon_cuts_both_logs_per_symbol() -> None:
    longer = [*LOG, _order(3, 900), _fill(3, 905, 1.3)]
    assert diff_logs(LOG, longer, {"EURUSD": 500}).clean
    assert not diff_logs(LOG, longer, {"EURUSD": 1000}).clean
    assert not diff_logs(LOG, longer, {"GBPUSD": 500}).clean  # another symbol's horizon does not cut EURUSD


def _ticks(ts: list[int]) -> np.ndarray:
    t = np.zeros(len(ts), TICK_DTYPE)
    t["ts"], t["bid"], t["ask"] = ts, 1.0, 1.1
    return t


def _recording(root: Path) -> None:
    w = RecordingWriter(root)
    w.add_ticks("EURUSD", _ticks([1, 2, 3]), Header(HISTORY, 0, 0, 0))
    w.add_ticks("EURUSD", _ticks([10, 11]), Header("router", 1, 0, 0))
    w.add_ticks("GBPUSD", _ticks([9, 12]), Header("router", 1, 0, 0))
    w.add_ticks("EURUSD", _ticks([13]), Header("router", 2, 0, 0))
    w.close()


def test_the_recording_source_replays_recorded_messages_in_order_and_serves_history(tmp_path: Path) -> None:
    _recording(tmp_path)
    src = RecordingSource(RecordedTicks(tmp_path), "max", batch_max=3)
    assert src.symbols == ("EURUSD", "GBPUSD")
    runs = []
    while not (poll := src.poll(0)).done:
        runs.append([(s, t["ts"].tolist()) for s, t in poll.runs])
    assert runs == [
        [("EURUSD", [10, 11])],
        [("GBPUSD", [9, 12]), ("EURUSD", [13])],
    ]  # whole messages, <= 3 ticks
    assert src.history("EURUSD", 0, 11).tolist() == src.history("eurusd", 0, 11).tolist()
    assert src.history("EURUSD", 0, 11)["ts"].tolist() == [1, 2, 3, 10]
    assert src.status()["progress"]["ticks_done"] == 5
    with pytest.raises(DataSourceError, match="no recorded ticks"):
        RecordedTicks(tmp_path, ["USDJPY"])


def test_a_capped_sequencer_holds_the_venue_where_a_recorded_order_found_it() -> None:
    out: list[list[int]] = []
    seq = QuoteSequencer(["b"], lambda s, t, o: out.append(t["ts"].tolist()))
    seq.cap("X", 105)
    seq.on_ticks("X", _ticks(list(range(100, 110))))
    seq.on_watermark("b", "X", 200)  # the brain is far ahead: only the cap holds the venue
    assert out == [[100, 101, 102, 103, 104, 105]]
    seq.cap("X", None)
    assert out[-1] == [106, 107, 108, 109]
    seq2 = QuoteSequencer(["b"], lambda s, t, o: out.append(t["ts"].tolist()))
    seq2.on_ticks("X", _ticks([1, 2, 3]))
    seq2.release_until("X", 2)  # a recorded venue that was further than the brains allowed
    assert out[-1] == [1, 2]


class _Agent:
    name = "trader"

    def every(self, *_a: object) -> None:
        return None

    def send(self, *_a: object, **_k: object) -> None:
        return None

    def at_pass_end(self, _fn: object) -> None:
        return None


def test_the_trader_gate_replays_recorded_venue_positions_and_drops_orders_never_sent() -> None:
    from tradehive.eventtime import TraderGate

    out: list[list[int]] = []
    positions = {"c1": ("X", 105, 101), "c2": ("X", 105, 102), "c3": ("X", 108, 107)}
    gate = TraderGate(
        _Agent(), ["b"], lambda s, t, o: out.append(t["ts"].tolist()), "events", positions=positions
    )
    gate.on_ticks("X", _ticks(list(range(100, 110))), 0)

    def submit() -> None:  # what the trader runs once the decision is due
        gate.before_order(
            "c1", "X"
        )  # the recorded venue had seen up to 105 when c1 came (a quote let through)
        out.append([-1])
        gate.after_order("c1", "X")

    gate.on_decision("b", "X", 101, "c1", submit)
    assert out == [[100], [101, 102, 103, 104, 105], [-1]]  # the quotes before it, up to 105, then the order
    gate.on_watermark("b", "X", 109)  # the brain went past c2's decision (102) without sending it: dropped
    st = gate.status()
    assert st["positions_dropped"] == 2 and st["positions_missed"] == 0  # c2 and c3 (107) both passed
    assert out[-1] == [106, 107, 108, 109]
