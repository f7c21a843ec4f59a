"""Recovering what the router missed of its feeders' tick streams, through one history-fetch path.

ZeroMQ SUB sockets silently miss what precedes their connection and what a full queue drops; the feeder numbers
its messages per topic (agentcore's sequence numbers) and answers ``tick_history`` and ``stream_status``
requests. Four cases, one component:

* **initial load** — a symbol's first live ticks: load ``initial_history_s`` of earlier history, or up to
  ``join_lookback_s`` when the first message seen is numbered above 1 (joined a stream already running);
* **backfill** — agentcore reports a sequence gap (:meth:`StreamRecovery.on_gap`, called before the message that
  revealed it): fetch exactly the missing interval; it fills a hole in the live stream, so it goes out live;
* **catch-up** — when a feeder has been quiet, compare its stream status with what arrived and fetch the
  difference (a router that joined after the stream ended, or restarted, or missed a stream's tail);
* **overlap** — live messages queued while a catch-up already recovered them are dropped (:meth:`skip_live`).

History (initial load, catch-up) is ingested with :meth:`RouterEngine.ingest_history`: never re-published.
The only state kept here is what history recovered (``covered``); live sequence numbers are agentcore's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from agentcore.errors import CommunicationError
from marketcore.schema import TICK_DTYPE

from tradehive import protocol as p
from tradehive.errors import TradehiveError
from tradehive.routing.book import SymbolBook
from tradehive.routing.config import RouterConfig
from tradehive.routing.engine import RouterEngine

Fetch = Callable[
    [str, p.Record, float], Any
]  # (feeder, request, timeout) -> the decoded reply; raises on failure
LiveSeq = Callable[[str, str], "int | None"]  # (feeder, symbol) -> last live sequence number received
QUIET_S = 1.0  # a feeder unheard for this long gets its stream status compared


class StreamRecovery:
    def __init__(
        self,
        engine: RouterEngine,
        fetch: Fetch,
        live_seq: LiveSeq,
        config: RouterConfig,
        log: Any,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine, self.config, self.log = engine, config, log
        self._fetch, self._live_seq, self._clock = fetch, live_seq, clock
        self.feeders: set[str] = set()
        self.covered: dict[tuple[str, str], int] = {}  # (feeder, symbol) -> last message number recovered
        self._heard: dict[str, float] = {}  # feeder -> clock time of its last live tick message

    def add_feeder(self, feeder: str) -> None:
        self.feeders.add(feeder)
        self.engine.metrics.gaps(feeder)  # the series exists (at 0) before a gap

    # -- the one way history comes in ------------------------------------------------------------------
    def _history(
        self, feeder: str, symbol: str, start_ns: int, end_ns: int, timeout: float, what: str
    ) -> Any:
        """Ticks in [start_ns, end_ns) from the feeder's history, or None (logged) when it cannot be had."""
        if feeder not in self.feeders:
            return None
        req = p.TickHistoryRequest(symbol=symbol, start_ns=start_ns, end_ns=end_ns)
        try:
            reply = self._fetch(feeder, req, timeout)
        except (CommunicationError, TradehiveError) as exc:
            self.log.warning(f"{what} failed", feeder=feeder, symbol=symbol, error=str(exc))
            return None
        if not isinstance(reply, np.ndarray):
            self.log.warning(f"{what}: not ticks", feeder=feeder, symbol=symbol, reply=type(reply).__name__)
            return None
        return reply

    def _count(self, symbol: str, n: int) -> None:
        self.engine.metrics.backfilled(symbol).inc(n)

    # -- live path --------------------------------------------------------------------------------------
    def skip_live(self, feeder: str, symbol: str, seq: int) -> bool:
        """True for a live message a catch-up already recovered (it was queued behind the catch-up)."""
        self._heard[feeder] = self._clock()
        key = (feeder, symbol)
        covered = self.covered.get(key)
        if covered is None:
            return False
        if seq == 1 or seq > covered:  # the feeder restarted its numbering, or live is past what history had
            del self.covered[key]
            return False
        return True

    def on_first_ticks(self, feeder: str, symbol: str, seq: int, ticks: np.ndarray) -> SymbolBook:
        """A live message for a symbol without a book: create it and load earlier history (initial load)."""
        book = self.engine.book(symbol, ticks)
        lookback = self.config.initial_history_s
        if seq > 1:  # joined late: ZeroMQ dropped what this SUB missed before it connected
            lookback = max(lookback, self.config.join_lookback_s)
        if lookback > 0 and ticks.size:
            first = int(ticks["ts"][0])
            hist = self._history(feeder, symbol, first - int(lookback * 1e9), first,
                                 self.config.backfill_timeout_s * 4, "initial history")  # fmt: skip
            if hist is not None and hist.size:
                self.engine.ingest_history(symbol, hist)
                self.log.info("initial history loaded", symbol=symbol, ticks=int(hist.size))
        return book

    def on_gap(
        self, feeder: str, symbol: str, seq: int, last: int | None, ticks: Any, origin_ns: int = 0
    ) -> None:
        """agentcore saw message ``seq`` after ``last`` (None: the first one seen): backfill what is missing."""
        floor = max(last or 0, self.covered.get((feeder, symbol), 0))
        if last is None and floor == 0:
            return  # a stream joined late: the initial load recovers it when its first ticks are handled
        missed = seq - floor - 1
        if missed <= 0:
            return  # a catch-up recovered those already
        self.engine.metrics.gaps(feeder).inc(missed)
        book = self.engine.books.get(symbol)
        if book is None or book.last_ts is None or not _ticks(ticks):
            return
        hist = self._history(feeder, symbol, book.last_ts, int(ticks["ts"][0]), self.config.backfill_timeout_s,
                             "backfill")  # fmt: skip
        if hist is None:
            return
        fresh = book.skip_seen(hist)
        self._count(symbol, fresh.size)
        self.log.warning(
            "gap backfilled", feeder=feeder, symbol=symbol, missed_messages=missed, ticks=int(fresh.size)
        )
        if fresh.size:
            self.engine.ingest_live(
                symbol, fresh, origin_ns
            )  # a hole in the live stream: subscribers get it too

    # -- catch-up ---------------------------------------------------------------------------------------
    def catch_up_quiet(self, skip: frozenset[str] = frozenset()) -> None:
        """Compare the stream status of every feeder not heard from lately (the discovery timer); ``skip``: a
        flow-controlled replay, which waits for us (nothing to miss, and a catch-up would race it)."""
        now = self._clock()
        for feeder in sorted(self.feeders - skip):
            heard = self._heard.get(feeder)
            if heard is None or now - heard > QUIET_S:
                self.catch_up(feeder)

    def catch_up(self, feeder: str) -> None:
        try:
            status = self._fetch(feeder, p.StreamStatusRequest(), 2.0)
        except (CommunicationError, TradehiveError) as exc:
            self.log.warning("stream status unavailable", feeder=feeder, error=str(exc))
            return
        if not isinstance(status, p.StreamStatus):
            self.log.warning("stream status: wrong reply", feeder=feeder, reply=type(status).__name__)
            return
        for symbol, (seq, last_ts) in status.streams.items():
            key = (feeder, symbol)
            if seq <= max(self._live_seq(feeder, symbol) or 0, self.covered.get(key, 0)):
                continue
            book = self.engine.books.get(symbol)
            start = book.last_ts if book is not None and book.last_ts is not None else (
                last_ts - int(self.config.join_lookback_s * 1e9))  # fmt: skip
            hist = self._history(
                feeder, symbol, start, last_ts + 1, self.config.backfill_timeout_s * 4, "catch-up"
            )
            if hist is None:
                continue
            self.covered[key] = seq
            if not hist.size:
                continue
            fresh = self.engine.book(symbol, hist).skip_seen(hist)
            self._count(symbol, fresh.size)
            self.log.warning(
                "caught up with feeder stream", feeder=feeder, symbol=symbol, ticks=int(fresh.size)
            )
            if fresh.size:
                self.engine.ingest_history(symbol, fresh)


def _ticks(data: Any) -> bool:
    return isinstance(data, np.ndarray) and data.dtype == TICK_DTYPE and data.size > 0


__all__ = ["QUIET_S", "Fetch", "LiveSeq", "StreamRecovery"]
