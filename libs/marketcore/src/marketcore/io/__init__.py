"""Readers of recorded real market data (Lean/FXCM zips, freqtrade/Binance JSON) into marketcore arrays.

Every reader returns TICK_DTYPE or BAR_DTYPE arrays in UTC ns. Strict mode (default) raises
:class:`~marketcore.errors.DataFormatError` naming the file and line; ``on_error="skip"`` drops bad rows and
counts them by reason in a :class:`SkipCounts` (what a live feeder uses).
"""

from marketcore.io.binance import read_binance_klines, read_binance_trades
from marketcore.io.discover import DataFile, DataSet, discover, tick_datasets
from marketcore.io.lean import FXCM_TZ, read_lean_daily_bars, read_lean_quote_bars, read_lean_quote_ticks
from marketcore.io.timezone import offset_ns
from marketcore.io.validate import SkipCounts

__all__ = [
    "FXCM_TZ",
    "DataFile",
    "DataSet",
    "SkipCounts",
    "discover",
    "offset_ns",
    "read_binance_klines",
    "read_binance_trades",
    "read_lean_daily_bars",
    "read_lean_quote_bars",
    "read_lean_quote_ticks",
    "tick_datasets",
]
