"""libzmq's socket monitor on an agent's sockets, read in one thread.

libzmq keeps one monitor per socket (``zmq_socket_monitor`` on a monitored socket replaces the first), so one
:class:`SocketMonitor` watches each socket for every event anyone needs and hands them to one callback: the
agent counts lost peers (``agentcore_peer_disconnects_total``), security counts failed handshakes.

What libzmq 4.3.5 reports when a peer sends a message over ``ZMQ_MAXMSGSIZE`` (checked with pyzmq 27, plain and
CURVE, ROUTER<-DEALER and PULL<-PUSH; docs/security.md has the evidence): the receiving side drops the connection
before allocating the message and emits ``EVENT_DISCONNECTED`` only, the same event as a peer closing or
crashing (the engine's ``protocol_error`` emits ``EVENT_HANDSHAKE_FAILED_*`` only while handshaking). The peer
reconnects by itself; the message is lost. The disconnect count is what can be counted.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

import structlog
import zmq

log = structlog.get_logger("agentcore.monitor")
EventFn = Callable[[str, dict[str, Any]], None]


class SocketMonitor:
    """Monitor sockets (``watch``) and call ``on_event(alias, event)`` from this monitor's thread.

    ``event`` is pyzmq's parsed monitor message (``event``, ``value``, ``endpoint``). The PAIR sockets live in
    the monitor's thread; a socket closed by its owner ends its monitor (``EVENT_MONITOR_STOPPED``)."""

    def __init__(self, ctx: zmq.Context[Any], on_event: EventFn, name: str = "agentcore-monitor") -> None:
        self.ctx, self.on_event = ctx, on_event
        self._new: queue.Queue[tuple[str, str]] = queue.Queue()
        self._done = threading.Event()
        self._n = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def watch(self, sock: zmq.Socket[Any], alias: str, events: int) -> None:
        """Start monitoring ``sock`` (call from the thread that owns it) for ``events`` (a mask)."""
        self._n += 1
        addr = f"inproc://agentcore-monitor-{id(self)}-{self._n}"
        sock.monitor(addr, events | zmq.EVENT_MONITOR_STOPPED)
        self._new.put((addr, alias))

    def _run(self) -> None:
        from zmq.utils.monitor import recv_monitor_message

        poller = zmq.Poller()
        pairs: dict[zmq.Socket[Any], str] = {}
        try:
            while not self._done.is_set():
                # an empty zmq.Poller returns at once: with nothing watched yet, wait on the queue instead (the
                # thread spun a core in every agent without sockets, starving its loop of the GIL)
                for addr, alias in self._adopt(block=not pairs):
                    pair = self.ctx.socket(zmq.PAIR)
                    pair.linger = 0
                    pair.connect(addr)
                    pairs[pair] = alias
                    poller.register(pair, zmq.POLLIN)
                if not pairs:
                    continue
                for sock, _ in poller.poll(100):
                    try:
                        event = recv_monitor_message(sock)
                    except (ValueError, IndexError):  # a malformed event: skip it, keep watching
                        continue
                    if event["event"] == zmq.EVENT_MONITOR_STOPPED:
                        poller.unregister(sock)
                        pairs.pop(sock, None)
                        sock.close(linger=0)
                        continue
                    try:
                        self.on_event(pairs[sock], event)
                    except Exception as exc:  # noqa: BLE001 - a failing callback must not end the monitor
                        log.error("monitor callback failed", alias=pairs[sock], error=repr(exc))
        except zmq.ZMQError:
            pass  # the context is terminating
        finally:
            for pair in pairs:
                pair.close(linger=0)

    def _adopt(self, block: bool) -> list[tuple[str, str]]:
        """The monitor endpoints queued by ``watch``; waits up to 0.1 s for the first when ``block``."""
        out: list[tuple[str, str]] = []
        try:
            if block:
                out.append(self._new.get(timeout=0.1))
            while True:
                out.append(self._new.get_nowait())
        except queue.Empty:
            return out

    def stop(self) -> None:
        self._done.set()
        self._thread.join(timeout=2)


__all__ = ["EventFn", "SocketMonitor"]
