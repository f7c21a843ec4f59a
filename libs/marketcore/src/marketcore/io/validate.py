"""Row checks shared by the readers: strict mode raises naming the line, stream mode drops and counts."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

import numpy as np

from marketcore.errors import DataFormatError
from marketcore.ticks import positive

__all__ = ["OnError", "SkipCounts", "check_on_error", "ohlc_ok", "positive", "select_rows"]

OnError = Literal["raise", "skip"]


@dataclasses.dataclass
class SkipCounts:
    """Rows dropped by a stream reader, by reason (a mutable counter accumulating over calls)."""

    unparsable: int = 0
    bad_price: int = 0  # NaN, zero or negative price, or an inconsistent bar (high < low...)
    out_of_order: int = 0  # timestamp earlier than the previous kept row

    @property
    def total(self) -> int:
        return self.unparsable + self.bad_price + self.out_of_order

    def add(self, other: SkipCounts) -> None:
        self.unparsable += other.unparsable
        self.bad_price += other.bad_price
        self.out_of_order += other.out_of_order

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


def check_on_error(on_error: str) -> None:
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', not {on_error!r}")


def select_rows(
    path: str | Path,
    ts: np.ndarray,
    parsed_ok: np.ndarray,
    price_ok: np.ndarray,
    line_no: np.ndarray,
    on_error: OnError,
    counts: SkipCounts | None,
    *,
    what: str = "line",
    min_ts: int | None = None,
) -> np.ndarray:
    """The boolean mask of rows to keep, after raising (strict) or counting (stream) the bad ones.

    A row is out of order when its ``ts`` is below the largest ``ts`` kept before it (or below ``min_ts``).
    """
    if on_error == "raise":
        _raise_first(path, ts, parsed_ok, price_ok, line_no, what, min_ts)
        return np.ones(ts.size, dtype=np.bool_)
    good = parsed_ok & price_ok
    keep = good.copy()
    if ts.size:
        floor = np.iinfo(np.int64).min if min_ts is None else min_ts
        gts = np.where(good, ts, floor)
        running = np.maximum.accumulate(np.maximum(gts, floor))
        keep &= ts >= running
    if counts is not None:
        counts.unparsable += int((~parsed_ok).sum())
        counts.bad_price += int((parsed_ok & ~price_ok).sum())
        counts.out_of_order += int((good & ~keep).sum())
    result: np.ndarray = keep
    return result


def _raise_first(
    path: str | Path,
    ts: np.ndarray,
    parsed_ok: np.ndarray,
    price_ok: np.ndarray,
    line_no: np.ndarray,
    what: str,
    min_ts: int | None,
) -> None:
    bad = np.flatnonzero(~parsed_ok)
    if bad.size:
        raise DataFormatError(f"{path}: {what} {line_no[bad[0]]}: unparsable row")
    bad = np.flatnonzero(~price_ok)
    if bad.size:
        raise DataFormatError(f"{path}: {what} {line_no[bad[0]]}: NaN, non-positive or inconsistent price")
    if ts.size and min_ts is not None and ts[0] < min_ts:
        raise DataFormatError(f"{path}: {what} {line_no[0]}: timestamp before the file's period")
    bad = np.flatnonzero(np.diff(ts) < 0)
    if bad.size:
        raise DataFormatError(
            f"{path}: {what} {line_no[bad[0] + 1]}: timestamp earlier than the previous row"
        )


def ohlc_ok(o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Positive prices, low <= open/close <= high, size finite and >= 0."""
    ok: np.ndarray = (
        positive(o, h, lo, c)
        & (lo <= np.minimum(o, c))
        & (h >= np.maximum(o, c))
        & np.isfinite(size)
        & (size >= 0)
    )
    return ok
