"""Tick sources: replay of recorded data (merged, lazily read), pacing, and the seeded market simulator."""

from marketcore.sources.pacer import Pacer, Speed
from marketcore.sources.replay import ReplayBatch, ReplayProgress, ReplaySource
from marketcore.sources.sim import DEFAULT_SYMBOLS, MarketSimulator, SymbolSpec
from marketcore.sources.timeutil import TimeLike, to_ns

__all__ = [
    "DEFAULT_SYMBOLS",
    "MarketSimulator",
    "Pacer",
    "ReplayBatch",
    "ReplayProgress",
    "ReplaySource",
    "Speed",
    "SymbolSpec",
    "TimeLike",
    "to_ns",
]
