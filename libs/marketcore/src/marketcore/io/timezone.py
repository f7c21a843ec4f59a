"""Fixed UTC offsets of recorded data ("-05:00", "+00:00", "UTC", timedelta) as integer nanoseconds."""

from __future__ import annotations

import datetime as dt
import re

from marketcore.errors import DataFormatError

TzOffset = dt.timedelta | str

_OFFSET_RE = re.compile(r"^(?:UTC|GMT)?([+-])(\d{1,2}):?(\d{2})?$")


def offset_ns(tz_offset: TzOffset) -> int:
    """The offset of the data clock from UTC in ns (FXCM "-05:00" gives -5 h); raises on anything else."""
    if isinstance(tz_offset, dt.timedelta):
        total = tz_offset
    else:
        text = tz_offset.strip().upper()
        if text in ("UTC", "Z", "GMT", "+00:00", "-00:00", "00:00"):
            return 0
        m = _OFFSET_RE.match(text)
        if m is None:
            raise DataFormatError(f"bad UTC offset {tz_offset!r}: use '+HH:MM', '-HH:MM' or 'UTC'")
        sign = -1 if m.group(1) == "-" else 1
        total = sign * dt.timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))
    if abs(total) > dt.timedelta(hours=14):
        raise DataFormatError(f"UTC offset {tz_offset!r} is beyond +/-14 h")
    return (total.days * 86_400 + total.seconds) * 1_000_000_000 + total.microseconds * 1_000
