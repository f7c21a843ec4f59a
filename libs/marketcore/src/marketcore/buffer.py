"""A fixed-window time series backed by a larger array: amortised O(1) appends, always a contiguous view.

The backing ndarray has ``capacity`` rows, many more than the live ``window``. Appends write after the
live rows and the buffer just moves its view; when the end of the backing array is reached, the rows that stay
live are copied back to the start (a *compaction*, counted in :attr:`TimeSeriesBuffer.compactions`). With
``capacity = factor * window`` a compaction copies at most ``window`` rows every ``(factor - 1) * window``
appends, so an append costs O(1) amortised and :attr:`TimeSeriesBuffer.view` is always one contiguous slice
that numpy and numba kernels can use directly, without a copy.

A view is a window on the backing memory *at the time it is taken*: after further appends (and in
particular after a compaction) an old view may show overwritten rows. Take a fresh ``view`` after each
update, or copy it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from marketcore.errors import SeriesError

__all__ = ["TimeSeriesBuffer"]


class TimeSeriesBuffer:
    """The last ``window`` rows of a stream of records (structured dtype such as TICK_DTYPE/BAR_DTYPE, or
    scalar).

    If the dtype has an integer ``ts`` field the buffer keeps rows in non-decreasing ``ts`` order (an append
    or ``update_last`` that would go back in time raises :class:`SeriesError`) and offers :meth:`since` and
    :meth:`range` by binary search. Pass ``ordered=False`` to skip that check (then ``since``/``range``
    refuse).
    """

    __slots__ = ("_data", "_start", "_end", "_window", "_compactions", "_has_ts", "_ordered")

    def __init__(
        self,
        dtype: np.dtype[Any] | type | str,
        window: int,
        *,
        factor: int = 8,
        capacity: int | None = None,
        ordered: bool = True,
    ) -> None:
        dt = np.dtype(dtype)
        if window < 1:
            raise SeriesError(f"window must be >= 1, got {window}")
        cap = capacity if capacity is not None else factor * window
        if cap <= window:
            raise SeriesError(f"capacity ({cap}) must be larger than the window ({window})")
        if dt.subdtype is not None or dt.hasobject:
            raise SeriesError(f"unsupported dtype {dt}: use a structured or scalar numeric dtype")
        self._data = np.zeros(cap, dtype=dt)
        self._start = 0
        self._end = 0
        self._window = window
        self._compactions = 0
        fields: dict[str, Any] = dict(dt.fields or {})
        self._has_ts = "ts" in fields and fields["ts"][0].kind in "iu"
        self._ordered = ordered and self._has_ts

    # -- size and shape -------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._end - self._start

    @property
    def window(self) -> int:
        """The maximum number of live rows."""
        return self._window

    @property
    def capacity(self) -> int:
        """Rows in the backing array."""
        return int(self._data.shape[0])

    @property
    def dtype(self) -> np.dtype[Any]:
        dt: np.dtype[Any] = self._data.dtype
        return dt

    @property
    def fill(self) -> float:
        """``len / window``: 1.0 once the window is full."""
        return (self._end - self._start) / self._window

    @property
    def compactions(self) -> int:
        """How many times the live rows were copied back to the start of the backing array."""
        return self._compactions

    @property
    def backing(self) -> np.ndarray:
        """The whole backing array (for inspection and tests; rows outside :attr:`view` are stale)."""
        return self._data

    # -- reading --------------------------------------------------------------------------------------------
    @property
    def view(self) -> np.ndarray:
        """The live rows, oldest first: a contiguous view on the backing array (no copy)."""
        return self._data[self._start : self._end]

    @property
    def last(self) -> Any:
        """A copy of the newest row (``np.void`` for structured dtypes, a numpy scalar otherwise)."""
        if self._end == self._start:
            raise SeriesError("the buffer is empty")
        return self._data[self._end - 1].copy()

    def since(self, ts: int) -> np.ndarray:
        """The live rows with ``ts >= ts`` (a view)."""
        v = self._ts_view()
        i = int(np.searchsorted(v["ts"], ts, side="left"))
        return v[i:]

    def range(self, t0: int, t1: int) -> np.ndarray:
        """The live rows with ``t0 <= ts < t1`` (a view)."""
        v = self._ts_view()
        times = v["ts"]
        i = int(np.searchsorted(times, t0, side="left"))
        j = int(np.searchsorted(times, t1, side="left"))
        return v[i : max(i, j)]

    def _ts_view(self) -> np.ndarray:
        if not self._ordered:
            raise SeriesError("since/range need a dtype with an integer 'ts' field and ordered=True")
        return self._data[self._start : self._end]

    # -- writing --------------------------------------------------------------------------------------------
    def append(self, row_or_rows: Any) -> None:
        """Append one row (tuple, ``np.void`` or scalar) or a batch (1-D ndarray of the buffer's dtype).

        A batch longer than the window keeps only its last ``window`` rows.
        """
        if isinstance(row_or_rows, np.ndarray) and row_or_rows.ndim == 1:
            self.extend(row_or_rows)
            return
        if self._end == self._data.shape[0]:
            self._compact(self._window - 1)
        end = self._end
        try:
            self._data[end] = row_or_rows
        except (TypeError, ValueError) as e:
            raise SeriesError(f"cannot store {row_or_rows!r} as a {self._data.dtype} row") from e
        if self._ordered and end > self._start and self._data["ts"][end] < self._data["ts"][end - 1]:
            prev = int(self._data["ts"][end - 1])
            raise SeriesError(f"ts {int(self._data['ts'][end])} is older than the last row ({prev})")
        self._end = end + 1
        if self._end - self._start > self._window:
            self._start += 1

    def extend(self, rows: np.ndarray) -> None:
        """Append a batch of rows (1-D ndarray of the buffer's dtype, or castable to a scalar dtype)."""
        rows = self._checked_batch(rows)
        n = rows.shape[0]
        if n == 0:
            return
        if self._ordered:
            self._check_batch_order(rows)
        w = self._window
        if n >= w:
            self._data[:w] = rows[n - w :]
            self._start, self._end = 0, w
            return
        if self._end + n > self._data.shape[0]:
            self._compact(w - n)
        self._data[self._end : self._end + n] = rows
        self._end += n
        self._start = max(self._start, self._end - w)

    def update_last(self, row: Any) -> None:
        """Replace the newest row in place (e.g. the still-forming bar)."""
        end = self._end
        if end == self._start:
            raise SeriesError("update_last on an empty buffer")
        old = self._data[end - 1].copy()
        try:
            self._data[end - 1] = row
        except (TypeError, ValueError) as e:
            raise SeriesError(f"cannot store {row!r} as a {self._data.dtype} row") from e
        if self._ordered and end - 1 > self._start and self._data["ts"][end - 1] < self._data["ts"][end - 2]:
            self._data[end - 1] = old
            raise SeriesError("update_last would move the newest row before the previous one")

    def clear(self) -> None:
        """Drop every row (the backing array is kept)."""
        self._start = self._end = 0

    # -- internals ------------------------------------------------------------------------------------------
    def _compact(self, keep: int) -> None:
        """Copy the newest ``keep`` live rows to the start of the backing array."""
        keep = max(0, min(keep, self._end - self._start))
        src = self._end - keep
        if keep:
            self._data[:keep] = self._data[src : self._end]  # numpy handles the overlap
        self._start, self._end = 0, keep
        self._compactions += 1

    def _checked_batch(self, rows: np.ndarray) -> np.ndarray:
        dt = self._data.dtype
        if rows.dtype == dt:
            return rows
        if dt.names is None and rows.dtype.names is None and np.can_cast(rows.dtype, dt, "same_kind"):
            return rows.astype(dt, copy=False)
        raise SeriesError(f"batch dtype {rows.dtype} does not match the buffer dtype {dt}")

    def _check_batch_order(self, rows: np.ndarray) -> None:
        times = rows["ts"]
        if times.shape[0] > 1 and bool(np.any(times[1:] < times[:-1])):
            raise SeriesError("batch timestamps are not in non-decreasing order")
        if self._end > self._start and times[0] < self._data["ts"][self._end - 1]:
            prev = int(self._data["ts"][self._end - 1])
            raise SeriesError(f"batch starts at ts {int(times[0])}, older than the last row ({prev})")

    def __repr__(self) -> str:
        return (
            f"TimeSeriesBuffer(dtype={self._data.dtype}, len={len(self)}, window={self._window}, "
            f"capacity={self.capacity}, compactions={self._compactions})"
        )
