"""The router's recovery without processes: a feeder's published stream (real FXCM ticks) is delivered to the
engine with messages lost, late joins, restarts and catch-ups overtaking queued messages; in every case the
router ends holding every tick exactly once, in order, publishes only live data (never re-sent history), and
its bars equal bars built from the whole stream at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import structlog
from agentcore.errors import RequestTimeout
from marketcore.bars import resample
from marketcore.io import read_lean_quote_ticks
from marketcore.schema import TICK_DTYPE
from tradehive import protocol as p
from tradehive.metrics import RoleMetrics
from tradehive.routing.config import RouterConfig
from tradehive.routing.engine import RouterEngine, RouterMetrics
from tradehive.routing.recovery import StreamRecovery

pytestmark = pytest.mark.timeout(60)
DATA = Path("/work/shared/data/fxcm/tick/eurusd/20140507_quote.zip")
PER_MSG = 500


class FakeAgent:
    name = "router"

    def __init__(self) -> None:
        from agentcore.metrics import AgentMetrics

        self.metrics = AgentMetrics("router", "router")


class Feeder:
    """The feeder side: messages numbered from 1 per topic, history and stream status over the whole stream.
    A fake of the socket hop only (the data and the router's engine are real)."""

    def __init__(self, ticks: np.ndarray) -> None:
        self.ticks = ticks
        self.msgs = [ticks[i : i + PER_MSG] for i in range(0, ticks.size, PER_MSG)]
        self.requests: list[p.Record] = []
        self.published = 0  # messages published so far (stream status)
        self.down = False

    def fetch(self, feeder: str, req: p.Record, timeout: float) -> Any:
        self.requests.append(req)
        if self.down:
            raise RequestTimeout("feeder down")
        if isinstance(req, p.StreamStatusRequest):
            last = int(self.msgs[self.published - 1]["ts"][-1]) if self.published else 0
            return p.StreamStatus(streams={"EURUSD": (self.published, last)})
        assert isinstance(req, p.TickHistoryRequest)
        upto = np.concatenate(self.msgs[: self.published]) if self.published else self.ticks[:0]
        ts = upto["ts"]
        return upto[(ts >= req.start_ns) & (ts < req.end_ns)]


class Router:
    """The engine and recovery wired the way the service wires them, with agentcore's sequence bookkeeping
    (last seq per stream, gap hook before the handler) reproduced in :meth:`deliver`."""

    def __init__(self, feeder: Feeder, **cfg: Any) -> None:
        self.feeder = feeder
        self.sent: list[tuple[str, np.ndarray, str]] = []
        config = RouterConfig(timeframes=["1m"], prices=["bid", "ask"], session="-05:00", **cfg)
        log = structlog.get_logger("test")
        self.engine = RouterEngine(config, lambda d, t, ty, o: self.sent.append((t, d, ty)),
                                   RouterMetrics(RoleMetrics(FakeAgent())), log)  # fmt: skip
        self.seq: int | None = None
        self.now = 0.0
        self.recovery = StreamRecovery(self.engine, feeder.fetch, lambda f, s: self.seq, config, log,
                                       clock=lambda: self.now)  # fmt: skip
        self.recovery.add_feeder("feeder")

    def quiet(self) -> None:
        """The feeder goes quiet for a while; the discovery timer compares its stream status."""
        self.now += 10.0
        self.recovery.catch_up_quiet()

    def deliver(self, n: int) -> None:
        """Message number ``n`` (1-based) reaches the router."""
        data = self.feeder.msgs[n - 1]
        if self.seq is None:
            if n > 1:
                self.recovery.on_gap("feeder", "EURUSD", n, None, data)
        elif n > self.seq + 1:
            self.recovery.on_gap("feeder", "EURUSD", n, self.seq, data)
        self.seq = n
        if self.recovery.skip_live("feeder", "EURUSD", n):
            return
        if "EURUSD" not in self.engine.books:
            self.recovery.on_first_ticks("feeder", "EURUSD", n, data)
        self.engine.ingest_live("EURUSD", data)

    def held(self) -> np.ndarray:
        return self.engine.books["EURUSD"].tick_buf.view

    def published_ticks(self) -> np.ndarray:
        return np.concatenate([d for t, d, _ in self.sent if t == "tick.EURUSD"] or [self.feeder.ticks[:0]])


@pytest.fixture(scope="module")
def stream() -> np.ndarray:
    if not DATA.exists():
        pytest.skip(f"real data not found at {DATA}")
    ticks = read_lean_quote_ticks(DATA, "-05:00")
    assert ticks.dtype == TICK_DTYPE
    return ticks[: 20 * PER_MSG]


def assert_complete(router: Router, stream: np.ndarray) -> None:
    held = router.held()
    assert (
        held.size == stream.size
        and (held["ts"] == stream["ts"]).all()
        and (held["bid"] == stream["bid"]).all()
    )
    book = router.engine.books["EURUSD"]
    want = resample(stream, "1m", "bid", empty="skip", session_offset="-05:00")
    got = book.bars(p.BarHistoryRequest(symbol="EURUSD", timeframe="1m", price="bid", include_partial=True))
    assert got.size == want.size and (got["close"] == want["close"]).all() and (got["ts"] == want["ts"]).all()


def test_lost_messages_are_backfilled_once_in_order_and_published(stream: np.ndarray) -> None:
    feeder = Feeder(stream)
    router = Router(feeder)
    n = len(feeder.msgs)
    feeder.published = n
    for k in range(1, n + 1):
        if k not in (4, 5, 11):  # three messages lost on the way
            router.deliver(k)
    assert_complete(router, stream)
    ranges = [(r.start_ns, r.end_ns) for r in feeder.requests if isinstance(r, p.TickHistoryRequest)]
    assert ranges == [
        (int(feeder.msgs[2]["ts"][-1]), int(feeder.msgs[5]["ts"][0])),
        (int(feeder.msgs[9]["ts"][-1]), int(feeder.msgs[11]["ts"][0])),
    ]  # exactly the holes
    assert router.engine.metrics.gaps.as_dict() == {"feeder": 3}
    assert router.engine.metrics.backfilled.total() == 3 * PER_MSG
    assert (router.published_ticks()["ts"] == stream["ts"]).all()  # the holes went out live too


def test_late_join_loads_the_start_as_history_without_publishing_it(stream: np.ndarray) -> None:
    feeder = Feeder(stream)
    router = Router(feeder)
    feeder.published = len(feeder.msgs)
    for k in range(7, len(feeder.msgs) + 1):  # the SUB connected while message 7 was on its way
        router.deliver(k)
    assert_complete(router, stream)
    assert router.engine.metrics.gaps.total() == 0  # a late join is not a gap
    live = router.published_ticks()
    assert live.size == stream.size - 6 * PER_MSG and live["ts"][0] == feeder.msgs[6]["ts"][0]


def test_initial_history_at_a_first_message_numbered_one(stream: np.ndarray) -> None:
    feeder = Feeder(stream)
    feeder.published = 3
    router = Router(feeder, initial_history_s=0.0)
    router.deliver(1)
    assert not [r for r in feeder.requests if isinstance(r, p.TickHistoryRequest)]  # nothing asked for
    router2 = Router(feeder, initial_history_s=3600.0)
    router2.deliver(2)  # numbered 2: joined late; history before its first tick is loaded
    assert router2.held().size == 2 * PER_MSG


def test_join_after_the_stream_ended_catches_up_from_stream_status(stream: np.ndarray) -> None:
    feeder = Feeder(stream)
    feeder.published = len(feeder.msgs)  # the whole replay went out before the router existed
    router = Router(feeder)
    router.quiet()
    assert_complete(router, stream)
    assert not router.sent  # history, not live data
    router.quiet()  # nothing new: nothing fetched again
    assert sum(isinstance(r, p.TickHistoryRequest) for r in feeder.requests) == 1


def test_catch_up_overtaking_queued_messages_and_a_restart(stream: np.ndarray) -> None:
    feeder = Feeder(stream)
    router = Router(feeder)
    feeder.published = 5
    for k in range(1, 4):
        router.deliver(k)
    router.quiet()  # 4 and 5 are still queued in the SUB socket: the catch-up gets them first
    router.deliver(4)
    router.deliver(5)  # dropped: already recovered
    feeder.published = len(feeder.msgs)
    router.deliver(8)  # 6 and 7 lost after the catch-up: backfilled from 5's end, not from 3's
    for k in range(9, len(feeder.msgs) + 1):
        router.deliver(k)
    assert_complete(router, stream)
    assert router.engine.metrics.gaps.as_dict() == {"feeder": 2}
    # the router restarted (a new engine): the catch-up on start recovers everything so far
    feeder.published = 12
    again = Router(feeder)
    again.quiet()
    for k in range(13, len(feeder.msgs) + 1):
        again.deliver(k)
    assert_complete(again, stream)
    assert again.engine.metrics.gaps.total() == 0


def test_feeder_restart_numbering_from_one_is_not_skipped(stream: np.ndarray) -> None:
    feeder = Feeder(stream)
    router = Router(feeder)
    feeder.published = 4
    router.quiet()
    assert router.recovery.skip_live("feeder", "EURUSD", 3)  # queued behind the catch-up
    assert not router.recovery.skip_live("feeder", "EURUSD", 1)  # the feeder started over
    assert not router.recovery.skip_live("feeder", "EURUSD", 2)


def test_an_unreachable_feeder_loses_nothing_already_held(stream: np.ndarray) -> None:
    feeder = Feeder(stream)
    router = Router(feeder)
    feeder.published = len(feeder.msgs)
    router.deliver(1)
    feeder.down = True
    router.deliver(3)  # the gap cannot be backfilled: counted, logged, the live message still goes in
    router.quiet()
    assert router.engine.metrics.gaps.total() == 1 and router.engine.metrics.backfilled.total() == 0
    assert router.held().size == 2 * PER_MSG
    feeder.down = False
    router.deliver(2)  # late, out of order: refused as out_of_order, counted
    assert router.engine.metrics.rejected.as_dict()["out_of_order"] > 0


def test_a_gap_after_a_catch_up_counts_only_what_history_did_not_cover(stream: np.ndarray) -> None:
    feeder = Feeder(stream)
    router = Router(feeder)
    feeder.published = 5
    for k in range(1, 4):
        router.deliver(k)
    router.quiet()  # 4 and 5 never arrive live: the catch-up recovered them
    feeder.published = len(feeder.msgs)
    for k in range(8, len(feeder.msgs) + 1):  # 6 and 7 lost too: a gap after 3, of which 4-5 are covered
        router.deliver(k)
    assert_complete(router, stream)
    assert router.engine.metrics.gaps.as_dict() == {"feeder": 2}
    ranges = [(r.start_ns, r.end_ns) for r in feeder.requests if isinstance(r, p.TickHistoryRequest)]
    assert ranges[-1] == (int(feeder.msgs[4]["ts"][-1]), int(feeder.msgs[7]["ts"][0]))
