"""The ZeroMQ wire format (documented in docs/wire-format.md).

Every message is a multipart ``[topic, header, payload]``:

* ``topic`` — UTF-8 bytes, first so that SUB prefix filtering works (empty for non-PUB patterns).
* ``header`` — a msgpack map ``{"v": 1, "k": kind, "t": type, "p": sender, "s": seq, "ns": send_ns}`` plus, for
  numpy payloads, ``"d"`` (dtype description) and ``"sh"`` (shape).
* ``payload`` — one frame whose encoding ``kind`` names: ``"n"`` raw numpy buffer (sent zero-copy, received as a
  read-only array over the frame), ``"b"`` opaque bytes, ``"m"`` msgpack (plain data only: no extension types,
  so no code can travel), ``"e"`` an error reply (msgpack string).

Nothing here ever unpickles: msgpack with ``strict_map_key`` and no ext hook decodes data, never objects.
"""

from __future__ import annotations

import time
from typing import Any, Final

import msgpack
import numpy as np
import zmq

from agentcore.errors import WireError

WIRE_VERSION: Final = 1
KIND_NUMPY: Final = "n"
KIND_BYTES: Final = "b"
KIND_MSGPACK: Final = "m"
KIND_ERROR: Final = "e"
_KINDS: Final = frozenset({KIND_NUMPY, KIND_BYTES, KIND_MSGPACK, KIND_ERROR})

_packb = msgpack.Packer(use_bin_type=True).pack
_dtype_cache: dict[Any, np.dtype] = {}


class Message:
    """One received message. Immutable by convention (slots, no setters are used by agentcore)."""

    __slots__ = ("topic", "kind", "type", "sender", "seq", "sent_ns", "data", "nbytes")

    def __init__(
        self, topic: str, kind: str, type_: str, sender: str, seq: int, sent_ns: int, data: Any, nbytes: int
    ) -> None:
        self.topic = topic
        self.kind = kind
        self.type = type_
        self.sender = sender
        self.seq = seq
        self.sent_ns = sent_ns
        self.data = data
        self.nbytes = nbytes

    def __repr__(self) -> str:
        return (
            f"Message(topic={self.topic!r}, type={self.type!r}, sender={self.sender!r}, seq={self.seq}, "
            f"kind={self.kind!r}, nbytes={self.nbytes})"
        )


def _dtype_descr(dtype: np.dtype) -> Any:
    if dtype.fields is None:
        return dtype.str
    if dtype.hasobject:
        raise WireError("unsupported payload", "object dtypes cannot travel on the wire")
    return [list(f) for f in dtype.descr]


def _dtype_from_descr(descr: Any) -> np.dtype:
    key = descr if isinstance(descr, str) else repr(descr)
    cached = _dtype_cache.get(key)
    if cached is not None:
        return cached
    try:
        dtype = np.dtype(descr) if isinstance(descr, str) else np.dtype([tuple(f) for f in descr])
    except (TypeError, ValueError) as exc:
        raise WireError("bad dtype", repr(descr)) from exc
    if dtype.hasobject:
        raise WireError("bad dtype", "object dtypes are refused")
    _dtype_cache[key] = dtype
    return dtype


def encode(
    topic: str | bytes, data: Any, *, sender: str, seq: int, type_: str = "", kind: str | None = None
) -> list[Any]:
    """Build the frames for ``data``; numpy arrays are returned as themselves (sent zero-copy by pyzmq)."""
    btopic = topic if isinstance(topic, bytes) else topic.encode()
    header: dict[str, Any] = {"v": WIRE_VERSION, "t": type_, "p": sender, "s": seq, "ns": time.time_ns()}
    if isinstance(data, np.ndarray):
        if not data.flags.c_contiguous:
            data = np.ascontiguousarray(data)
        header["k"] = KIND_NUMPY
        header["d"] = _dtype_descr(data.dtype)
        header["sh"] = list(data.shape)
        payload: Any = data
    elif kind == KIND_ERROR:
        header["k"] = KIND_ERROR
        payload = _packb(str(data))
    elif isinstance(data, bytes | bytearray | memoryview):
        header["k"] = KIND_BYTES
        payload = data
    else:
        header["k"] = KIND_MSGPACK
        try:
            payload = _packb(data)
        except (TypeError, ValueError) as exc:
            raise WireError("unserialisable payload", type(data).__name__) from exc
    return [btopic, _packb(header), payload]


def decode(frames: list[zmq.Frame] | list[bytes]) -> Message:
    """Parse received frames; raises :class:`WireError` (with a bounded ``reason``) on anything malformed."""
    if len(frames) != 3:
        raise WireError("frame count", f"expected 3 frames, got {len(frames)}")
    f_topic, f_header, f_payload = frames
    b_topic = f_topic.bytes if isinstance(f_topic, zmq.Frame) else f_topic
    b_header = f_header.bytes if isinstance(f_header, zmq.Frame) else f_header
    try:
        header = msgpack.unpackb(b_header, raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises several unrelated types on garbage
        raise WireError("bad header", "header is not msgpack") from exc
    if not isinstance(header, dict):
        raise WireError("bad header", "header is not a map")
    version = header.get("v")
    if version != WIRE_VERSION:
        raise WireError("version", f"wire version {version!r}, this side speaks {WIRE_VERSION}")
    kind = header.get("k")
    if kind not in _KINDS:
        raise WireError("bad header", f"unknown payload kind {kind!r}")
    try:
        topic = b_topic.decode()
        seq = int(header["s"])
        sent_ns = int(header["ns"])
        sender = str(header["p"])
        type_ = str(header.get("t", ""))
    except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
        raise WireError("bad header", "missing or mistyped field") from exc
    buf = f_payload.buffer if isinstance(f_payload, zmq.Frame) else f_payload
    nbytes = len(buf) if not isinstance(buf, memoryview) else buf.nbytes
    data = _decode_payload(kind, header, buf)
    return Message(topic, kind, type_, sender, seq, sent_ns, data, nbytes)


def _decode_payload(kind: str, header: dict[str, Any], buf: Any) -> Any:
    if kind == KIND_NUMPY:
        dtype = _dtype_from_descr(header.get("d"))
        shape = header.get("sh")
        try:
            arr = np.frombuffer(buf, dtype=dtype)
            return arr.reshape(shape) if shape is not None and len(shape) != 1 else arr
        except (TypeError, ValueError) as exc:
            raise WireError("bad payload", "buffer does not match dtype/shape") from exc
    if kind == KIND_BYTES:
        return bytes(buf)
    try:
        value = msgpack.unpackb(buf, raw=False, strict_map_key=False)
    except Exception as exc:
        raise WireError("bad payload", "payload is not msgpack") from exc
    return value
