"""The pieces of an agent's main loop that are not sockets: timers and the cross-thread call channel."""

from __future__ import annotations

import heapq
import itertools
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import zmq

Callback = Callable[[], Any]


class Timers:
    """A heap of one-shot and periodic callbacks, driven by the loop (never by another thread)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int]] = []
        self._entries: dict[int, tuple[Callback, float | None]] = {}
        self._ids = itertools.count(1)

    def add(self, delay: float, fn: Callback, interval: float | None = None) -> int:
        if delay < 0 or (interval is not None and interval <= 0):
            raise ValueError("timer delay must be >= 0 and interval > 0")
        tid = next(self._ids)
        self._entries[tid] = (fn, interval)
        heapq.heappush(self._heap, (time.monotonic() + delay, tid))
        return tid

    def cancel(self, tid: int) -> bool:
        return self._entries.pop(tid, None) is not None

    def timeout_ms(self, cap_ms: int) -> int:
        while self._heap and self._heap[0][1] not in self._entries:
            heapq.heappop(self._heap)
        if not self._heap:
            return cap_ms
        wait = (self._heap[0][0] - time.monotonic()) * 1000.0
        return max(0, min(cap_ms, int(wait + 0.999)))

    def due(self) -> list[tuple[int, Callback, float]]:
        """Pop every due timer (re-arming periodic ones) and return ``(id, callback, lateness_s)``."""
        now = time.monotonic()
        out = []
        while self._heap and self._heap[0][0] <= now:
            when, tid = heapq.heappop(self._heap)
            entry = self._entries.get(tid)
            if entry is None:
                continue
            fn, interval = entry
            if interval is None:
                del self._entries[tid]
            else:
                nxt = when + interval
                heapq.heappush(self._heap, (nxt if nxt > now else now + interval, tid))
            out.append((tid, fn, now - when))
        return out


class ControlChannel:
    """Marshals calls from any thread into the loop thread through an ``inproc`` PULL socket.

    A caller enqueues ``(fn, args, future)`` and pokes the loop with one byte on its own thread-local PUSH
    socket (ZeroMQ sockets must not be shared between threads). The loop drains both and runs the calls.
    """

    def __init__(self, ctx: zmq.Context[Any], name: str) -> None:
        self._ctx = ctx
        self.endpoint = f"inproc://agentcore-control-{name}-{id(self)}"
        self.socket = ctx.socket(zmq.PULL)
        self.socket.linger = 0
        self.socket.bind(self.endpoint)
        self._queue: queue.SimpleQueue[
            tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any], Future[Any]]
        ]
        self._queue = queue.SimpleQueue()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._pushers: list[zmq.Socket[Any]] = []

    def _pusher(self) -> zmq.Socket[Any]:
        sock: zmq.Socket[Any] | None = getattr(self._local, "sock", None)
        if sock is None:
            sock = self._ctx.socket(zmq.PUSH)
            sock.linger = 0
            sock.connect(self.endpoint)
            self._local.sock = sock
            with self._lock:
                self._pushers.append(sock)
        return sock

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        self._queue.put((fn, args, kwargs, fut))
        try:
            self._pusher().send(b"\x01", zmq.NOBLOCK)
        except zmq.Again:
            pass  # the loop is already flooded with wake-ups; it will drain the queue anyway
        return fut

    def run_pending(self, on_error: Callable[[BaseException], None]) -> int:
        """Drain wake-ups and run queued calls in the calling (loop) thread; returns how many ran."""
        try:
            while True:
                self.socket.recv(zmq.NOBLOCK)
        except zmq.Again:
            pass
        n = 0
        while True:
            try:
                fn, args, kwargs, fut = self._queue.get_nowait()
            except queue.Empty:
                return n
            n += 1
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - delivered to the caller, and counted
                on_error(exc)
                fut.set_exception(exc)

    def fail_pending(self, exc: BaseException) -> None:
        while True:
            try:
                *_, fut = self._queue.get_nowait()
            except queue.Empty:
                return
            if fut.set_running_or_notify_cancel():
                fut.set_exception(exc)

    def close(self) -> None:
        with self._lock:
            for sock in self._pushers:
                sock.close(linger=0)
            self._pushers.clear()
        self.socket.close(linger=0)
