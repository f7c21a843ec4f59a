"""Replay flow control: a feeder never runs further ahead of its slowest consumer than a window of data time.

Consumers (router, brains, trader, recorder) push :class:`~tradehive.protocol.Watermark` records to the feeder's
PULL socket ``flow``: a first one with ``ts_ns = 0`` when they are connected to everything they consume (so the
stream starts only once every consumer listens: nothing is lost to ZeroMQ's slow-joiner), then the data time up to
which they have handled everything. The router stamps its market stream with ``wm.<SYMBOL>`` messages after each
batch; a consumer that handled one has handled every message before it (PUB/SUB keeps order per connection).

A live source cannot be slowed: flow control is for replays (and the feeder ignores it for live sources).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from tradehive import protocol as p

FLOW_ALIAS = "flow"


class FlowGate:
    """The feeder's side: who must have joined, and how far each got."""

    def __init__(self, consumers: Iterable[str], window_ns: int, grace_s: float = 0.3) -> None:
        self.marks: dict[str, int | None] = dict.fromkeys(consumers)
        self.window_ns = window_ns
        self.grace_s = grace_s
        self._all_joined_at: float | None = None
        self.unknown = 0  # watermarks from agents not in the list (counted, ignored)

    @property
    def enabled(self) -> bool:
        return bool(self.marks)

    def on_watermark(self, wm: p.Watermark) -> None:
        if wm.agent not in self.marks:
            self.unknown += 1
            return
        prev = self.marks[wm.agent]
        self.marks[wm.agent] = wm.ts_ns if prev is None else max(prev, wm.ts_ns)
        if self._all_joined_at is None and all(v is not None for v in self.marks.values()):
            self._all_joined_at = time.monotonic()

    @property
    def started(self) -> bool:
        """Every consumer joined (and the subscriptions had ``grace_s`` to reach the publishers)."""
        if not self.marks:
            return True
        return self._all_joined_at is not None and time.monotonic() - self._all_joined_at >= self.grace_s

    def low(self) -> int | None:
        vals = [v for v in self.marks.values() if v is not None]
        return min(vals) if vals and len(vals) == len(self.marks) else None

    def allows(self, released_ns: int) -> bool:
        """May the next batch go, given the data time released so far?"""
        if not self.marks:
            return True
        low = self.low()
        if low is None or not self.started:
            return False
        return released_ns == 0 or released_ns <= max(low, 0) + self.window_ns or low >= released_ns

    def drained(self, released_ns: int) -> bool:
        low = self.low()
        return low is not None and low >= released_ns

    def status(self) -> dict[str, Any]:
        return {"consumers": dict(self.marks), "window_s": self.window_ns / 1e9, "started": self.started,
                "unknown": self.unknown}  # fmt: skip


class FlowReporter:
    """A consumer's side: connect to the feeder's ``flow`` socket, say hello, report progress. Reports are
    coalesced: the newest goes out once at the end of the agent's loop pass (``Agent.at_pass_end``), however many
    times it moved in that pass."""

    def __init__(self, agent: Any, feeder: str, timeout: float = 30.0) -> None:
        self.agent = agent
        self.last = -1
        self._due: tuple[int, str] | None = None
        agent.connect(f"{feeder}.{FLOW_ALIAS}", alias=FLOW_ALIAS, timeout=timeout)
        agent.at_pass_end(self.flush)

    def hello(self) -> None:
        self.report(0)
        self.flush()

    def report(self, ts_ns: int, symbol: str = "") -> None:
        if ts_ns > self.last:
            self.last = ts_ns
            self._due = (int(ts_ns), symbol)

    def flush(self) -> None:
        """Send the newest progress not sent yet (called by the loop at the end of each pass)."""
        if self._due is not None:
            ts_ns, symbol = self._due
            self._due = None
            wm = p.Watermark(agent=self.agent.name, symbol=symbol, ts_ns=ts_ns)
            self.agent.send(FLOW_ALIAS, p.encode(wm), type_=p.TYPE_WATERMARK)
