"""Socket patterns, handler resolution and per-message dispatch.

Everything about a handler (which one, for which topic prefix) is resolved when a socket is bound or connected
and cached per topic, never inspected per message: that is what keeps the receive path cheap.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import zmq

from agentcore import wire
from agentcore.errors import ConfigError, WireError
from agentcore.metrics import SocketStats
from agentcore.wire import Message

Handler = Callable[[Message], Any]
ErrorHook = Callable[[str, BaseException], None]

PATTERNS: dict[str, int] = {
    "PUB": zmq.PUB, "SUB": zmq.SUB, "PUSH": zmq.PUSH, "PULL": zmq.PULL,
    "REQ": zmq.REQ, "REP": zmq.REP, "DEALER": zmq.DEALER, "ROUTER": zmq.ROUTER,
}  # fmt: skip
PEER: dict[str, str] = {
    "PUB": "SUB", "SUB": "PUB", "PUSH": "PULL", "PULL": "PUSH",
    "REP": "REQ", "REQ": "REP", "ROUTER": "DEALER", "DEALER": "ROUTER",
}  # fmt: skip
RECEIVING = frozenset({"SUB", "PULL", "REP", "ROUTER", "DEALER"})
_MORE_NB = zmq.SNDMORE | zmq.NOBLOCK
_RCVMORE = int(zmq.RCVMORE)
# the backend's own getsockopt: pyzmq's public one wraps the option in an enum first, which costs more
# than the recv itself; RCVMORE is read once per frame, so this is most of the per-message overhead saved
_getsockopt: Callable[[Any, int], Any] = getattr(zmq.backend.Socket, "get", zmq.Socket.getsockopt)
DRAIN_MAX = 2048  # messages taken from one socket per loop turn before looking at the others


def check_pattern(pattern: str) -> str:
    p = pattern.upper()
    if p not in PATTERNS:
        raise ConfigError(f"unknown socket pattern {pattern!r}; one of {', '.join(PATTERNS)}")
    return p


class TopicHandlers:
    """Select a handler by the longest matching topic prefix; the choice is cached per topic."""

    def __init__(self, handlers: Mapping[str, Handler]) -> None:
        self._prefixes = sorted(handlers.items(), key=lambda kv: len(kv[0]), reverse=True)
        self._cache: dict[str, Handler | None] = {}

    def items(self) -> list[tuple[str, Handler]]:
        """``(prefix, handler)`` pairs, longest prefix first."""
        return list(self._prefixes)

    @property
    def prefixes(self) -> list[str]:
        return [p for p, _ in self._prefixes]

    def get(self, topic: str) -> Handler | None:
        try:
            return self._cache[topic]
        except KeyError:
            pass
        found = next((h for p, h in self._prefixes if topic.startswith(p)), None)
        if len(self._cache) < 100_000:
            self._cache[topic] = found
        return found


class Channel:
    """One socket of an agent under one alias, with its counters and (for receivers) its dispatcher."""

    def __init__(
        self,
        sock: zmq.Socket[Any],
        alias: str,
        pattern: str,
        stats: SocketStats,
        sender: str,
        handlers: TopicHandlers | None,
        on_error: ErrorHook,
    ) -> None:
        self.sock = sock
        self.alias = alias
        self.pattern = pattern
        self.stats = stats
        self.sender = sender
        self.handlers = handlers
        self.endpoints: list[str] = []
        self._on_error = on_error
        self.replies = pattern in ("REP", "ROUTER")
        self._payload_at = 3 if pattern == "ROUTER" else 2  # the payload frame's index (after a ROUTER ident)
        self._out: dict[str | bytes, list[Any]] = {}
        self._seq_in: dict[tuple[str, str], int] = {}

    # -- sending ---------------------------------------------------------------------------------------------
    def next_seq(self, topic: str) -> int:
        state = self._topic_out(topic)
        state[1] += 1
        return int(state[1])

    def _topic_out(self, topic: str | bytes) -> list[Any]:
        """``[topic bytes, last seq]`` of an outgoing topic: a send encodes no topic, allocates little."""
        state = self._out.get(topic)
        if state is None:
            btopic = topic.encode() if isinstance(topic, str) else bytes(topic)
            state = self._out[topic] = [btopic, 0]
        return state

    def send(
        self,
        data: Any,
        topic: str = "",
        type_: str = "",
        kind: str | None = None,
        prefix: Any = None,
        origin_ns: int = 0,
    ) -> bool:
        """Encode and queue one message without blocking; False (counted as dropped) on a full queue.

        ``origin_ns`` (non-zero) travels in the header as the data's origin stamp (see :mod:`agentcore.wire`).
        """
        kind_, payload, extra = wire.encode_payload(data, kind)
        state = self._out.get(topic) or self._topic_out(topic)
        seq = state[1] = state[1] + 1  # taken even if the send fails: the receiver sees the drop as a gap
        header = wire.encode_header(kind_, type_, self.sender, seq, extra, origin_ns)
        send = self.sock.send
        try:
            if prefix is not None:
                send(prefix, _MORE_NB)
            send(state[0], _MORE_NB)
        except zmq.Again:
            self.stats.dropped += 1
            return False
        send(header, _MORE_NB)  # once the first part is queued the others are too (multipart is atomic)
        if kind_ == wire.KIND_NUMPY:
            send(payload, zmq.NOBLOCK, copy=False)
            nbytes = payload.nbytes
        else:
            send(payload, zmq.NOBLOCK)
            nbytes = len(payload) if type(payload) is bytes else memoryview(payload).nbytes
        stats = self.stats
        stats.sent += 1
        stats.bytes_sent += nbytes
        return True

    # -- receiving -------------------------------------------------------------------------------------------
    def malformed(self, reason: str) -> None:
        self.stats.malformed[reason] = self.stats.malformed.get(reason, 0) + 1

    def _recv_frames(self) -> list[Any]:
        """One whole message; small frames as bytes, a numpy payload as a zero-copy ``zmq.Frame``."""
        sock = self.sock
        recv = sock.recv
        parts: list[Any] = [recv(zmq.NOBLOCK)]  # raises zmq.Again when nothing is queued
        at = self._payload_at
        while _getsockopt(sock, _RCVMORE):
            if len(parts) == at and wire.NUMPY_MARK in parts[-1]:
                parts.append(recv(zmq.NOBLOCK, copy=False))
            else:
                parts.append(recv(zmq.NOBLOCK))
        return parts

    def drain(self) -> int:
        """Receive and dispatch what is queued (bounded per call); returns the number of messages taken."""
        stats, seq_in, recv_frames, decode = self.stats, self._seq_in, self._recv_frames, wire.decode
        routed = self.pattern == "ROUTER"
        n = 0
        while n < DRAIN_MAX:
            try:
                frames = recv_frames()
            except zmq.Again:
                break
            n += 1
            ident = frames.pop(0) if routed else None
            try:
                msg = decode(frames)
            except WireError as exc:
                self.malformed(exc.reason)
                self._on_error(self.alias, exc)
                if self.pattern == "REP":  # a REP socket must answer or it is stuck
                    self._reply(None, exc, None)
                continue
            stats.received += 1
            stats.bytes_received += msg.nbytes
            seq = msg.seq
            if seq:
                key = (msg.sender, msg.topic)
                last = seq_in.get(key)
                if last is not None and seq > last + 1:
                    stats.gaps += seq - last - 1
                # seq <= last: the publisher restarted (or duplicated): start counting afresh
                seq_in[key] = seq
            self._dispatch(msg, ident)
        return n

    def _dispatch(self, msg: Message, ident: Any) -> None:
        handler = self.handlers.get(msg.topic) if self.handlers is not None else None
        result: Any = None
        error: BaseException | None = None
        if handler is not None:
            t0 = time.perf_counter()
            try:
                result = handler(msg)
            except Exception as exc:  # noqa: BLE001 - the loop survives its handlers
                error = exc
                self.stats.handler_errors += 1
                self._on_error(self.alias, exc)
            self.stats.handler_seconds.observe(time.perf_counter() - t0)
        if self.replies and (self.pattern == "REP" or result is not None or error is not None):
            self._reply(result, error, ident)

    def _reply(self, result: Any, error: BaseException | None, ident: Any) -> None:
        if error is not None:
            self.send(f"{type(error).__name__}: {error}", kind=wire.KIND_ERROR, prefix=ident)
        else:
            try:
                self.send(result, prefix=ident)
            except WireError as exc:
                self.send(f"reply not serialisable: {exc}", kind=wire.KIND_ERROR, prefix=ident)
