"""Tick sources: replay of recorded data (merged, lazily read), pacing, and the seeded market simulator."""

from marketcore.sources.feed import (
    PacedReplay,
    SimulatedFeed,
    SourceContext,
    SpeedError,
    TickPoll,
    TickSource,
    make_tick_source,
    parse_speed,
    register_tick_source,
)
from marketcore.sources.pacer import Pacer, Speed
from marketcore.sources.replay import ReplayBatch, ReplayProgress, ReplaySource
from marketcore.sources.sim import DEFAULT_SYMBOLS, MarketSimulator, SymbolSpec
from marketcore.sources.timeutil import TimeLike, to_ns

__all__ = [
    "DEFAULT_SYMBOLS",
    "MarketSimulator",
    "PacedReplay",
    "Pacer",
    "ReplayBatch",
    "ReplayProgress",
    "ReplaySource",
    "SimulatedFeed",
    "SourceContext",
    "SpeedError",
    "Speed",
    "SymbolSpec",
    "TickPoll",
    "TickSource",
    "TimeLike",
    "make_tick_source",
    "parse_speed",
    "register_tick_source",
    "to_ns",
]
