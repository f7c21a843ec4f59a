"""The wire format: round trips of every payload kind, zero-copy numpy, and malformed frames."""

from __future__ import annotations

from typing import Any

import msgpack
import numpy as np
import pytest
import zmq
from agentcore import wire
from agentcore.errors import WireError
from agentcore.testing import make_array

pytestmark = pytest.mark.timeout(30)

TICK_LIKE = np.dtype([("ts", "<i8"), ("bid", "<f8"), ("ask", "<f8"), ("bid_size", "<f4"), ("ask_size", "<f4"),
                      ("flags", "u1")])  # fmt: skip


def roundtrip(data: Any, topic: str = "t", **kw: Any) -> wire.Message:
    frames = wire.encode(topic, data, sender="me", seq=7, type_="ty", **kw)
    return wire.decode([f if isinstance(f, bytes) else bytes(memoryview(f)) for f in frames])


@pytest.mark.parametrize(
    "data",
    [None, 0, -(2**63), 2**64 - 1, 1.5, "héllo", "", [1, "a", None], {"a": {"b": [1.0, 2]}, "n": None}, True,
     {"bytes": b"\x00\xff"}, []],
)  # fmt: skip
def test_msgpack_round_trip(data: Any) -> None:
    msg = roundtrip(data, topic="tick.eurusd")
    assert msg.data == data and msg.kind == wire.KIND_MSGPACK
    assert (msg.topic, msg.type, msg.sender, msg.seq) == ("tick.eurusd", "ty", "me", 7)
    assert msg.sent_ns > 0 and msg.nbytes == len(msgpack.packb(data, use_bin_type=True))


@pytest.mark.parametrize("data", [b"", b"\x00\x01raw", bytearray(b"ba"), memoryview(b"mv")])
def test_bytes_round_trip(data: Any) -> None:
    msg = roundtrip(data)
    assert msg.kind == wire.KIND_BYTES and msg.data == bytes(data) and isinstance(msg.data, bytes)


def test_error_kind_round_trip() -> None:
    msg = roundtrip("ValueError: bad", kind=wire.KIND_ERROR)
    assert msg.kind == wire.KIND_ERROR and msg.data == "ValueError: bad"


@pytest.mark.parametrize(
    "arr",
    [
        np.arange(10, dtype="<f8"),
        np.arange(12, dtype="<i4").reshape(3, 4),
        np.arange(24, dtype="<u2").reshape(2, 3, 4),
        np.arange(5, dtype=">f8"),
        np.zeros(0, dtype="<f8"),
        np.array(3.5),
        np.zeros(4, dtype=TICK_LIKE),
        make_array("ticks", 100),
        np.arange(6, dtype="<i8").reshape(2, 3).T,  # not C-contiguous: sent as a contiguous copy
        np.array([b"ab", b"cd"], dtype="S2"),
        np.array(["x", "yz"], dtype="<U2"),
    ],
    ids=lambda a: f"{a.dtype.str}{list(a.shape)}",
)
def test_numpy_round_trip(arr: np.ndarray) -> None:
    msg = roundtrip(arr)
    assert msg.kind == wire.KIND_NUMPY
    assert isinstance(msg.data, np.ndarray)
    assert msg.data.dtype == arr.dtype and msg.data.shape == arr.shape
    np.testing.assert_array_equal(msg.data, arr)
    assert msg.nbytes == arr.nbytes


def test_tick_dtype_of_marketcore_round_trips() -> None:
    schema = pytest.importorskip("marketcore.schema")
    arr = np.zeros(3, dtype=schema.TICK_DTYPE)
    for i, name in enumerate(arr.dtype.names):
        arr[name] = i + 1
    msg = roundtrip(arr)
    assert msg.data.dtype == schema.TICK_DTYPE
    np.testing.assert_array_equal(msg.data, arr)


def test_numpy_received_zero_copy_over_the_frame() -> None:
    ctx = zmq.Context()
    try:
        a, b = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
        a.bind("inproc://wire-zero-copy")
        b.connect("inproc://wire-zero-copy")
        arr = make_array("ticks", 10_000)
        a.send_multipart(wire.encode("z", arr, sender="me", seq=1), copy=False)
        frames = b.recv_multipart(copy=False)
        msg = wire.decode(frames)
        payload = np.frombuffer(frames[2].buffer, dtype=np.uint8)
        assert msg.data.ctypes.data == payload.ctypes.data  # same memory: no copy was made
        assert np.shares_memory(msg.data, payload)
        np.testing.assert_array_equal(msg.data, arr)
    finally:
        ctx.destroy(linger=0)


def test_structured_object_dtype_refused_on_encode() -> None:
    with pytest.raises(WireError) as exc:
        wire.encode("t", np.zeros(2, dtype=[("a", "O")]), sender="me", seq=1)
    assert exc.value.reason == "unsupported payload"


def test_plain_object_dtype_refused_on_encode() -> None:
    with pytest.raises(WireError) as exc:
        wire.encode("t", np.array([1, "a"], dtype=object), sender="me", seq=1)
    assert exc.value.reason == "unsupported payload"


def test_unserialisable_msgpack_refused() -> None:
    with pytest.raises(WireError) as exc:
        wire.encode("t", object(), sender="me", seq=1)
    assert exc.value.reason == "unserialisable payload"


HEADER = {"v": 1, "k": "m", "t": "", "p": "x", "s": 1, "ns": 1}


def header(**kw: Any) -> bytes:
    h = {**HEADER, **kw}
    return msgpack.packb({k: v for k, v in h.items() if v is not ...})


@pytest.mark.parametrize(
    ("frames", "reason"),
    [
        ([b"t", b"\xc1\xc1", b""], "bad header"),  # garbage
        ([b"t", msgpack.packb([1, 2]), b""], "bad header"),  # not a map
        ([b"t", msgpack.packb({1: 2}), b""], "version"),  # a map, but no version
        ([b"t", header(v=2), msgpack.packb(1)], "version"),
        ([b"t", header(v=...), msgpack.packb(1)], "version"),
        ([b"t", header()], "frame count"),
        ([b"t"], "frame count"),
        ([], "frame count"),
        ([b"t", header(), b"", b"extra"], "frame count"),
        ([b"t", header(k="z"), b""], "bad header"),  # unknown kind
        ([b"t", header(s=...), msgpack.packb(1)], "bad header"),  # missing field
        ([b"t", header(s="abc"), msgpack.packb(1)], "bad header"),  # mistyped field
        ([b"\xff\xfe", header(), msgpack.packb(1)], "bad header"),  # topic not UTF-8
        ([b"t", header(), b"\xc1"], "bad payload"),  # payload not msgpack
        ([b"t", header(k="n", d="not-a-dtype", sh=[1]), b"12345678"], "bad dtype"),
        ([b"t", header(k="n", d="|O", sh=[1]), b"12345678"], "bad dtype"),  # object dtype refused
        ([b"t", header(k="n", d=[["a", "|O"]], sh=[1]), b"12345678"], "bad dtype"),
        ([b"t", header(k="n", d=[[1, 2, 3, 4, 5]], sh=[1]), b"12345678"], "bad dtype"),
        ([b"t", header(k="n", d="<f8", sh=[3]), b"1234567"], "bad payload"),  # not a multiple of itemsize
        ([b"t", header(k="n", d="<f8", sh=[2, 2]), b"12345678" * 3], "bad payload"),  # shape mismatch
        ([b"t", header(k="n", d="<f8", sh=[5]), b"12345678" * 3], "bad payload"),  # 1-D shape mismatch
        ([b"t", header(k="n", d="<f8", sh="xy"), b"12345678"], "bad payload"),
    ],
)
def test_malformed_frames(frames: list[bytes], reason: str) -> None:
    with pytest.raises(WireError) as exc:
        wire.decode(frames)
    assert exc.value.reason == reason
    assert isinstance(exc.value, Exception) and str(exc.value).startswith(reason)
