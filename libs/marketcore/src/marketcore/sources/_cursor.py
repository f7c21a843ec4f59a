"""One symbol's position in its day files during a replay: loads the next file only when needed."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from marketcore.io._files import uncompressed_size
from marketcore.io.discover import DataFile, DataSet
from marketcore.io.validate import OnError, SkipCounts
from marketcore.schema import TICK_DTYPE

DEFAULT_BYTES_PER_TICK = 24.0  # "17007,1.39147,1.39148\r\n"; refined from the files read


def estimated_bytes(path: Path) -> int:
    """Decompressed size without decompressing (zip directory, gzip trailer), else the file size."""
    if path.suffix == ".gz":
        with path.open("rb") as f:
            f.seek(-4, 2)
            return int.from_bytes(f.read(4), "little")  # ISIZE: size mod 2**32
    return uncompressed_size(path)


class Cursor:
    """Ticks of one data set within ``[start, end)``, one file in memory at a time, late ticks dropped."""

    def __init__(self, dataset: DataSet, start: int, end: int, on_error: OnError) -> None:
        self.dataset = dataset
        self.start = start
        self.end = end
        self.on_error = on_error
        self.counts = SkipCounts()
        self.files = [f for f in dataset.files if _overlaps(f, start, end)]
        self.file_bytes = [_safe_size(f.path) for f in self.files]
        self.next_file = 0
        self.ticks = np.empty(0, dtype=TICK_DTYPE)
        self.ts = self.ticks["ts"]
        self.pos = 0
        self.last_ts: int | None = None
        self.loaded_ticks = 0
        self.loaded_bytes = 0
        self.done_ticks = 0

    def head_ts(self) -> int | None:
        """Data time of the next tick, loading files as needed; None when finished."""
        while self.pos >= self.ts.size:
            if self.next_file >= len(self.files):
                return None
            self._load(self.files[self.next_file])
            self.next_file += 1
        return int(self.ts[self.pos])

    def last_loaded_ts(self) -> int:
        return int(self.ts[-1])

    def more_files(self) -> bool:
        return self.next_file < len(self.files)

    def count_before(self, t_end: int) -> int:
        return int(np.searchsorted(self.ts[self.pos :], t_end, side="left"))

    def peek_ts(self, n: int) -> np.ndarray:
        return self.ts[self.pos : self.pos + n]

    def take_before(self, t_end: int) -> np.ndarray:
        """The next ticks with ts < t_end within the loaded file (a view)."""
        n = self.count_before(t_end)
        out = self.ticks[self.pos : self.pos + n]
        self.pos += n
        self.done_ticks += n
        return out

    def estimated_total(self) -> tuple[int, bool]:
        """(ticks in the whole range, exact?) from the files read and the sizes of the others."""
        rest = sum(self.file_bytes[self.next_file :])
        if rest == 0:
            return self.loaded_ticks, True
        per_tick = self.loaded_bytes / self.loaded_ticks if self.loaded_ticks else DEFAULT_BYTES_PER_TICK
        return self.loaded_ticks + int(rest / per_tick), False

    def _load(self, file: DataFile) -> None:
        ticks = self.dataset.load(file, on_error=self.on_error, counts=self.counts)
        ts = ticks["ts"]
        keep = (ts >= self.start) & (ts < self.end)
        if self.last_ts is not None:
            late = keep & (ts < self.last_ts)
            self.counts.out_of_order += int(late.sum())
            keep &= ~late
        if not keep.all():
            ticks = ticks[keep]
        self.ticks = ticks
        self.ts = ticks["ts"]
        self.pos = 0
        if ticks.size:
            self.last_ts = int(self.ts[-1])
        self.loaded_ticks += ticks.size
        self.loaded_bytes += self.file_bytes[self.next_file]


def _overlaps(f: DataFile, start: int, end: int) -> bool:
    return not (
        (f.end_ns is not None and f.end_ns <= start) or (f.start_ns is not None and f.start_ns >= end)
    )


def _safe_size(path: Path) -> int:
    try:
        return estimated_bytes(path)
    except (OSError, gzip.BadGzipFile, ValueError):
        return 0
