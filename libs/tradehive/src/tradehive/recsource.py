"""A tick source over a recording (``tradehive.recording``): the ticks a router published during a recorded session,
fed back in their recorded order, message by message, with their recorded data times, at 1x, Nx or max speed.

Registered as the tick source ``recording`` (the ``marketcore.tick_sources`` entry point of this package): a feeder
runs it with ``source = "recording"`` and ``options = {"recording": DIR}``. The recorded warm-up history (the ticks
the router held before the recording started, publisher ``history``) is served as history, never streamed, so a
router loading its initial history gets what the recorded router had.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc
from marketcore.errors import DataSourceError
from marketcore.schema import TICK_DTYPE
from marketcore.sources import Pacer, SourceContext, Speed, TickPoll, parse_speed

from tradehive.recording import HISTORY, Recording, RecordingError


class RecordedTicks:
    """The recorded ticks as one array with, per row, its symbol index and whether it is history; live rows
    grouped into the messages they were published in (consecutive rows of one symbol and sequence number)."""

    def __init__(self, root: str | Path, symbols: list[str] | None = None) -> None:
        try:
            table = Recording(root).table("ticks")
        except RecordingError as exc:
            raise DataSourceError(str(exc)) from exc
        sym = table.column("symbol").to_numpy(zero_copy_only=False).astype(str)
        hist = pc.equal(table.column("publisher"), HISTORY).to_numpy(zero_copy_only=False).astype(bool)
        seq = table.column("seq").to_numpy()
        ticks = np.empty(table.num_rows, dtype=TICK_DTYPE)
        for name in TICK_DTYPE.names or ():
            ticks[name] = table.column(name).to_numpy()
        live_syms = list(dict.fromkeys(sym[~hist].tolist()))
        wanted = [s.upper() for s in symbols] if symbols else live_syms
        missing = sorted(set(wanted) - set(live_syms))
        if missing:
            raise DataSourceError(f"{root}: no recorded ticks of {missing}; recorded: {live_syms}")
        self.symbols = tuple(wanted)
        self.history: dict[str, np.ndarray] = {}
        for s in self.symbols:
            mine = sym == s
            rows = ticks[mine]
            self.history[s] = rows[np.argsort(rows["ts"], kind="stable")]  # everything, for history requests
        keep = ~hist & np.isin(sym, np.array(self.symbols, dtype=str))
        self.live = ticks[keep]
        self.live_sym = sym[keep]
        lsq = seq[keep]
        change = np.flatnonzero((self.live_sym[1:] != self.live_sym[:-1]) | (lsq[1:] != lsq[:-1])) + 1
        self.bounds = np.concatenate([[0], change, [self.live.size]]).astype(
            np.int64
        )  # message i: [b[i], b[i+1])

    @property
    def messages(self) -> int:
        return int(self.bounds.size - 1)


class RecordingSource:
    """The recorded messages paced by data time (the running maximum: symbols interleave), ``batch_max`` ticks per
    poll at most (whole messages)."""

    kind = "recording"
    live = False

    def __init__(self, recorded: RecordedTicks, speed: Speed = "max", batch_max: int = 10_000) -> None:
        self.rec = recorded
        self.pacer = Pacer(speed)
        self.batch_max = max(1, batch_max)
        self._next = 0  # next message
        self._high = 0  # data time released so far (max)
        self._held: tuple[list[tuple[str, np.ndarray]], int] | None = None
        self._due = 0.0
        self.finished = False

    @property
    def symbols(self) -> tuple[str, ...]:
        return self.rec.symbols

    def _take(self) -> tuple[list[tuple[str, np.ndarray]], int] | None:
        b, n = self.rec.bounds, self.rec.messages
        if self._next >= n:
            return None
        runs: list[tuple[str, np.ndarray]] = []
        size, end = 0, self._high
        span = self.pacer.max_span_ns
        first_ts: int | None = None
        while self._next < n:
            lo, hi = int(b[self._next]), int(b[self._next + 1])
            ticks = self.rec.live[lo:hi]
            last = int(ticks["ts"][-1])
            if runs and (size + ticks.size > self.batch_max or (span is not None and first_ts is not None
                                                                 and last - first_ts > span)):  # fmt: skip
                break
            first_ts = last if first_ts is None else first_ts
            runs.append((str(self.rec.live_sym[lo]), ticks.copy()))
            size += int(ticks.size)
            end = max(end, last)
            self._next += 1
        return runs, end

    def poll(self, now_ns: int) -> TickPoll:
        import time

        if self._held is None:
            taken = self._take()
            if taken is None:
                self.finished = True
                return TickPoll(done=True)
            self._held = taken
            self._due = time.monotonic() + self.pacer.delay(taken[1])
        wait = self._due - time.monotonic()
        if wait > 0:
            return TickPoll(wait_s=wait)
        runs, self._high = self._held
        self._held = None
        return TickPoll(runs=runs)

    def history(self, symbol: str, start_ns: int, end_ns: int, limit: int | None = None) -> np.ndarray:
        rows = self.rec.history.get(symbol.upper())
        if rows is None:
            raise DataSourceError(f"no recorded ticks of {symbol!r}; recorded: {list(self.rec.symbols)}")
        lo, hi = np.searchsorted(rows["ts"], [start_ns, end_ns], side="left")
        out = rows[int(lo) : int(hi)]
        return np.ascontiguousarray(out[-limit:] if limit else out)

    def set_speed(self, speed: Speed) -> Speed:
        self.pacer.set_speed(speed)
        return self.pacer.speed

    def status(self) -> dict[str, Any]:
        n = self.rec.messages
        done = int(self.rec.bounds[self._next]) if n else 0
        total = int(self.rec.live.size)
        return {
            "speed": self.pacer.speed, "finished": self.finished, "lag_s": self.pacer.lag(),
            "progress": {"ticks_done": done, "ticks_total": total, "fraction": round(done / total, 4) if total else 1.0,
                         "data_time_ns": self._high or None, "skipped": {}},
        }  # fmt: skip

    def close(self) -> None:
        self._held = None


def make_recording_source(ctx: SourceContext) -> RecordingSource:
    """The ``recording`` tick source: options ``recording`` (the directory), ``symbols``, ``speed``, ``batch_max``."""
    o = ctx.options
    root = o.get("recording") or o.get("data_dir")
    if not root:
        raise DataSourceError("the recording source needs the option recording (a recording directory)")
    rec = RecordedTicks(root, list(o.get("symbols") or []) or None)
    return RecordingSource(rec, parse_speed(str(o.get("speed", "max"))), int(o.get("batch_max", 10_000)))


__all__ = ["RecordedTicks", "RecordingSource", "make_recording_source"]
