"""Replay of recorded ticks: several symbols merged in time order, one day file per symbol in memory.

:meth:`ReplaySource.next_batch` returns a :class:`ReplayBatch`: every tick of every symbol in a data-time
interval, grouped per symbol (what a feeder publishes on per-symbol topics), with :meth:`ReplayBatch.merged`
for consumers that need the exact global order. Global order is by timestamp, ties by symbol order (stable).
Pacing is separate (:class:`~marketcore.sources.pacer.Pacer`).
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from marketcore.errors import DataSourceError
from marketcore.io.discover import DataFile, DataSet, discover
from marketcore.io.validate import OnError, SkipCounts
from marketcore.schema import TICK_DTYPE
from marketcore.sources._cursor import Cursor
from marketcore.sources.timeutil import TimeLike, to_ns

_INT64_MAX = np.iinfo(np.int64).max
_INT64_MIN = np.iinfo(np.int64).min


@dataclasses.dataclass(frozen=True)
class ReplayBatch:
    """Ticks with ``start_ns <= ts <= end_ns`` of several symbols; earlier ticks came in earlier batches."""

    start_ns: int
    end_ns: int
    runs: tuple[tuple[str, np.ndarray], ...]  # (symbol, ticks in time order), symbols in source order

    @property
    def size(self) -> int:
        return sum(t.size for _, t in self.runs)

    def merged(self, symbol_ids: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
        """(int32 symbol ids, ticks) in global order: by ts, ties by symbol order."""
        ids = np.concatenate([np.full(t.size, symbol_ids[s], dtype=np.int32) for s, t in self.runs])
        ticks = np.concatenate([t for _, t in self.runs])
        order = np.argsort(ticks["ts"], kind="stable")
        return ids[order], ticks[order]


@dataclasses.dataclass(frozen=True)
class ReplayProgress:
    ticks_done: int
    ticks_total: int  # exact once every file was read, else an estimate from file sizes
    total_is_exact: bool
    data_time_ns: int | None  # last tick released
    files_read: int
    files_total: int
    skipped: dict[str, int]  # bad rows dropped, by reason

    @property
    def fraction(self) -> float:
        return min(1.0, self.ticks_done / self.ticks_total) if self.ticks_total else 1.0


class ReplaySource:
    """Recorded ticks of several symbols in global time order, read lazily; ``end`` is exclusive."""

    def __init__(
        self,
        datasets: Sequence[DataSet] | str | Path,
        symbols: Sequence[str] | None = None,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        *,
        on_error: OnError = "skip",
        history_cache_files: int = 4,
    ) -> None:
        if isinstance(datasets, str | Path):
            datasets = discover(datasets)
        by_symbol = _tick_sets(datasets)
        if symbols is not None:
            wanted = [s.upper() for s in symbols]
            missing = [s for s in wanted if s not in by_symbol]
            if missing:
                raise DataSourceError(f"no tick data for {missing}; available: {sorted(by_symbol)}")
            by_symbol = {s: by_symbol[s] for s in wanted}
        if not by_symbol:
            raise DataSourceError("no tick data sets to replay")
        self.start_ns = _INT64_MIN if start is None else to_ns(start)
        self.end_ns = _INT64_MAX if end is None else to_ns(end)
        if self.end_ns <= self.start_ns:
            raise DataSourceError("replay end must be after start")
        self.symbols: tuple[str, ...] = tuple(by_symbol)
        self.symbol_ids = {s: i for i, s in enumerate(self.symbols)}
        self._datasets = by_symbol
        self._on_error = on_error
        self._cursors = [Cursor(by_symbol[s], self.start_ns, self.end_ns, on_error) for s in self.symbols]
        self._data_time: int | None = None
        self._cache: OrderedDict[Path, np.ndarray] = OrderedDict()
        self._cache_size = history_cache_files
        self._history_counts = SkipCounts()

    # --- streaming ------------------------------------------------------------------------------------------

    def next_batch(self, max_ticks: int = 10_000, max_span_ns: int | None = None) -> ReplayBatch | None:
        """The next ticks of all symbols, at most ``max_span_ns`` of data time and about ``max_ticks`` ticks
        (more only when more than ``max_ticks`` ticks share one timestamp); None at the end."""
        if max_ticks < 1 or (max_span_ns is not None and max_span_ns < 1):
            raise DataSourceError("max_ticks and max_span_ns must be >= 1")
        live = [(c, h) for c in self._cursors if (h := c.head_ts()) is not None]
        if not live:
            return None
        t0 = min(h for _, h in live)
        t_end = _INT64_MAX if max_span_ns is None else t0 + max_span_ns
        for c, _ in live:  # never cross a file boundary: later files are not loaded yet
            if c.more_files():
                t_end = min(t_end, c.last_loaded_ts() + 1)
        t_end = self._cap_count(live, t0, t_end, max_ticks)
        runs = []
        for sym, c in zip(self.symbols, self._cursors, strict=True):
            if c.head_ts() is not None:
                ticks = c.take_before(t_end)
                if ticks.size:
                    runs.append((sym, ticks))
        end = max(int(t["ts"][-1]) for _, t in runs)
        self._data_time = end
        return ReplayBatch(t0, end, tuple(runs))

    def batches(self, max_ticks: int = 10_000, max_span_ns: int | None = None) -> Iterator[ReplayBatch]:
        while (batch := self.next_batch(max_ticks, max_span_ns)) is not None:
            yield batch

    def merged(self, max_ticks: int = 100_000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(int32 symbol ids, ticks) chunks in exact global order."""
        for batch in self.batches(max_ticks):
            yield batch.merged(self.symbol_ids)

    @staticmethod
    def _cap_count(live: list[tuple[Cursor, int]], t0: int, t_end: int, max_ticks: int) -> int:
        if sum(c.count_before(t_end) for c, _ in live) <= max_ticks:
            return t_end
        cand = np.concatenate([c.peek_ts(max_ticks + 1) for c, _ in live])
        kth = int(np.partition(cand, max_ticks)[max_ticks])  # ticks strictly before it: <= max_ticks
        return min(t_end, max(kth, t0 + 1))

    def progress(self) -> ReplayProgress:
        totals = [c.estimated_total() for c in self._cursors]
        skipped = SkipCounts()
        for c in self._cursors:
            skipped.add(c.counts)
        return ReplayProgress(
            ticks_done=sum(c.done_ticks for c in self._cursors),
            ticks_total=sum(t for t, _ in totals),
            total_is_exact=all(exact for _, exact in totals),
            data_time_ns=self._data_time,
            files_read=sum(c.next_file for c in self._cursors),
            files_total=sum(len(c.files) for c in self._cursors),
            skipped=skipped.as_dict(),
        )

    # --- history --------------------------------------------------------------------------------------------

    def history(self, symbol: str, start_ns: int, end_ns: int, limit: int | None = None) -> np.ndarray:
        """Ticks of ``symbol`` with ``start_ns <= ts < end_ns`` from the same files (any time, not only the
        replay window); with ``limit``, the last ``limit`` of them."""
        ds = self._datasets.get(symbol.upper())
        if ds is None:
            raise DataSourceError(f"unknown symbol {symbol!r}; available: {list(self.symbols)}")
        if end_ns <= start_ns:
            return np.empty(0, dtype=TICK_DTYPE)
        parts = []
        for f in ds.files:
            if (f.end_ns is not None and f.end_ns <= start_ns) or (
                f.start_ns is not None and f.start_ns >= end_ns
            ):
                continue
            ticks = self._cached(ds, f)
            lo, hi = np.searchsorted(ticks["ts"], [start_ns, end_ns], side="left")
            if hi > lo:
                parts.append(ticks[lo:hi])
        out = np.concatenate(parts) if parts else np.empty(0, dtype=TICK_DTYPE)
        return out[-limit:] if limit is not None and out.size > limit else out

    def _cached(self, ds: DataSet, f: DataFile) -> np.ndarray:
        if f.path in self._cache:
            self._cache.move_to_end(f.path)
            return self._cache[f.path]
        ticks = ds.load(f, on_error=self._on_error, counts=self._history_counts)
        if ticks.size and (np.diff(ticks["ts"]) < 0).any():  # cannot happen in skip mode; be sure for raise
            raise DataSourceError(f"{f.path}: ticks out of order")
        self._cache[f.path] = ticks
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return ticks


def _tick_sets(datasets: Sequence[DataSet]) -> dict[str, DataSet]:
    out: dict[str, DataSet] = {}
    for ds in datasets:
        if not ds.has_ticks:
            continue
        if ds.symbol in out:
            raise DataSourceError(f"two tick data sets for {ds.symbol}: pass the one to replay")
        out[ds.symbol] = ds
    return out
