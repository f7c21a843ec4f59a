"""Natural batching: a batch handler gets the consecutive messages waiting for it, in order, as one list."""

from __future__ import annotations

from typing import Any

import msgpack
import numpy as np
import pytest
import zmq
from agentcore import Message, batch_handler, wire
from agentcore.errors import ConfigError
from agentcore.metrics import SocketStats
from agentcore.sockets import BATCH_MAX, Channel, TopicHandlers

pytestmark = pytest.mark.timeout(60)


@pytest.fixture()
def pair() -> Any:
    ctx = zmq.Context()
    push, pull = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
    push.sndhwm = pull.rcvhwm = 0
    push.bind("inproc://batch-test")
    pull.connect("inproc://batch-test")
    yield push, pull
    push.close(linger=0)
    pull.close(linger=0)
    ctx.term()


def channels(push: Any, pull: Any, handlers: dict[str, Any], errors: list[str]) -> tuple[Channel, Channel]:
    out = Channel(push, "out", "PUSH", SocketStats("out", "PUSH"), "src", None, lambda *_: None)
    inp = Channel(pull, "in", "PULL", SocketStats("in", "PULL"), "dst", TopicHandlers(handlers),
                  lambda where, exc: errors.append(type(exc).__name__))  # fmt: skip
    return out, inp


def drain_all(inp: Channel, pull: Any, want: int) -> int:
    got = 0
    for _ in range(200):
        got += inp.drain()
        if got >= want:
            return got
        pull.poll(50)
    return got


def test_batches_keep_order_and_flush_before_another_handler(pair: Any) -> None:
    push, pull = pair
    calls: list[tuple[str, Any]] = []

    @batch_handler
    def ticks(msgs: list[Message]) -> None:
        calls.append(("batch", [m.data["i"] for m in msgs]))

    def bar(msg: Message) -> None:
        calls.append(("one", msg.data["i"]))

    errors: list[str] = []
    out, inp = channels(push, pull, {"tick.": ticks, "bar.": bar}, errors)
    topics = ["tick.A"] * 3 + ["bar.A"] + ["tick.B"] * 2 + ["bar.A"] * 2 + ["tick.A"]
    for i, topic in enumerate(topics):
        assert out.send({"i": i}, topic)
    assert drain_all(inp, pull, len(topics)) == len(topics)
    assert calls == [
        ("batch", [0, 1, 2]),
        ("one", 3),
        ("batch", [4, 5]),
        ("one", 6),
        ("one", 7),
        ("batch", [8]),
    ]
    assert inp.stats.received == len(topics) and errors == []
    assert sum(inp.stats.handler_seconds.counts) == len(calls)  # one timing per handler call


def test_a_batch_is_capped_and_numpy_payloads_stay_zero_copy(pair: Any) -> None:
    push, pull = pair
    sizes: list[int] = []
    total = [0.0]

    @batch_handler
    def on_batch(msgs: list[Message]) -> None:
        sizes.append(len(msgs))
        total[0] += sum(float(m.data.sum()) for m in msgs)

    out, inp = channels(push, pull, {"": on_batch}, [])
    n = BATCH_MAX + 10
    for i in range(n):
        assert out.send(np.full(3, float(i)), "t")
    assert drain_all(inp, pull, n) == n
    assert max(sizes) == BATCH_MAX and sum(sizes) == n
    assert total[0] == 3 * sum(range(n))


def test_malformed_messages_inside_a_batch_are_counted_and_skipped(pair: Any) -> None:
    push, pull = pair
    seen: list[int] = []

    @batch_handler
    def on_batch(msgs: list[Message]) -> None:
        seen.extend(m.data for m in msgs)

    errors: list[str] = []
    out, inp = channels(push, pull, {"": on_batch}, errors)
    out.send(1, "t")
    push.send_multipart([b"t", msgpack.packb({"v": 1})])  # two frames
    out.send(2, "t")
    push.send_multipart([b"t", bytes(wire.encode("t", 0, sender="x", seq=0)[1]), b"\xc0", b"extra"])
    push.send(b"lonely")  # one frame
    out.send(3, "t")
    assert drain_all(inp, pull, 6) == 6
    assert seen == [1, 2, 3]
    assert inp.stats.malformed == {"frame count": 3}
    assert errors == ["WireError"] * 3


def test_a_failing_batch_is_counted_once_and_the_loop_goes_on(pair: Any) -> None:
    push, pull = pair
    seen: list[list[int]] = []

    @batch_handler
    def on_batch(msgs: list[Message]) -> None:
        data = [m.data for m in msgs]
        if -1 in data:
            raise ValueError("bad tick")
        seen.append(data)

    errors: list[str] = []
    out, inp = channels(push, pull, {"": on_batch}, errors)
    for v in (1, -1, 2):
        out.send(v, "t")
    assert drain_all(inp, pull, 3) == 3
    out.send(5, "t")
    assert drain_all(inp, pull, 1) == 1
    assert seen == [[5]]
    assert inp.stats.handler_errors == 1 and errors == ["ValueError"]


def test_reply_sockets_refuse_batch_handlers() -> None:
    ctx = zmq.Context()
    rep = ctx.socket(zmq.REP)
    try:
        with pytest.raises(ConfigError, match="batch"):
            Channel(rep, "api", "REP", SocketStats("api", "REP"), "x",
                    TopicHandlers({"": batch_handler(lambda msgs: None)}), lambda *_: None)  # fmt: skip
    finally:
        rep.close(linger=0)
        ctx.term()


def test_bound_methods_can_be_batch_handlers() -> None:
    class Holder:
        def __init__(self) -> None:
            self.got: list[int] = []

        @batch_handler
        def take(self, msgs: list[Message]) -> None:
            self.got.extend(m.seq for m in msgs)

    h = Holder()
    table = TopicHandlers({"": h.take})
    assert table.entry("any") == (h.take, True)
    assert TopicHandlers({"": lambda m: None}).entry("x")[1] is False
