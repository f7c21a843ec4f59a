"""The one parser of data clocks: IANA zone names (``America/New_York``, via :mod:`zoneinfo`) and fixed UTC
offsets (``-05:00``, ``+0530``, ``UTC-05:00``, ``UTC``, a ``timedelta``), without regular expressions; and the
conversion of a day's local times to UTC nanoseconds, DST included."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from marketcore.errors import DataFormatError

TzOffset = dt.timedelta | dt.tzinfo | str  # anything parse_tz accepts

NS_PER_HOUR = 3_600_000_000_000
NS_PER_DAY = 24 * NS_PER_HOUR
_EPOCH = dt.date(1970, 1, 1)
_HINT = "use an IANA zone name (America/New_York) or a fixed offset (-05:00, +0530, UTC)"


def parse_tz(value: TzOffset) -> dt.tzinfo:
    """A ``tzinfo`` for ``value``; raises :class:`DataFormatError` with the accepted forms otherwise."""
    if isinstance(value, dt.tzinfo):
        return value
    if isinstance(value, dt.timedelta):
        return _fixed(value, value)
    text = value.strip()
    upper = text.upper()
    if upper in ("UTC", "Z", "GMT", "UTC+00:00", "+00:00", "-00:00"):
        return dt.UTC
    body = upper.removeprefix("UTC").removeprefix("GMT")
    if body[:1] in ("+", "-"):
        digits = body[1:].replace(":", "")
        if not digits.isdigit() or len(digits) not in (1, 2, 4):
            raise DataFormatError(f"bad UTC offset {value!r}: {_HINT}")
        hours, minutes = (int(digits), 0) if len(digits) <= 2 else (int(digits[:2]), int(digits[2:]))
        if minutes >= 60:
            raise DataFormatError(f"bad UTC offset {value!r}: {_HINT}")
        sign = -1 if body[0] == "-" else 1
        return _fixed(sign * dt.timedelta(hours=hours, minutes=minutes), value)
    if not text:
        raise DataFormatError(f"empty time zone: {_HINT}")
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DataFormatError(f"unknown time zone {value!r}: {_HINT}") from exc


def _fixed(delta: dt.timedelta, given: object) -> dt.tzinfo:
    if abs(delta) > dt.timedelta(hours=14):
        raise DataFormatError(f"UTC offset {given!r} is beyond +/-14 h")
    return dt.timezone(delta) if delta else dt.UTC


def _td_ns(delta: dt.timedelta | None) -> int:
    delta = delta or dt.timedelta(0)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def offset_ns(tz: TzOffset, day: dt.date | None = None) -> int:
    """The offset from UTC in ns of the clock ``tz`` at 00:00 local on ``day`` (FXCM "-05:00" gives -5 h).

    Without ``day``, only zones whose offset never changes are accepted."""
    zone = parse_tz(tz)
    if day is None:
        jan, jul = (zone.utcoffset(dt.datetime(2001, m, 1)) for m in (1, 7))
        if jan != jul:
            raise DataFormatError(f"time zone {tz!r} changes offset (DST): a date is needed")
        return _td_ns(jan)
    return _td_ns(zone.utcoffset(dt.datetime.combine(day, dt.time())))


def is_fixed(tz: TzOffset) -> bool:
    """True when the zone's offset is the same in January and July (no DST)."""
    zone = parse_tz(tz)
    return zone.utcoffset(dt.datetime(2001, 1, 1)) == zone.utcoffset(dt.datetime(2001, 7, 1))


def local_day_to_utc_ns(day: dt.date, local_ns: np.ndarray, tz: TzOffset) -> np.ndarray:
    """UTC ns of times given as ns after 00:00 on ``day`` in the clock ``tz``.

    One vectorised add when the offset is the same at both ends of the day (fixed offsets, and every day but
    two a year in a DST zone); on a DST-change day each time takes the offset of its local hour (changes happen
    on the hour in the tz database's zones; an ambiguous hour takes the first, ``fold=0``)."""
    zone = parse_tz(tz)
    days = (day - _EPOCH).days
    first = _td_ns(zone.utcoffset(dt.datetime.combine(day, dt.time())))
    last = _td_ns(zone.utcoffset(dt.datetime.combine(day + dt.timedelta(days=1), dt.time())))
    base = days * NS_PER_DAY
    if first == last:
        return base - first + local_ns
    midnight = dt.datetime.combine(day, dt.time())
    hourly = np.array([_td_ns(zone.utcoffset(midnight + dt.timedelta(hours=h))) for h in range(25)])
    hour = np.clip(local_ns // NS_PER_HOUR, 0, 24)
    out: np.ndarray = base + local_ns - hourly[hour]
    return out
