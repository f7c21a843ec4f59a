"""Socket patterns, handler resolution and per-message dispatch.

Everything about a handler (which one, for which topic prefix, whether it takes batches) is resolved when a
socket is bound or connected and cached per topic, never inspected per message: that is what keeps the receive
path cheap.

The hot path calls pyzmq's backend socket methods directly (the public ``zmq.Socket`` wrappers add Python
frames per call): one ``send`` per frame (a multipart message is queued atomically once its first frame is;
pyzmq has no C-level multipart send: ``send_multipart`` is a Python loop over the same calls), one ``recv`` per
frame as a ``zmq.Frame`` whose ``more`` flag says whether the message goes on (so that a message with too few
or too many frames is counted as malformed without eating its neighbour). Measured (CPU time, a 3-frame
message, inproc): frames into bytes plus ``getsockopt(RCVMORE)`` after each costs 3.9 µs, mostly pyzmq's
per-call option enum; three ``Frame`` objects and their ``more`` 2.4 µs. Header and payload are decoded
straight from the frames' buffers (numpy payloads stay zero-copy).

**Natural batching.** :meth:`Channel.drain` takes everything queued on the socket (up to ``DRAIN_MAX``). A
handler marked with :func:`batch_handler` receives the consecutive messages it handles as one ``list`` (at most
``BATCH_MAX``) instead of one call per message: at low rates a batch is one message (latency stays per message),
at high rates the per-call cost is paid once per batch. Order is kept: a batch is delivered as soon as a message
for another handler comes next.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import numpy as np
import zmq

from agentcore import wire
from agentcore.errors import ConfigError, Refused, WireError
from agentcore.metrics import SocketStats
from agentcore.wire import Message

_perf = time.perf_counter

Handler = Callable[[Message], Any]
BatchHandler = Callable[[list[Message]], Any]
ErrorHook = Callable[[str, BaseException], None]
GapHook = Callable[[str, Message, "int | None"], None]

PATTERNS: dict[str, int] = {
    "PUB": zmq.PUB, "SUB": zmq.SUB, "PUSH": zmq.PUSH, "PULL": zmq.PULL,
    "REQ": zmq.REQ, "REP": zmq.REP, "DEALER": zmq.DEALER, "ROUTER": zmq.ROUTER,
}  # fmt: skip
PEER: dict[str, str] = {
    "PUB": "SUB", "SUB": "PUB", "PUSH": "PULL", "PULL": "PUSH",
    "REP": "REQ", "REQ": "REP", "ROUTER": "DEALER", "DEALER": "ROUTER",
}  # fmt: skip
RECEIVING = frozenset({"SUB", "PULL", "REP", "ROUTER", "DEALER"})
_NB = int(zmq.NOBLOCK)
_MORE_NB = int(zmq.SNDMORE | zmq.NOBLOCK)
# the backend's own methods: pyzmq's public ones add a Python frame per call
_Backend: Any = getattr(zmq, "backend", None)
_bsend: Callable[..., Any] = getattr(_Backend.Socket, "send", zmq.Socket.send)
_brecv: Callable[..., Any] = getattr(_Backend.Socket, "recv", zmq.Socket.recv)
_Again = zmq.Again
_ndarray = np.ndarray
DRAIN_MAX = 2048  # messages taken from one socket per loop turn before looking at the others
BATCH_MAX = 512  # messages handed to a batch handler in one call
_BATCH_ATTR = "__agentcore_batch__"
_F = TypeVar("_F", bound=Callable[..., Any])


def batch_handler(fn: _F) -> _F:
    """Mark ``fn`` as taking a ``list[Message]`` (the consecutive messages waiting for it) per call (a function
    or a method: its type is kept, so a decorated method still type-checks as one)."""
    target = getattr(fn, "__func__", fn)  # a bound method: mark the function
    setattr(target, _BATCH_ATTR, True)
    return fn


def is_batch_handler(fn: Any) -> bool:
    return bool(getattr(fn, _BATCH_ATTR, False))


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
        self._entries: dict[str, tuple[Any, bool]] = {}
        self.any_batch = any(is_batch_handler(h) for _, h in self._prefixes)

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

    def entry(self, topic: str) -> tuple[Any, bool]:
        """``(handler or None, takes batches)`` for ``topic`` (cached)."""
        try:
            return self._entries[topic]
        except KeyError:
            pass
        handler = self.get(topic)
        found = (handler, handler is not None and is_batch_handler(handler))
        if len(self._entries) < 100_000:
            self._entries[topic] = found
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
        on_gap: GapHook | None = None,
    ) -> None:
        self.sock = sock
        self.alias = alias
        self.pattern = pattern
        self.stats = stats
        self.sender = sender
        self.handlers = handlers
        self.endpoints: list[str] = []
        self._on_error = on_error
        self._on_gap = on_gap
        self.replies = pattern in ("REP", "ROUTER")
        self.replying_to: Any = None  # ROUTER: the peer whose request is being handled (for a deferred reply)
        self._payload_at = 3 if pattern == "ROUTER" else 2  # the payload frame's index (after a ROUTER ident)
        self._out: dict[str | bytes, list[Any]] = {}
        self._seq_in: dict[tuple[str, str], int] = {}
        self._topics: dict[bytes, str] = {}  # received topic frames, decoded once
        if self.replies and handlers is not None and handlers.any_batch:
            raise ConfigError(f"{alias}: a {pattern} socket answers each request: batch handlers cannot")

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
        state = self._out.get(topic) or self._topic_out(topic)
        payload: Any
        if type(data) is _ndarray and kind is None and data.ndim == 1 and data.flags.c_contiguous:
            kind_, payload = wire.KIND_NUMPY, data  # the common array: a cached header head, no dict
            seq = state[1] + 1  # taken once encoded (an object dtype raises), even if the send then fails
            header = wire.numpy_header(type_, self.sender, seq, data.dtype, data.shape[0], origin_ns)
            state[1] = seq
        else:
            kind_, payload, extra = wire.encode_payload(data, kind)
            seq = state[1] = state[1] + 1
            header = wire.encode_header(kind_, type_, self.sender, seq, extra, origin_ns)
        sock = self.sock
        try:
            if prefix is not None:
                _bsend(sock, prefix, _MORE_NB)
            _bsend(sock, state[0], _MORE_NB)
        except _Again:
            self.stats.dropped += 1
            return False
        _bsend(
            sock, header, _MORE_NB
        )  # once the first part is queued the others are too (multipart is atomic)
        if kind_ == wire.KIND_NUMPY:
            _bsend(sock, payload, _NB, False)  # zero-copy
            nbytes = payload.nbytes
        else:
            _bsend(sock, payload, _NB)
            nbytes = len(payload) if type(payload) is bytes else memoryview(payload).nbytes
        stats = self.stats
        stats.sent += 1
        stats.bytes_sent += nbytes
        return True

    # -- receiving -------------------------------------------------------------------------------------------
    def malformed(self, reason: str) -> None:
        self.stats.malformed[reason] = self.stats.malformed.get(reason, 0) + 1

    def _recv_frames(self) -> list[Any]:
        """One whole message as ``zmq.Frame`` objects (their ``more`` flag delimits it; no getsockopt)."""
        sock = self.sock
        frame = _brecv(sock, _NB, False)  # raises zmq.Again when nothing is queued
        parts: list[Any] = [frame]
        while frame.more:
            frame = _brecv(sock, _NB, False)
            parts.append(frame)
        return parts

    def _skip_rest(self) -> int:
        """Take the extra frames of a message that has too many (so that it is judged whole); their count."""
        n = 1
        while _brecv(self.sock, _NB, False).more:
            n += 1
        return n

    def drain(self) -> int:
        """Receive and dispatch what is queued (bounded per call); returns the number of messages taken."""
        if self.pattern in ("ROUTER", "REP"):
            return self._drain_replying()
        sock, stats, seq_in, on_gap = self.sock, self.stats, self._seq_in, self._on_gap
        handlers = self.handlers
        entry = handlers.entry if handlers is not None else None
        decode_header, decode_payload = wire.decode_header_fast, wire.decode_payload
        topics = self._topics
        batch: list[Message] = []
        batch_fn: Any = None
        n = received = nbytes_in = 0
        while n < DRAIN_MAX:
            try:
                f_topic = _brecv(sock, _NB, False)
            except _Again:
                break
            n += 1
            try:  # every frame a zmq.Frame: its ``more`` is far cheaper than a getsockopt(RCVMORE)
                if not f_topic.more:
                    raise WireError("frame count", "expected 3 frames, got 1")
                f_header = _brecv(sock, _NB, False)
                if not f_header.more:
                    raise WireError("frame count", "expected 3 frames, got 2")
                f_payload = _brecv(sock, _NB, False)
                if f_payload.more:
                    raise WireError("frame count", f"expected 3 frames, got {3 + self._skip_rest()}")
                h = decode_header(f_header)
                b_topic = f_topic.bytes
                topic = topics.get(b_topic)
                if topic is None:
                    topic = self._topic_in(b_topic)
                kind = h.k
                size = len(f_payload)
                msg = Message(topic, kind, h.t, h.p, h.s, h.ns, decode_payload(kind, h, f_payload), size, h.o)
            except WireError as exc:
                self.malformed(exc.reason)
                self._on_error(self.alias, exc)
                continue
            received += 1
            nbytes_in += size
            seq = h.s
            if seq:
                key = (h.p, topic)
                last = seq_in.get(key)
                if last is None:
                    if seq > 1 and on_gap is not None:  # joined a stream already running
                        if batch:  # what came before is handled before the hook
                            self._call(batch_fn, batch)
                            batch = []
                        self._gap(msg, None)
                elif seq > last + 1:
                    stats.gaps += seq - last - 1
                    if on_gap is not None:
                        if batch:
                            self._call(batch_fn, batch)
                            batch = []
                        self._gap(msg, last)
                # seq <= last: the publisher restarted (or duplicated): start counting afresh
                seq_in[key] = seq
            if entry is None:
                continue
            fn, takes_batch = entry(topic)
            if takes_batch:
                if fn is not batch_fn:
                    if batch:
                        self._call(batch_fn, batch)
                        batch = []
                    batch_fn = fn
                batch.append(msg)
                if len(batch) >= BATCH_MAX:
                    self._call(batch_fn, batch)
                    batch = []
                continue
            if batch:
                self._call(batch_fn, batch)
                batch, batch_fn = [], None
            if fn is not None:
                self._call(fn, msg)
        if batch:
            self._call(batch_fn, batch)
        stats.received += received
        stats.bytes_received += nbytes_in
        return n

    def _topic_in(self, f_topic: bytes) -> str:
        try:
            topic = f_topic.decode()
        except UnicodeDecodeError as exc:
            raise WireError("bad header", "missing or mistyped field") from exc
        if len(self._topics) < 100_000:
            self._topics[f_topic] = topic
        return topic

    def _call(self, fn: Any, arg: Any) -> Any:
        """Run a handler (one message or one batch), timing it; a failure is counted, logged and survived."""
        t0 = _perf()
        try:
            fn(arg)
        except Exception as exc:  # noqa: BLE001 - the loop survives its handlers
            self.stats.handler_errors += 1
            self._on_error(self.alias, exc)
        self.stats.handler_seconds.observe(_perf() - t0)

    def _drain_replying(self) -> int:
        """REP/ROUTER: one message at a time, each answered (a REP socket must answer or it is stuck)."""
        stats, seq_in, recv_frames, decode = self.stats, self._seq_in, self._recv_frames, wire.decode
        routed = self.pattern == "ROUTER"
        n = 0
        while n < DRAIN_MAX:
            try:
                frames = recv_frames()
            except zmq.Again:
                break
            n += 1
            ident = frames.pop(0).bytes if routed else None
            try:
                msg = decode(frames)
            except WireError as exc:
                self.malformed(exc.reason)
                self._on_error(self.alias, exc)
                if self.pattern == "REP":
                    self._reply(None, exc, None)
                continue
            stats.received += 1
            stats.bytes_received += msg.nbytes
            seq = msg.seq
            if seq:
                key = (msg.sender, msg.topic)
                last = seq_in.get(key)
                if last is None:
                    if seq > 1 and self._on_gap is not None:  # joined a stream already running
                        self._gap(msg, None)
                elif seq > last + 1:
                    stats.gaps += seq - last - 1
                    if self._on_gap is not None:
                        self._gap(msg, last)
                # seq <= last: the publisher restarted (or duplicated): start counting afresh
                seq_in[key] = seq
            self._dispatch(msg, ident)
        return n

    def _gap(self, msg: Message, last: int | None) -> None:
        """Tell the agent, before ``msg`` is handled, that messages before it were missed (``last``: the previous
        sequence number seen on its (sender, topic); None: the first message seen, numbered above 1)."""
        assert self._on_gap is not None
        try:
            self._on_gap(self.alias, msg, last)
        except Exception as exc:  # noqa: BLE001 - the loop survives its hooks
            self.stats.handler_errors += 1
            self._on_error(self.alias, exc)

    def last_seq(self, sender: str, topic: str) -> int | None:
        """The last sequence number received from ``sender`` on ``topic`` (None: nothing yet)."""
        return self._seq_in.get((sender, topic))

    def _dispatch(self, msg: Message, ident: Any) -> None:
        handler = self.handlers.get(msg.topic) if self.handlers is not None else None
        result: Any = None
        error: BaseException | None = None
        if handler is not None:
            t0 = _perf()
            self.replying_to = ident
            try:
                result = handler(msg)
            except Refused as exc:  # a refused request: answered with an error reply, not a failure
                error = exc
            except Exception as exc:  # noqa: BLE001 - the loop survives its handlers
                error = exc
                self.stats.handler_errors += 1
                self._on_error(self.alias, exc)
            self.replying_to = None
            self.stats.handler_seconds.observe(_perf() - t0)
        if self.replies and (self.pattern == "REP" or result is not None or error is not None):
            self._reply(result, error, ident)

    def reply_later(self) -> Callable[[Any], bool]:
        """In a ROUTER handler: a function that answers the request being handled later (the handler returns
        None now). Each call sends one reply to that peer; False when its queue refused it."""
        ident = self.replying_to
        if self.pattern != "ROUTER" or ident is None:
            raise ConfigError(f"{self.alias}: reply_later() is for a ROUTER handler, inside the handler")

        def reply(data: Any) -> bool:
            return self.send(data, prefix=ident)

        return reply

    def _reply(self, result: Any, error: BaseException | None, ident: Any) -> None:
        if isinstance(error, Refused):
            self.send(str(error), kind=wire.KIND_ERROR, prefix=ident)
        elif error is not None:
            self.send(f"{type(error).__name__}: {error}", kind=wire.KIND_ERROR, prefix=ident)
        else:
            try:
                self.send(result, prefix=ident)
            except WireError as exc:
                self.send(f"reply not serialisable: {exc}", kind=wire.KIND_ERROR, prefix=ident)
