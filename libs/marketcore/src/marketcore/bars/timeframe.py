"""Timeframes ("1s", "1m", "5m", "1h", "4h", "1d") and session offsets (where a trading day starts)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from marketcore.errors import TimeframeError
from marketcore.schema import PRICE_SOURCE_CODES as _SCHEMA_CODES

__all__ = ["Timeframe", "SessionOffset", "session_offset_ns", "FXCM_SESSION_OFFSET", "PRICE_SOURCE_CODES"]

_UNIT_NS: Final = {
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
}
_PATTERN: Final = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d)\s*$")
NS_PER_DAY: Final = _UNIT_NS["d"]

#: FXCM trading days run 05:00 -> 05:00 UTC (midnight in fixed UTC-05:00).
FXCM_SESSION_OFFSET: Final = 5 * _UNIT_NS["h"]

#: Codes of the price sources inside the kernels (the sources are named in :mod:`marketcore.schema`).
PRICE_SOURCE_CODES: Final = _SCHEMA_CODES


@dataclass(frozen=True, slots=True, order=True)
class Timeframe:
    """A bar length in nanoseconds. ``Timeframe.parse("5m")``; ``str(tf)`` gives the canonical form back."""

    ns: int

    def __post_init__(self) -> None:
        if not isinstance(self.ns, int) or self.ns <= 0:
            raise TimeframeError(f"a timeframe must be a positive number of nanoseconds, got {self.ns!r}")

    @classmethod
    def parse(cls, text: str | Timeframe) -> Timeframe:
        """Parse ``"<n><unit>"`` with unit ``ms``, ``s``, ``m``, ``h`` or ``d`` (``"1m"``, ``"4h"``,
        ``"1d"``)."""
        if isinstance(text, Timeframe):
            return text
        m = _PATTERN.match(text) if isinstance(text, str) else None
        if m is None:
            raise TimeframeError(f"cannot parse timeframe {text!r}: expected e.g. '1s', '5m', '4h', '1d'")
        n = int(m.group(1))
        if n == 0:
            raise TimeframeError(f"timeframe {text!r} is zero")
        return cls(n * _UNIT_NS[m.group(2)])

    def __str__(self) -> str:
        for unit in ("d", "h", "m", "s", "ms"):
            size = _UNIT_NS[unit]
            if self.ns % size == 0:
                return f"{self.ns // size}{unit}"
        return f"{self.ns}ns"

    def __repr__(self) -> str:
        return f"Timeframe({str(self)!r})"

    def bucket(self, ts: int, origin: int = 0) -> int:
        """The open time of the bar containing ``ts`` (bars are aligned on ``origin``)."""
        return origin + (ts - origin) // self.ns * self.ns


SessionOffset = int | timedelta | str


def session_offset_ns(value: SessionOffset) -> int:
    """The session start as nanoseconds after UTC midnight, from one of:

    - ``int``: nanoseconds after UTC midnight (``FXCM_SESSION_OFFSET`` = 5 h);
    - ``timedelta``: same meaning (``timedelta(hours=5)``);
    - ``"UTC-05:00"`` / ``"-05:00"`` / ``"+02:00"``: a fixed UTC offset whose local midnight starts the day
      (UTC-05:00 -> 05:00 UTC);
    - a zoneinfo name with a fixed offset (``"Etc/GMT+5"``, ``"UTC"``). Zones with DST are refused with a
      clear error: a day boundary that moves needs variable-length bars, which the kernels do not build.
    """
    if isinstance(value, bool):
        raise TimeframeError(f"invalid session offset {value!r}")
    if isinstance(value, int):
        return value % NS_PER_DAY
    if isinstance(value, timedelta):
        return (value // timedelta(microseconds=1)) * 1000 % NS_PER_DAY
    if isinstance(value, str):
        return _offset_from_text(value)
    raise TimeframeError(f"invalid session offset {value!r}")


def _offset_from_text(text: str) -> int:
    """The session start of a fixed-offset clock (``"-05:00"``, ``"UTC+02:00"``, ``"Etc/GMT+5"``): the UTC time
    of its local midnight. Parsed by :func:`marketcore.io.timezone.parse_tz`, the one zone parser."""
    from marketcore.errors import DataFormatError
    from marketcore.io.timezone import is_fixed, offset_ns

    try:
        fixed = is_fixed(text)
        offset = offset_ns(text) if fixed else 0
    except DataFormatError as e:
        raise TimeframeError(f"unknown session time zone {text!r}: {e}") from e
    if not fixed:
        raise TimeframeError(
            f"time zone {text!r} has daylight saving time; only fixed offsets are supported for sessions"
        )
    return (-offset) % NS_PER_DAY
