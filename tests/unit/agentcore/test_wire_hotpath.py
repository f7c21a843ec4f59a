"""The optimised wire/Channel paths keep the format and the checks (fast header, slow fallback, counters)."""

from __future__ import annotations

from typing import Any

import msgpack
import numpy as np
import pytest
import zmq
from agentcore import wire
from agentcore.errors import WireError
from agentcore.metrics import SocketStats
from agentcore.sockets import Channel, TopicHandlers

TICK = np.dtype([("ts", "<i8"), ("bid", "<f8"), ("ask", "<f8"), ("last", "<f8"), ("volume", "<f8")])


def test_fast_header_is_the_documented_msgpack_map() -> None:
    frames = wire.encode("tick", {"a": 1}, sender="src", seq=7, type_="Quote")
    header = msgpack.unpackb(frames[1])
    assert set(header) == {"v", "k", "t", "p", "s", "ns"}
    assert (header["v"], header["k"], header["t"], header["p"], header["s"]) == (1, "m", "Quote", "src", 7)
    assert header["ns"] > 1_600_000_000 * 10**9
    assert msgpack.unpackb(frames[2]) == {"a": 1}


@pytest.mark.parametrize(
    "data",
    [{"x": [1, 2.5, "s", None, b"b"]}, [1, 2], "text", 3, b"raw", np.arange(6, dtype="<f4").reshape(2, 3),
     np.zeros(4, dtype=TICK)],
)  # fmt: skip
def test_round_trip_every_kind(data: Any) -> None:
    msg = wire.decode(wire.encode("t", data, sender="p", seq=3))
    assert (msg.topic, msg.sender, msg.seq) == ("t", "p", 3)
    if isinstance(data, np.ndarray):
        assert msg.kind == wire.KIND_NUMPY and msg.data.dtype == data.dtype and np.array_equal(msg.data, data)
        assert msg.nbytes == data.nbytes
    else:
        assert msg.data == data


def test_headers_written_by_other_encoders_still_decode() -> None:
    """A header from plain msgpack (reordered keys, float seq, no type) takes the slow path and is coerced."""
    header = msgpack.packb({"ns": 5, "s": 4.0, "p": "other", "k": "m", "v": 1})
    msg = wire.decode([b"t", header, msgpack.packb({"ok": True})])
    assert (msg.seq, msg.sender, msg.type, msg.sent_ns, msg.data) == (4, "other", "", 5, {"ok": True})


@pytest.mark.parametrize(
    ("frames", "reason"),
    [
        ([b"", b"\xc1\xc1garbage", b"x"], "bad header"),
        ([b"", msgpack.packb({"v": 2, "k": "m"}), b""], "version"),
        ([b"", msgpack.packb({"v": 1, "k": "z", "p": "a", "s": 1, "ns": 1}), b""], "bad header"),
        ([b"", msgpack.packb({"v": 1, "k": "m", "p": "a"}), b""], "bad header"),
        ([b"", msgpack.packb([1, 2])], "frame count"),
        ([b"\xff", wire.encode("", 1, sender="a", seq=1)[1], msgpack.packb(1)], "bad header"),
        ([b"", wire.encode("", 1, sender="a", seq=1)[1], b"\xc1"], "bad payload"),
    ],
)
def test_malformed_reasons(frames: list[bytes], reason: str) -> None:
    with pytest.raises(WireError) as info:
        wire.decode(frames)
    assert info.value.reason == reason


def test_out_of_range_seq_falls_back_to_a_generic_header() -> None:
    assert wire.decode(wire.encode("", 1, sender="a", seq=-3)).seq == -3


@pytest.fixture()
def pair() -> Any:
    ctx = zmq.Context()
    push, pull = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
    push.bind("inproc://hot-test")
    pull.connect("inproc://hot-test")
    yield push, pull
    push.close(linger=0)
    pull.close(linger=0)
    ctx.term()


@pytest.mark.timeout(20)
def test_channel_counts_gaps_malformed_and_handler_errors(pair: Any) -> None:
    push, pull = pair
    seen: list[Any] = []
    errors: list[str] = []

    def handler(msg: wire.Message) -> None:
        if isinstance(msg.data, str) and msg.data == "boom":
            raise RuntimeError("boom")
        seen.append(
            (msg.topic, msg.seq, msg.data if not isinstance(msg.data, np.ndarray) else msg.data.sum())
        )

    out = Channel(push, "out", "PUSH", SocketStats("out", "PUSH"), "src", None, lambda *_: None)
    inp = Channel(pull, "in", "PULL", SocketStats("in", "PULL"), "dst", TopicHandlers({"": handler}),
                  lambda where, exc: errors.append(type(exc).__name__))  # fmt: skip
    assert out.send({"i": 1}, "a") and out.send({"i": 2}, "a") and out.send("boom", "b")
    out.next_seq("a")  # a message lost on the way: one gap on topic "a"
    assert out.send(np.arange(4.0), "a")
    push.send_multipart([b"", b"\xc1"])  # two frames: malformed
    push.send_multipart([b"a", out_header(), msgpack.packb(1), b"extra"])  # four frames: malformed
    got = 0
    for _ in range(200):
        got += inp.drain()
        if got >= 6:
            break
        pull.poll(50)
    assert got == 6
    assert seen == [("a", 1, {"i": 1}), ("a", 2, {"i": 2}), ("a", 4, 6.0)]
    st = inp.stats
    assert (st.received, st.gaps, st.handler_errors) == (4, 1, 1)
    assert st.malformed == {"frame count": 2}
    assert errors == ["RuntimeError", "WireError", "WireError"]
    assert out.stats.sent == 4 and out.stats.bytes_sent > 32


def out_header() -> bytes:
    return bytes(wire.encode("a", 1, sender="x", seq=0)[1])


@pytest.mark.parametrize("origin", [0, 1_800_000_000_000_000_123])
@pytest.mark.parametrize(
    "arr",
    [np.zeros(1, dtype=TICK), np.arange(5, dtype="<f8"), np.zeros(0, dtype=TICK), np.arange(3, dtype=">i2")],
)
def test_numpy_fast_header_is_the_generic_header_map(arr: np.ndarray, origin: int) -> None:
    """The cached-head header of a 1-D array decodes to the same map the generic path writes (ns aside)."""
    fast = msgpack.unpackb(wire.numpy_header("ticks", "feeder", 9, arr.dtype, arr.shape[0], origin))
    kind, _, extra = wire.encode_payload(arr)
    slow = msgpack.unpackb(wire.encode_header(kind, "ticks", "feeder", 9, extra, origin))
    assert fast.pop("ns") > 0 and slow.pop("ns") > 0
    assert fast == slow and ("o" in fast) == bool(origin)
    h = wire.decode_header_fast(wire.numpy_header("ticks", "feeder", 9, arr.dtype, arr.shape[0], origin))
    assert (h.k, h.t, h.p, h.s, h.o, h.sh) == ("n", "ticks", "feeder", 9, origin, [arr.shape[0]])


@pytest.mark.timeout(20)
def test_channel_sends_arrays_through_the_fast_header_and_refuses_object_arrays(pair: Any) -> None:
    push, pull = pair
    seen: list[wire.Message] = []
    out = Channel(push, "out", "PUSH", SocketStats("out", "PUSH"), "src", None, lambda *_: None)
    inp = Channel(pull, "in", "PULL", SocketStats("in", "PULL"), "dst", TopicHandlers({"": seen.append}),
                  lambda *_: None)  # fmt: skip
    ticks = np.zeros(3, dtype=TICK)
    ticks["ts"] = [1, 2, 3]
    with pytest.raises(WireError):
        out.send(np.array([object()], dtype=object), "a")  # refused before a sequence number is taken
    assert out.send(ticks, "a", type_="ticks", origin_ns=77) and out.send(ticks[::2], "a")  # strided: generic
    got = 0
    for _ in range(100):
        got += inp.drain()
        if got >= 2:
            break
        pull.poll(50)
    assert [m.seq for m in seen] == [1, 2] and inp.stats.gaps == 0
    assert seen[0].data.dtype == TICK and list(seen[0].data["ts"]) == [1, 2, 3] and seen[0].origin_ns == 77
    assert list(seen[1].data["ts"]) == [1, 3] and seen[0].type == "ticks"
