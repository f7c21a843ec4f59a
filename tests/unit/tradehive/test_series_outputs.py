"""tradehive.series.IndicatorOutputs: what a brain publishes after closed bars, serves as history and recomputes
after a parameter change (no agent needed: the send callback collects the frames)."""

from __future__ import annotations

import numpy as np
import pytest
from tradehive import series


def _outputs() -> tuple[series.IndicatorOutputs, list[tuple[str, series.IndicatorBatch]]]:
    sent: list[tuple[str, series.IndicatorBatch]] = []

    def send(topic: str, data: bytes) -> None:
        batch = series.decode(data)
        assert isinstance(batch, series.IndicatorBatch)
        sent.append((topic, batch))

    return series.IndicatorOutputs("b1", "1m", {"fast": "price", "atr": "sub"}, send, capacity=16), sent


def test_publish_sends_only_new_rows_and_answers_history() -> None:
    out, sent = _outputs()
    for i in range(3):
        out.buffer.record("EURUSD", i, (float(i), -float(i)))
    out.publish("EURUSD")
    out.publish("EURUSD")  # nothing new: nothing sent
    assert len(sent) == 1 and sent[0][0] == "ind.b1.EURUSD"
    batch = sent[0][1]
    assert batch.names == ["fast", "atr"] and batch.panes == {"fast": "price", "atr": "sub"}
    assert batch.ts_array().tolist() == [0, 1, 2] and not batch.reset
    out.buffer.record("EURUSD", 3, (3.0, -3.0))
    out.publish("EURUSD")
    assert sent[-1][1].ts_array().tolist() == [3]
    reply = series.decode(
        out.answer(series.encode(series.IndicatorHistoryRequest(symbol="eurusd", last_n=2)))
    )
    assert isinstance(reply, series.IndicatorBatch) and reply.reset and reply.symbol == "EURUSD"
    assert reply.ts_array().tolist() == [2, 3] and np.array_equal(reply.values_array()[:, 1], [-2.0, -3.0])


def test_bad_history_request_raises_series_error() -> None:
    out, _ = _outputs()
    with pytest.raises(series.SeriesError):
        out.answer(b"\x93garbage")
    with pytest.raises(series.SeriesError, match="unexpected request"):
        out.answer(series.encode(series.IndicatorError(reason="not a request")))


def test_recompute_publishes_the_whole_series_as_a_reset() -> None:
    out, sent = _outputs()
    for i in range(5):
        out.buffer.record("EURUSD", i, (1.0, 1.0))
    out.publish("EURUSD")

    def rewarm(symbol: str) -> None:
        for i in range(2, 5):
            out.buffer.record(symbol, i, (2.0, 2.0))

    out.recompute(rewarm)
    topic, batch = sent[-1]
    assert batch.reset and batch.ts_array().tolist() == [2, 3, 4]
    assert batch.values_array()[:, 0].tolist() == [2.0, 2.0, 2.0]
