"""Bars built by the running router from real ticks equal the vendors' bars, every field.

FXCM: minute bars (bid and ask, both symbols, every day that has a tick file) and the daily bars of the same
days (days start 05:00 UTC). Binance: 1-minute bars from the trades equal the klines (empty minutes filled).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from agentcore.launcher import AgentSpec
from marketcore.io import read_binance_klines, read_binance_trades, read_lean_daily_bars, read_lean_quote_bars
from marketcore.io.lean import read_lean_quote_ticks
from tradehive import protocol as p
from tradehive.platform import FEEDER, ROUTER

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]
OHLCV = ("ts", "open", "high", "low", "close", "volume")
# flow control: the feeder starts once the router listens. Without it a max-speed replay could start before a
# slow-starting router subscribed (the feeder waits 1 s); the router then recovers only its join lookback from
# history, by design, and the bars of the days before it differ (what test_router_recovery tests separately)
FLOW = {"flow_consumers": ["router"]}


def _assert_bars_equal(got: np.ndarray, want: np.ndarray, what: str) -> None:
    assert got.size == want.size, f"{what}: {got.size} bars from the router, {want.size} from the vendor"
    for field in OHLCV:
        bad = np.flatnonzero(got[field] != want[field])
        assert bad.size == 0, f"{what}: field {field} differs at {bad[:5]}: {got[bad[:3]]} vs {want[bad[:3]]}"


def test_router_fxcm_bars_equal_vendor_minute_and_daily_bars(platform, data_dir: Path) -> None:
    fx = data_dir / "fxcm"
    plat = platform({
        "feeder": AgentSpec(cls=FEEDER, config={"data_dir": str(fx / "tick"), "speed": "max", **FLOW}),
        "router": AgentSpec(cls=ROUTER, config={
            "timeframes": ["1m", "1d"], "prices": ["bid", "ask"], "session": "-05:00", "empty": "skip",
            "tick_window": 2_500_000, "bar_window": 40_000, "publish_partial": False, "flow_to": "feeder",
        }),
    })  # fmt: skip
    plat.wait_replay_done(timeout=300)
    compared = 0
    for sym_dir in sorted((fx / "tick").iterdir()):
        symbol = sym_dir.name.upper()
        days = sorted(f.name for f in sym_dir.glob("*_quote.zip"))
        daily_bid, daily_ask = read_lean_daily_bars(fx / f"daily_{sym_dir.name}.zip", "-05:00")
        for name in days:
            minute_file = fx / "minute" / sym_dir.name / name
            ticks = read_lean_quote_ticks(sym_dir / name, "-05:00")
            day_start = int(ticks["ts"][0]) - int(ticks["ts"][0] - 5 * 3600 * 10**9) % (86400 * 10**9)
            day_end = day_start + 86400 * 10**9
            for price, daily in (("bid", daily_bid), ("ask", daily_ask)):
                if minute_file.exists():
                    vendor = read_lean_quote_bars(minute_file, "-05:00")[0 if price == "bid" else 1]
                    got = plat.history(
                        p.BarHistoryRequest(
                            symbol=symbol,
                            timeframe="1m",
                            price=price,
                            start_ns=day_start,
                            end_ns=day_end,
                            include_partial=True,
                        )
                    )
                    _assert_bars_equal(got, vendor, f"{symbol} {name} 1m {price}")
                    compared += 1
                want = daily[daily["ts"] == day_start]
                got_d = plat.history(
                    p.BarHistoryRequest(
                        symbol=symbol,
                        timeframe="1d",
                        price=price,
                        start_ns=day_start,
                        end_ns=day_end,
                        include_partial=True,
                    )
                )
                _assert_bars_equal(got_d, want, f"{symbol} {name} 1d {price}")
    assert compared == 2 * 26, f"expected bid+ask minute comparisons for 26 day files, did {compared}"


def test_router_binance_minute_bars_equal_klines(platform, data_dir: Path) -> None:
    bn = data_dir / "binance"
    plat = platform({
        "feeder": AgentSpec(cls=FEEDER, config={"data_dir": str(bn), "format": "binance", "speed": "max", **FLOW}),
        "router": AgentSpec(cls=ROUTER, config={"timeframes": ["1m"], "empty": "fill", "publish_partial": False,
                                            "flow_to": "feeder"}),
    })  # fmt: skip
    plat.wait_replay_done(timeout=120)
    trades = read_binance_trades(bn / "freqtrade_binance_XRP_ETH-trades.json.gz")
    klines = read_binance_klines(bn / "freqtrade_binance_XRP_ETH-1m.json")
    minute = 60 * 10**9
    first, last = int(trades["ts"][0]) // minute * minute, int(trades["ts"][-1]) // minute * minute
    want = klines[(klines["ts"] >= first) & (klines["ts"] <= last)]
    got = plat.history(
        p.BarHistoryRequest(symbol="XRPETH", timeframe="1m", price="last", include_partial=True)
    )
    assert want.size > 1000
    _assert_bars_equal(got, want, "XRPETH 1m last")
