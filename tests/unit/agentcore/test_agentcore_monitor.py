"""The socket monitor's thread: idle when it has nothing to watch, and it still picks up sockets watched later."""

from __future__ import annotations

import threading
import time

import zmq
from agentcore.monitor import SocketMonitor


def test_monitor_with_nothing_watched_sleeps_and_then_reports_events() -> None:
    ctx = zmq.Context()
    events: list[tuple[str, int]] = []
    got = threading.Event()

    def on_event(alias: str, event: dict) -> None:
        events.append((alias, event["event"]))
        got.set()

    mon = SocketMonitor(ctx, on_event)
    try:
        cpu0 = time.process_time()
        time.sleep(0.5)  # an empty zmq.Poller returns at once: a spinning thread burns ~0.5 s of CPU here
        assert time.process_time() - cpu0 < 0.2, "the idle monitor thread spins"

        server = ctx.socket(zmq.PULL)
        mon.watch(server, "in", zmq.EVENT_ACCEPTED)
        port = server.bind_to_random_port("tcp://127.0.0.1")
        client = ctx.socket(zmq.PUSH)
        client.connect(f"tcp://127.0.0.1:{port}")
        assert got.wait(5.0), "no event from a socket watched after the thread started"
        assert events[0] == ("in", zmq.EVENT_ACCEPTED)
        client.close(linger=0)
        server.close(linger=0)
    finally:
        mon.stop()
        ctx.term()
