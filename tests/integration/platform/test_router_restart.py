"""A router killed (SIGKILL) mid-replay and started again rebuilds exactly the vendor's bars: on start it asks the
feeder how far its streams went and recovers everything it missed from the feeder's history."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from agentcore import process
from agentcore.launcher import AgentSpec
from agentcore.testing import wait_until
from marketcore.io import read_lean_quote_bars
from tradehive import protocol as p
from tradehive.platform import FEEDER, ROUTER

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]
DAY_START_NS = 1_399_525_200_000_000_000  # 2014-05-08 00:00 at UTC-05:00 (the FXCM day file's clock)
DAY_END_NS = DAY_START_NS + 86_400 * 10**9


def test_router_killed_mid_replay_rebuilds_vendor_bars(platform, data_dir: Path) -> None:
    fx = data_dir / "fxcm"
    feeder = {
        "data_dir": str(fx),
        "speed": "1500",
        "start": "2014-05-08T05:00:00",
        "end": "2014-05-09T05:00:00",
    }
    plat = platform({"feeder": AgentSpec(cls=FEEDER, config=feeder)})
    cfg = {"timeframes": ["1m"], "prices": ["bid", "ask"], "session": "-05:00"}
    settings = {"ns_port": plat.port, "log_level": "warning"}
    first = process.spawn(ROUTER, "router", settings=settings, config=cfg, timeout=60)
    wait_until(lambda: plat.status("router")["symbols"].get("EURUSD", {}).get("ticks_held", 0) > 20_000, 120,
               message="router ingesting")  # fmt: skip
    first.kill()  # SIGKILL: no unregistering, no goodbye
    published_at_kill = plat.status("feeder")["published_ticks"]
    time.sleep(2)
    second = process.spawn(ROUTER, "router", settings=settings, config=cfg, timeout=60)
    try:
        assert plat.status("router")["pid"] == second.pid
        plat.wait_replay_done(timeout=300)
        st = plat.status("router")
        assert st["backfilled_ticks"] >= published_at_kill  # everything before its start came from history
        for sym in ("eurusd", "nzdusd"):
            vendor_bid, vendor_ask = read_lean_quote_bars(
                fx / "minute" / sym / "20140508_quote.zip", "-05:00"
            )
            for price, vendor in (("bid", vendor_bid), ("ask", vendor_ask)):
                req = p.BarHistoryRequest(
                    symbol=sym.upper(),
                    timeframe="1m",
                    price=price,
                    start_ns=DAY_START_NS,
                    end_ns=DAY_END_NS,
                    include_partial=True,
                )
                got = plat.history(req)
                assert got.size == vendor.size, (sym, price, np.setdiff1d(vendor["ts"], got["ts"])[:5])
                for field in ("ts", "open", "high", "low", "close", "volume"):
                    assert (got[field] == vendor[field]).all(), (sym, price, field)
    finally:
        second.stop()
