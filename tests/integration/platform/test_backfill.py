"""A router that joins a stream late (or misses messages) recovers the ticks from the feeder's history: the bars
it builds still equal the vendor's."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from agentcore import process
from agentcore.launcher import AgentSpec
from agentcore.testing import wait_until
from marketcore.io import read_lean_quote_bars
from tradehive import protocol as p
from tradehive.platform import FEEDER, ROUTER

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_late_router_backfills_and_bars_equal_vendor(platform, data_dir: Path, tmp_path: Path) -> None:
    day = tmp_path / "fxcm" / "tick" / "eurusd"
    day.mkdir(parents=True)
    (day / "20140507_quote.zip").symlink_to(data_dir / "fxcm" / "tick" / "eurusd" / "20140507_quote.zip")
    plat = platform({"feeder": AgentSpec(cls=FEEDER, config={"data_dir": str(tmp_path / "fxcm" / "tick"),
                                                             "speed": "3000"})})  # fmt: skip
    wait_until(lambda: plat.status("feeder")["published_ticks"] > 20_000, 60, message="feeder streaming")
    router = process.spawn(
        ROUTER, "router", settings={"ns_port": plat.port, "log_level": "warning"},
        config={"timeframes": ["1m"], "prices": ["bid", "ask"], "session": "-05:00"}, timeout=60,
    )  # fmt: skip
    try:
        plat.wait_replay_done(timeout=200)
        status = plat.status("router")
        assert status["backfilled_ticks"] >= 20_000  # the start it missed came from the feeder's history
        assert status["symbols"]["EURUSD"]["ticks_held"] == plat.status("feeder")["published_ticks"]
        for i, price in enumerate(("bid", "ask")):
            vendor = read_lean_quote_bars(
                data_dir / "fxcm" / "minute" / "eurusd" / "20140507_quote.zip", "-05:00"
            )[i]
            got = plat.history(
                p.BarHistoryRequest(symbol="EURUSD", timeframe="1m", price=price, include_partial=True)
            )
            assert got.size == vendor.size
            for field in ("ts", "open", "high", "low", "close", "volume"):
                assert (got[field] == vendor[field]).all(), (price, field)
    finally:
        router.stop()
        time.sleep(0.1)


def test_router_joining_after_the_stream_ended_catches_up(platform, data_dir: Path, tmp_path: Path) -> None:
    """The feeder finishes a whole replay before any router exists: no live message will ever reveal the gap,
    so the router's stream-status sync must recover everything."""
    day = tmp_path / "fxcm" / "tick" / "nzdusd"
    day.mkdir(parents=True)
    (day / "20140508_quote.zip").symlink_to(data_dir / "fxcm" / "tick" / "nzdusd" / "20140508_quote.zip")
    plat = platform({"feeder": AgentSpec(cls=FEEDER, config={"data_dir": str(tmp_path / "fxcm" / "tick"),
                                                             "speed": "max"})})  # fmt: skip
    wait_until(lambda: plat.status("feeder")["finished"], 60, message="feeder done")
    router = process.spawn(ROUTER, "router", settings={"ns_port": plat.port, "log_level": "warning"},
                           config={"timeframes": ["1m"], "prices": ["bid"], "session": "-05:00"}, timeout=60)  # fmt: skip
    try:
        plat.wait_replay_done(timeout=60)
        vendor = read_lean_quote_bars(
            data_dir / "fxcm" / "minute" / "nzdusd" / "20140508_quote.zip", "-05:00"
        )[0]
        got = plat.history(
            p.BarHistoryRequest(symbol="NZDUSD", timeframe="1m", price="bid", include_partial=True)
        )
        assert (
            got.size == vendor.size
            and (got["close"] == vendor["close"]).all()
            and (got["ts"] == vendor["ts"]).all()
        )
    finally:
        router.stop()
