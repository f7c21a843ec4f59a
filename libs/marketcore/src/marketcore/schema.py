"""Wire schemas for market data: numpy structured dtypes that travel as one zero-copy frame.

Every array of ticks or bars on the wire, in a buffer or in a kernel uses exactly these dtypes.
Times are integer nanoseconds since the Unix epoch, UTC. Prices are float64.

Ticks carry both quote and trade fields; a field a source does not provide is NaN (bid/ask for a trade feed,
``last`` for a quote feed) and ``volume`` is 0.0 when the source sends no sizes (FXCM).
Bars are built from one price source (bid, ask, mid or last) and labelled by their open time: a bar covers
``[ts, ts + timeframe)``.
"""

from __future__ import annotations

from typing import Final

import numpy as np

SCHEMA_VERSION: Final = 1

TICK_DTYPE: Final = np.dtype(
    [
        ("ts", "<i8"),  # event time, ns since epoch UTC (venue/broker time)
        ("bid", "<f8"),
        ("ask", "<f8"),
        ("last", "<f8"),  # trade price (NaN for quote-only feeds)
        ("volume", "<f8"),  # trade size (0.0 when the source has none)
    ]
)

BAR_DTYPE: Final = np.dtype(
    [
        ("ts", "<i8"),  # open time, ns since epoch UTC; the bar covers [ts, ts + timeframe)
        ("open", "<f8"),
        ("high", "<f8"),
        ("low", "<f8"),
        ("close", "<f8"),
        ("volume", "<f8"),
        ("count", "<i8"),  # ticks aggregated into the bar (0 for a filled empty interval)
    ]
)

# The price sources a bar can be built from, in the order of their kernel codes; the only place they are named.
PRICE_SOURCES: Final = ("bid", "ask", "mid", "last")
PRICE_SOURCE_CODES: Final = {name: code for code, name in enumerate(PRICE_SOURCES)}
QUOTE_SOURCES: Final = ("bid", "ask", "mid")  # what a quote feed's bars are built from by default
TRADE_SOURCES: Final = ("last",)  # ... and a trade feed's

NS_PER_SECOND: Final = 1_000_000_000
NS_PER_MS: Final = 1_000_000


def empty_ticks(n: int = 0) -> np.ndarray:
    """A zero-filled tick array of length ``n``."""
    return np.zeros(n, dtype=TICK_DTYPE)


def empty_bars(n: int = 0) -> np.ndarray:
    """A zero-filled bar array of length ``n``."""
    return np.zeros(n, dtype=BAR_DTYPE)
