"""The marketcore exception hierarchy: one root, subclasses per failure kind.

Every error raised on purpose by marketcore derives from :class:`MarketcoreError`, so callers can catch the
library as a whole. Causes are always chained (``raise X from e``). Other modules add their subclasses here.
"""

from __future__ import annotations


class MarketcoreError(Exception):
    """Root of every marketcore error."""


class UnknownSymbol(MarketcoreError, KeyError):
    """An instrument symbol that is not in the registry."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else "unknown symbol"


class InstrumentError(MarketcoreError, ValueError):
    """An invalid instrument definition (bad tick size, precision, ...)."""


class IndicatorError(MarketcoreError, ValueError):
    """An invalid indicator parameter or input."""


class DecodeError(MarketcoreError):
    """Bytes that are not a valid, supported marketcore message (cause chained)."""


class InvalidOrderTransition(MarketcoreError):
    """An order state change that the order state machine does not allow."""


class OrderError(MarketcoreError, ValueError):
    """An invalid order command (bad quantity, missing limit price, ...)."""


class VenueError(MarketcoreError):
    """A misuse of the paper venue (bad configuration, time going backwards, ...)."""


class DataFormatError(MarketcoreError, ValueError):
    """A recorded-data file that does not match its format; the message names the file and the line/row."""


class DataSourceError(MarketcoreError):
    """A misuse of a data source (no data found, unknown symbol, bad time range or pacing setting)."""


class TimeframeError(MarketcoreError, ValueError):
    """A timeframe string or value that cannot be parsed or is not positive (``"1m"``, ``"4h"``, ``"1d"``...)."""


class SeriesError(MarketcoreError, ValueError):
    """A misuse of a time-series buffer (wrong dtype, empty buffer, timestamps going backwards)."""


class TickDataError(MarketcoreError, ValueError):
    """A tick batch that cannot be aggregated as asked (wrong dtype, unsorted, invalid prices)."""
