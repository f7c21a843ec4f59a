"""A FIX venue in a process of its own, driven through stdin/stdout JSON lines (for kill/restart tests).

``python -m tradehive_fix.testing.driver '<FixSessionConfig as JSON>'`` starts the venue, prints
``{"ready": ...}`` once logged on, then reads one command per line: ``{"op": "submit", "order": {...}}``
(a SubmitOrder as msgspec JSON), ``{"op": "cancel", ...}``, ``{"op": "status"}``, and prints every order event as
``{"event": {...}}`` and each status as ``{"status": {...}}``.
"""

from __future__ import annotations

import sys
import threading
import time

import msgspec
import structlog
from marketcore.orders import CancelOrder, SubmitOrder

from tradehive_fix.config import FixSessionConfig
from tradehive_fix.venue import FixVenue

_out_lock = threading.Lock()


def _print(obj: object) -> None:
    with _out_lock:
        sys.stdout.write(msgspec.json.encode(obj).decode() + "\n")
        sys.stdout.flush()


def main() -> int:
    # stdout carries the JSON-line protocol only: the venue's logs go to stderr. (Unconfigured structlog prints to
    # stdout, and print() writes a message and its newline separately, so a protocol line written by another thread
    # in between was glued behind a log line and never recognised: the kill/restart test's rare 90 s hang.)
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=sys.stderr))
    cfg = msgspec.json.decode(sys.argv[1].encode(), type=FixSessionConfig)
    venue = FixVenue(cfg)

    def drain() -> None:
        for e in venue.poll_events():
            _print({"event": msgspec.to_builtins(e)})

    venue.set_event_listener(drain)
    venue.start()
    ok = venue.wait_logon(20)
    _print({"ready": ok, "status": venue.status(), "open_orders": msgspec.to_builtins(venue.open_orders()),
            "positions": venue.positions()})  # fmt: skip
    for line in sys.stdin:
        cmd = msgspec.json.decode(line.encode())
        now = time.time_ns()
        if cmd["op"] == "submit":
            events = venue.submit(msgspec.convert(cmd["order"], SubmitOrder), now)
        elif cmd["op"] == "cancel":
            events = venue.cancel(msgspec.convert(cmd["order"], CancelOrder), now)
        else:
            events = []
        for e in events:
            _print({"event": msgspec.to_builtins(e)})
        _print({"status": venue.status(), "open_orders": msgspec.to_builtins(venue.open_orders()),
                "positions": venue.positions()})  # fmt: skip
    venue.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
