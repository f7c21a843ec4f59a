"""The router's settings (read from ``TRADEHIVE_ROUTER_*`` by the service)."""

from __future__ import annotations

import msgspec


class RouterConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    timeframes: list[str] = msgspec.field(default_factory=lambda: ["1s", "1m", "5m", "1h", "1d"])
    prices: list[str] = []  # empty: bid, ask and mid for quote feeds, last for trade feeds
    empty: str = "skip"  # skip (FXCM) | fill (Binance)
    session: str = "+00:00"  # UTC offset whose midnight starts a daily bar ("-05:00": FXCM days)
    tick_window: int = 2_000_000  # ticks kept per symbol
    bar_window: int = 200_000  # bars kept per (symbol, timeframe, price)
    publish_partial: bool = True
    partial_interval_s: float = 0.1  # forming bars go out at most this often per symbol (0: with every batch)
    feeders: list[str] = []  # feeder names; empty: every agent registered with role:feeder
    discover_interval: float = 2.0
    watermarks: bool = False  # event time: a wm.<SYMBOL> message after each live batch (tradehive.eventtime)
    flow_to: str = ""  # a replaying feeder's name: report progress to it (tradehive.flow)
    clock_close: bool = False  # close bars by the wall clock when no tick comes (live feeds, the simulator)
    clock_grace_s: float = 2.0
    backfill_timeout_s: float = 5.0
    initial_history_s: float = (
        0.0  # on a symbol's first ticks, load this much earlier history from the feeder
    )
    join_lookback_s: float = (
        7 * 86400.0
    )  # joined a stream already running (first seq > 1): recover up to this


__all__ = ["RouterConfig"]
