"""The optional origin stamp ``"o"`` in the wire header: only present when set, read back on every path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgpack
import numpy as np
import pytest
import zmq
from agentcore import wire
from agentcore.metrics import SocketStats
from agentcore.sockets import Channel, TopicHandlers

ORIGIN = 1_700_000_000_123_456_789


def test_no_origin_adds_no_bytes_and_decodes_as_zero() -> None:
    frames = wire.encode("t", {"a": 1}, sender="s", seq=1)
    assert "o" not in msgpack.unpackb(frames[1])
    assert wire.decode(frames).origin_ns == 0


def test_origin_on_the_fast_path_is_a_valid_seven_entry_map() -> None:
    plain = wire.encode("t", {"a": 1}, sender="s", seq=9, type_="T")[1]
    stamped = wire.encode("t", {"a": 1}, sender="s", seq=9, type_="T", origin_ns=ORIGIN)[1]
    header = msgpack.unpackb(stamped)
    assert header["o"] == ORIGIN and header["s"] == 9 and header["t"] == "T"
    assert len(stamped) == len(plain) + 11  # "o" key + uint64, nothing else
    msg = wire.decode([b"t", stamped, msgpack.packb({"a": 1})])
    assert (msg.origin_ns, msg.seq, msg.data) == (ORIGIN, 9, {"a": 1})


def test_origin_on_a_numpy_payload_and_from_a_foreign_encoder() -> None:
    msg = wire.decode(wire.encode("t", np.arange(3.0), sender="s", seq=2, origin_ns=ORIGIN))
    assert msg.origin_ns == ORIGIN and msg.data.tolist() == [0.0, 1.0, 2.0]
    header = msgpack.packb({"ns": 5, "s": 4, "p": "x", "k": "m", "v": 1, "o": 77.0})  # slow path coerces
    assert wire.decode([b"t", header, msgpack.packb(1)]).origin_ns == 77


@pytest.fixture
def pair() -> Iterator[tuple[Any, Any]]:
    ctx = zmq.Context()
    push, pull = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
    pull.bind("inproc://origin-test")
    push.connect("inproc://origin-test")
    yield push, pull
    push.close(linger=0)
    pull.close(linger=0)
    ctx.term()


def test_channel_send_carries_origin_to_the_handler(pair: tuple[Any, Any]) -> None:
    push, pull = pair
    seen: list[tuple[int, Any]] = []
    out = Channel(push, "out", "PUSH", SocketStats("out", "PUSH"), "src", None, lambda *_: None)
    handlers = TopicHandlers({"": lambda m: seen.append((m.origin_ns, m.data))})
    inp = Channel(pull, "in", "PULL", SocketStats("in", "PULL"), "dst", handlers, lambda *_: None)
    assert out.send({"i": 1}, "a", origin_ns=ORIGIN) and out.send({"i": 2}, "a")
    got = 0
    for _ in range(100):
        got += inp.drain()
        if got >= 2:
            break
        pull.poll(50)
    assert seen == [(ORIGIN, {"i": 1}), (0, {"i": 2})]
