"""The whole platform on FIX: the feeder's source is the FIX market-data acceptor streaming FXCM's recorded
EURUSD quotes, the router builds 1 s bars, a trend brain trades, and the trader's venue is ordermatch over FIX
(liquidity from a market maker quoting the same recorded prices into ordermatch's book). A venue rejection's
reason reaches the brain through the trader's execution events."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from agentcore.launcher import AgentSpec
from agentcore.testing import wait_until
from tradehive.platform import BRAIN, FEEDER, ROUTER, TRADER
from tradehive_fix.config import FixSessionConfig
from tradehive_fix.marketdata import FixTickSource
from tradehive_fix.testing.counterparties import free_port, wait_port
from tradehive_fix.testing.market_maker import MarketMaker
from tradehive_fix.venue import FixVenue

from .conftest import venue_config

pytestmark = pytest.mark.timeout(360)
DATA = Path("/work/shared/data/fxcm/tick")


def test_platform_trades_end_to_end_over_fix(ordermatch, platform, tmp_path: Path) -> None:
    if not DATA.is_dir():
        pytest.skip(f"recorded FXCM data not found at {DATA}")
    md_port = free_port()
    md = subprocess.Popen([sys.executable, "-m", "tradehive_fix.testing.md_acceptor", "--port", str(md_port),
                           "--data", str(DATA), "--symbols", "EURUSD", "--client", "E2EFEED,E2EMMFEED",
                           "--speed", "60", "--start", "2014-05-08T12:00:00", "--workdir", str(tmp_path / "md")],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    mm_venue = mm_feed = maker = None
    try:
        wait_port("127.0.0.1", md_port, 120, md)  # type: ignore[arg-type]
        mm_feed = FixTickSource(FixSessionConfig(port=md_port, sender_comp_id="E2EMMFEED", target_comp_id="MDFEED",
                                                 data_dir=str(tmp_path / "mmfeed"), symbols=["EURUSD"]))  # fmt: skip
        mm_venue = FixVenue(venue_config(ordermatch, "MM", tmp_path / "mm"))
        mm_venue.start()
        assert mm_venue.wait_logon(15) and mm_feed.wait_logon(15)
        maker = MarketMaker(mm_venue, mm_feed, "EURUSD", qty=10_000_000).start()

        fix_common = {"heartbeat_s": "5", "reconnect_s": "0.5", "reconnect_max_s": "2"}
        feeder = {
            "source": "fix",
            "symbols": ["EURUSD"],
            "options": {
                **fix_common,
                "port": str(md_port),
                "sender_comp_id": "E2EFEED",
                "target_comp_id": "MDFEED",
                "data_dir": str(tmp_path / "feeder"),
                "symbols": "EURUSD",
            },
        }
        trader = {
            "venue": "fix",
            "data_dir": str(tmp_path / "trader"),
            "venue_options": {
                **fix_common,
                "port": str(ordermatch.port),
                "sender_comp_id": "E2E",
                "target_comp_id": "OM",
                "begin_string": "FIX.4.2",
                "data_dir": str(tmp_path / "trader-fix"),
                "market_orders": "limit",
                "stop_orders": "emulate",
                "replace": "cancel_new",
                "tif_map": "GTC=DAY",
                "mass_status": "false",
                "collar_bps": "20",
            },
        }
        brain = {
            "symbols": ["EURUSD"],
            "timeframe": "1s",
            "price": "mid",
            "strategy": "ema_cross",
            "params": {"fast": 3, "slow": 6, "atr": 3, "qty": 10_000},
            "warmup_bars": 0,
        }
        router = {"clock_close": True, "timeframes": ["1s", "1m"]}
        plat = platform(
            {"feeder": AgentSpec(cls=FEEDER, config=feeder), "router": AgentSpec(cls=ROUTER, config=router)},
            later={
                "trader": AgentSpec(cls=TRADER, config=trader),
                "brain-trend": AgentSpec(cls=BRAIN, config=brain),
            },
            start_method="exec",  # fork: QuickFIX does not survive a fork of a process that ran it
        )

        def traded() -> dict | None:
            t = plat.status("trader")
            return t if t["fills"] >= 2 else None

        try:
            trader_status = wait_until(
                traded, 150, interval=1.0, message="fills on ordermatch through the platform"
            )
        except TimeoutError:
            states = {n: plat.status(n) for n in ("feeder", "router", "brain-trend", "trader")}
            raise AssertionError(
                f"no trades; maker fills={maker.fills} quotes={maker.quotes}; {states}"
            ) from None
        fills = plat.call("trader", "fills_list")
        assert all(f["client_order_id"].startswith("brain-trend-") for f in fills)
        assert all(
            f["fill_id"].startswith("OM-") for f in fills
        )  # ordermatch's executions, not a simulator's
        feeder_status = plat.status("feeder")
        assert feeder_status["published_ticks"] > 100 and feeder_status["logged_on"] is True
        assert maker.fills >= 1
        assert trader_status["errors"] == 0, trader_status.get("last_errors")
    finally:
        if maker is not None:
            maker.stop()
        for closable in (mm_venue, mm_feed):
            if closable is not None:
                closable.close()
        md.terminate()
        md.wait(10)
