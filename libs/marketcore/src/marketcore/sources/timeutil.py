"""Converting user time values (ns int, datetime, numpy datetime64, ISO text) to UTC ns."""

from __future__ import annotations

import datetime as dt

import numpy as np

from marketcore.errors import DataSourceError

TimeLike = int | dt.datetime | dt.date | np.datetime64 | str

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def to_ns(value: TimeLike) -> int:
    """UTC ns since the epoch; naive datetimes and ISO text without an offset are taken as UTC."""
    if isinstance(value, bool):
        raise DataSourceError(f"not a time: {value!r}")
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError as e:
            raise DataSourceError(f"not an ISO time: {value!r}") from e
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        delta = aware - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    if isinstance(value, dt.date):
        return (value - _EPOCH.date()).days * 86_400 * 1_000_000_000
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[ns]").astype(np.int64))
    raise DataSourceError(f"not a time: {value!r}")
