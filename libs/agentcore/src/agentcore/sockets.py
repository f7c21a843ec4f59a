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
        self._seq_out: dict[str, int] = {}
        self._seq_in: dict[tuple[str, str], int] = {}

    # -- sending -------------------------------------------------------------------------------------------------
    def next_seq(self, topic: str) -> int:
        seq = self._seq_out.get(topic, 0) + 1
        self._seq_out[topic] = seq
        return seq

    def send(self, data: Any, topic: str = "", type_: str = "", kind: str | None = None, prefix: Any = None) -> bool:
        frames = wire.encode(topic, data, sender=self.sender, seq=self.next_seq(topic), type_=type_, kind=kind)
        if prefix is not None:
            frames = [prefix, *frames]
        try:
            self.sock.send_multipart(frames, zmq.NOBLOCK, copy=False)
        except zmq.Again:
            self.stats.dropped += 1
            return False
        self.stats.sent += 1
        payload = frames[-1]
        self.stats.bytes_sent += payload.nbytes if hasattr(payload, "nbytes") else len(payload)
        return True

    # -- receiving -----------------------------------------------------------------------------------------------
    def _track_seq(self, msg: Message) -> None:
        key = (msg.sender, msg.topic)
        last = self._seq_in.get(key)
        if last is not None and msg.seq != last + 1:
            if msg.seq > last + 1:
                self.stats.gaps += msg.seq - last - 1
            # msg.seq <= last: the publisher restarted (or duplicated): start counting afresh
        self._seq_in[key] = msg.seq

    def malformed(self, reason: str) -> None:
        self.stats.malformed[reason] = self.stats.malformed.get(reason, 0) + 1

    def drain(self) -> int:
        """Receive and dispatch what is queued (bounded per call); returns the number of messages taken."""
        sock, stats = self.sock, self.stats
        n = 0
        routed = self.pattern == "ROUTER"
        while n < DRAIN_MAX:
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                break
            n += 1
            ident = frames.pop(0) if routed and frames else None
            try:
                msg = wire.decode(frames)
            except WireError as exc:
                self.malformed(exc.reason)
                self._on_error(self.alias, exc)
                if self.pattern == "REP":  # a REP socket must answer or it is stuck
                    self._reply(None, exc, None)
                continue
            stats.received += 1
            stats.bytes_received += msg.nbytes
            if msg.seq:
                self._track_seq(msg)
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
        if self.pattern == "REP":
            self._reply(result, error, None)
        elif self.pattern == "ROUTER" and (result is not None or error is not None):
            self._reply(result, error, ident)

    def _reply(self, result: Any, error: BaseException | None, ident: Any) -> None:
        if error is not None:
            self.send(f"{type(error).__name__}: {error}", kind=wire.KIND_ERROR, prefix=ident)
        else:
            try:
                self.send(result, prefix=ident)
            except WireError as exc:
                self.send(f"reply not serialisable: {exc}", kind=wire.KIND_ERROR, prefix=ident)
