"""Event-time ordering of quotes and decisions for a simulated venue.

A paper venue fills an order at the first quote at or after *decision time + latency*. That is only the same on
every run if the venue has not already moved past that quote when the order arrives, and arrival order between
processes depends on speed and scheduling. The sequencer removes the dependence: it holds each symbol's quotes
until every participant (each brain that may trade) has declared, with a watermark, that it has decided on all
data of that symbol up to them. A decision taken on data at time ``d`` is then always submitted before the venue
sees any quote later than ``d``, whatever the replay speed.

Decisions of several participants on the same data time are ordered too (``on_decision``): each is run (risk
checked and sent to the venue) only once every other participant has decided on that symbol's data up to its
data time, in the canonical order (data time, participant, key), after the quotes before its data time and
before the quotes at or after it. Pre-trade risk (an order-rate token bucket, position limits) then sees the
decisions in the same order at any speed, whichever brain's intent reached the trader first.

Live, a participant that stops talking must not freeze the venue: with ``max_hold_ns`` a quote (or a decision)
is released after being held that long (wall time) and the release is counted as ``forced``. In replay
(``max_hold_ns = 0``) the sequencer waits; the feeder's flow control keeps what it holds bounded.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import deque
from collections.abc import Callable, Iterable

import numpy as np
import numpy.typing as npt

ReleaseFn = Callable[[str, npt.NDArray[np.void], int], None]  # (symbol, ticks, origin_ns)
Decision = tuple[
    int, str, str, int, int, Callable[[], object]
]  # (data time, participant, key, n, since, run)

_NEVER = np.iinfo(np.int64).min
_ALWAYS = np.iinfo(np.int64).max


class QuoteSequencer:
    def __init__(
        self,
        participants: Iterable[str],
        release: ReleaseFn,
        *,
        max_hold_ns: int = 0,
        monotonic_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self.participants = frozenset(participants)
        self._release = release
        self.max_hold_ns = max_hold_ns
        self._mono = monotonic_ns
        self._marks: dict[str, dict[str, int]] = {}  # symbol -> participant -> watermark
        self._held: dict[str, deque[tuple[npt.NDArray[np.void], int, int]]] = {}  # (ticks, origin, since)
        self._decisions: dict[str, list[Decision]] = {}  # symbol -> heap in canonical order
        self._n = itertools.count()
        self.held_ticks = 0
        self.held_decisions = 0
        self.forced = 0  # ticks (and decisions) released by max_hold_ns before every participant caught up
        self.caps: dict[str, int] = {}  # symbol -> no quote after this data time goes out (until lifted)

    @property
    def enabled(self) -> bool:
        return bool(self.participants)

    def on_ticks(self, symbol: str, ticks: npt.NDArray[np.void], origin_ns: int = 0) -> None:
        if not self.participants:
            self._release(symbol, ticks, origin_ns)
            return
        if not ticks.size:
            return
        self._held.setdefault(symbol, deque()).append((ticks, origin_ns, self._mono()))
        self.held_ticks += int(ticks.size)
        self._drain(symbol)

    def on_watermark(self, participant: str, symbol: str, ts_ns: int) -> None:
        """``participant`` has acted on every ``symbol`` datum with ``ts <= ts_ns`` (unknown names ignored)."""
        if participant not in self.participants:
            return
        marks = self._marks.setdefault(symbol, {})
        if ts_ns > marks.get(participant, _NEVER):
            marks[participant] = ts_ns
            self._drain(symbol)

    def on_decision(
        self, participant: str, symbol: str, data_ts_ns: int, key: str, run: Callable[[], object]
    ) -> None:
        """``participant`` decided on ``symbol`` data at ``data_ts_ns`` (so it has acted on everything before):
        ``run`` is called once every other participant has decided on data up to ``data_ts_ns``, in the order
        (data time, participant, key), after the quotes before ``data_ts_ns``. A decision without a data time or
        from an unknown participant runs at once."""
        if participant not in self.participants or data_ts_ns <= 0:
            run()
            return
        heapq.heappush(
            self._decisions.setdefault(symbol, []),
            (data_ts_ns, participant, key, next(self._n), self._mono(), run),
        )
        self.held_decisions += 1
        marks = self._marks.setdefault(symbol, {})
        if data_ts_ns - 1 > marks.get(participant, _NEVER):
            marks[participant] = data_ts_ns - 1
        self._drain(symbol)

    def pending(self, symbol: str) -> bool:
        """Is a decision on ``symbol`` waiting for the other participants?"""
        return bool(self._decisions.get(symbol))

    def _ready(self, marks: dict[str, int], decision: Decision) -> bool:
        d, who = decision[0], decision[1]
        return all(marks.get(p, _NEVER) >= d for p in self.participants if p != who)

    def limit(self, symbol: str) -> int:
        """Quotes of ``symbol`` up to this data time may reach the venue (all of them without participants)."""
        if not self.participants:
            return _ALWAYS
        marks = self._marks.get(symbol, {})
        if len(marks) < len(self.participants):
            return _NEVER
        return min(marks.values())

    def expire(self) -> int:
        """Live only: release quotes held longer than ``max_hold_ns``; returns how many ticks were forced."""
        if not self.max_hold_ns:
            return 0
        cutoff = self._mono() - self.max_hold_ns
        forced = 0
        for symbol, queue in self._held.items():
            while queue and queue[0][2] <= cutoff:
                ticks, origin, _ = queue.popleft()
                forced += int(ticks.size)
                self._out(symbol, ticks, origin)
        for heap in self._decisions.values():
            late = sorted(d for d in heap if d[4] <= cutoff)
            if late:
                heap[:] = [d for d in heap if d[4] > cutoff]
                heapq.heapify(heap)
                for d in late:
                    self.held_decisions -= 1
                    forced += 1
                    d[5]()
        self.forced += forced
        return forced

    def release_until(self, symbol: str, ts_ns: int) -> None:
        """Release every held ``symbol`` quote up to ``ts_ns`` now, whatever the participants said (a replay puts
        its venue where a recorded session's venue was; a cap still holds)."""
        self._drain_quotes(symbol, ts_ns)

    def cap(self, symbol: str, ts_ns: int | None) -> None:
        """Hold ``symbol`` quotes after ``ts_ns`` whatever the participants say (None lifts the cap)."""
        if ts_ns is None:
            self.caps.pop(symbol, None)
        else:
            self.caps[symbol] = ts_ns
        self._drain(symbol)  # a raised or lifted cap lets out what the participants allowed

    def _drain(self, symbol: str) -> None:
        limit = self.limit(symbol)
        heap = self._decisions.get(symbol)
        if heap:
            marks = self._marks.get(symbol, {})
            while heap and self._ready(marks, heap[0]):
                decision = heapq.heappop(heap)
                self._drain_quotes(symbol, min(limit, decision[0] - 1))  # the quotes before it first
                self.held_decisions -= 1
                decision[5]()
            if heap:
                limit = min(limit, heap[0][0] - 1)  # nothing at or after a waiting decision's time
        self._drain_quotes(symbol, limit)

    def _drain_quotes(self, symbol: str, limit: int) -> None:
        queue = self._held.get(symbol)
        if not queue:
            return
        limit = min(limit, self.caps.get(symbol, _ALWAYS))
        while queue:
            ticks, origin, since = queue[0]
            if int(ticks["ts"][-1]) <= limit:
                queue.popleft()
                self._out(symbol, ticks, origin)
                continue
            cut = int(np.searchsorted(ticks["ts"], limit, side="right"))
            if cut:
                queue[0] = (ticks[cut:], origin, since)
                self._out(symbol, ticks[:cut], origin)
            break

    def _out(self, symbol: str, ticks: npt.NDArray[np.void], origin: int) -> None:
        self.held_ticks -= int(ticks.size)
        self._release(symbol, ticks, origin)

    def status(self) -> dict[str, object]:
        return {"participants": sorted(self.participants), "held_ticks": self.held_ticks,
                "held_decisions": self.held_decisions, "forced": self.forced,
                "watermarks": {s: dict(m) for s, m in self._marks.items()}, "caps": dict(self.caps)}  # fmt: skip


__all__ = ["QuoteSequencer"]
