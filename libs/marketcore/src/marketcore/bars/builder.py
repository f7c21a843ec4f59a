"""Streaming bar builders: feed tick batches (1 or 10,000), get the bars they closed and the forming bars.

One builder aggregates several bar specs (timeframes, or tick/volume counts) times several price sources in
one numba pass per batch; its whole state lives in small numpy arrays (see ``_stream_kernel``). Rules:

- a tick older than the newest accepted tick, or older than the clock set by :meth:`BarBuilder.close_until`,
  is rejected and counted (``rejected_out_of_order``), never merged into a closed bar;
- a tick whose price for a source is NaN, infinite or <= 0 (or whose volume is NaN/negative) is rejected for
  that source and counted (``rejected_invalid``); crossed or locked quotes (bid >= ask) are valid ticks;
- time bars close when a tick (or the clock) reaches the end of their interval; in ``fill`` mode every empty
  interval between two bars is emitted as a bar with O=H=L=C=previous close, volume 0, count 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np

from marketcore.bars import _stream_kernel as kk
from marketcore.bars.timeframe import PRICE_SOURCE_CODES, SessionOffset, Timeframe, session_offset_ns
from marketcore.errors import TickDataError
from marketcore.schema import BAR_DTYPE, TICK_DTYPE

__all__ = ["BarBuilder", "TickBarBuilder", "VolumeBarBuilder", "BarUpdates", "TickCount", "VolumeCount"]

_MAX_CAP = 4096
_stream = kk.stream_direct
_direct, _KEY_MASK = kk.direct_entries, kk.KEY_MASK  # the compiled kernel per ticks' array flags
_H_PENDING = kk.H_PENDING
_H_CALL_REJ_ORDER, _H_CALL_REJ_INVALID = kk.H_CALL_REJ_ORDER, kk.H_CALL_REJ_INVALID
_HARVEST, _DONE_QUIET = kk.HARVEST, kk.DONE  # DONE alone: nothing closed, nothing rejected


@dataclass(frozen=True, slots=True)
class TickCount:
    """A bar every ``n`` ticks."""

    n: int

    def __str__(self) -> str:
        return f"{self.n}ticks"


@dataclass(frozen=True, slots=True)
class VolumeCount:
    """A bar each time the summed volume reaches ``v``."""

    v: float

    def __str__(self) -> str:
        return f"{self.v:g}volume"


BarSpec = Timeframe | TickCount | VolumeCount
Key = tuple[BarSpec, str]


class BarUpdates(NamedTuple):
    """What one batch (or one clock call) changed (an immutable tuple: cheap to build per tick).

    ``closed[j]`` holds the bars closed for key ``keys[j]`` (oldest first; empty arrays are shared and
    read-only). ``partial_raw`` is the snapshot of the forming bars as raw BAR_DTYPE bytes (ready for the
    wire); :attr:`partial` decodes it: one row per key, the still-forming bar or a row with ``count == 0``
    when there is none.
    """

    keys: tuple[Key, ...]
    closed: tuple[np.ndarray, ...]
    partial_raw: bytes
    n_closed: int
    rejected_out_of_order: int
    rejected_invalid: int
    key_index: dict[object, int]

    @property
    def partial(self) -> np.ndarray:
        """The forming bar of every key (a read-only BAR_DTYPE array, one row per key)."""
        return np.frombuffer(self.partial_raw, dtype=BAR_DTYPE)

    def closed_bars(self, spec: BarSpec | str, source: str) -> np.ndarray:
        """The bars closed for ``(spec, source)``, e.g. ``closed_bars("1m", "bid")``."""
        return self.closed[self._key(spec, source)]

    def partial_bar(self, spec: BarSpec | str, source: str) -> np.void | None:
        """The forming bar of ``(spec, source)``, or None when no tick has opened one."""
        row = self.partial[self._key(spec, source)]
        return row if row["count"] > 0 else None

    def _key(self, spec: BarSpec | str, source: str) -> int:
        try:
            return self.key_index[(spec, source)]
        except KeyError:
            raise TickDataError(f"this builder has no bars for ({spec!s}, {source!r})") from None


_new_updates = tuple.__new__


class _StreamingBuilder:
    """The shared machinery: state arrays, the resumable kernel loop, harvesting closed bars."""

    def __init__(
        self,
        specs: Sequence[BarSpec],
        price_sources: Sequence[str],
        *,
        fill: bool,
        origin: int,
        capacity: int = 64,
    ) -> None:
        if not specs:
            raise TickDataError("a bar builder needs at least one bar spec")
        sources = tuple(price_sources)
        if not sources:
            raise TickDataError("a bar builder needs at least one price source")
        for src in sources:
            if src not in PRICE_SOURCE_CODES:
                raise TickDataError(
                    f"unknown price source {src!r}: expected one of {sorted(PRICE_SOURCE_CODES)}"
                )
        if len(set(specs)) != len(specs) or len(set(sources)) != len(sources):
            raise TickDataError("bar specs and price sources must be unique")
        self._specs = tuple(specs)
        self._sources = sources
        k_n, s_n = len(specs), len(sources)
        o_src, o_spec, o_bk, o_key, total = kk.layout(k_n, s_n)
        self._o_key, self._o_rej = o_key, o_key + 2 * k_n * s_n
        ist = np.zeros(total, dtype=np.int64)
        ist[kk.H_K], ist[kk.H_S], ist[kk.H_FILL], ist[kk.H_CAP] = k_n, s_n, int(fill), capacity
        ist[kk.H_LAST_TS] = ist[kk.H_WATERMARK] = kk.NO_TS
        ist[o_src : o_src + s_n] = [PRICE_SOURCE_CODES[s] for s in sources]
        vol = ist.view(np.float64)
        o_vol = kk.vol_offset(k_n, s_n)
        for k, spec in enumerate(specs):
            kind, param = _kind_param(spec)
            ist[o_spec + 3 * k : o_spec + 3 * k + 3] = (kind, param, origin)
            ist[o_bk + 2 * k : o_bk + 2 * k + 2] = kk.NO_TS
            if isinstance(spec, VolumeCount):
                vol[o_vol + k] = spec.v
        ist[o_key : o_key + 2 * k_n * s_n : 2] = kk.NO_TS  # next_ts of every key
        self._ist = ist
        self._bars = np.zeros((capacity + 1, k_n * s_n), dtype=BAR_DTYPE)
        self._row0 = self._bars[0]  # the forming bars (a view, renewed when the work array grows)
        self.keys: tuple[Key, ...] = tuple((spec, src) for spec in specs for src in sources)
        self._index: dict[object, int] = {}
        for j, (spec, src) in enumerate(self.keys):
            self._index[(spec, src)] = j
            self._index[(str(spec), src)] = j
        empty = np.zeros(0, dtype=BAR_DTYPE)
        empty.flags.writeable = False
        self._no_bars = tuple(empty for _ in self.keys)

    # -- feeding --------------------------------------------------------------------------------------------
    def update(self, ticks: np.ndarray) -> BarUpdates:
        """Aggregate a batch of ticks (TICK_DTYPE, in time order; late ticks are rejected and counted)."""
        if ticks.dtype is not TICK_DTYPE and ticks.dtype != TICK_DTYPE:
            raise TickDataError(f"expected TICK_DTYPE ticks, got {ticks.dtype}")
        ist = self._ist
        run = _direct.get(ticks.flags.num & _KEY_MASK) if type(ticks) is np.ndarray else None
        code = run(ticks, ist, self._bars) if run is not None else _stream(ticks, ist, self._bars)
        if code == _DONE_QUIET:  # the one-tick fast path: no bar closed, no tick rejected
            return _new_updates(
                BarUpdates, (self.keys, self._no_bars, self._row0.tobytes(), 0, 0, 0, self._index)
            )
        chunks: list[list[np.ndarray]] | None = None
        while code == _HARVEST:
            chunks = self._harvest(chunks)
            code = _stream(ticks, ist, self._bars)
        if ist.item(_H_PENDING):
            chunks = self._harvest(chunks)
        return self._updates(chunks, ist.item(_H_CALL_REJ_ORDER), ist.item(_H_CALL_REJ_INVALID))

    def _harvest(self, chunks: list[list[np.ndarray]] | None) -> list[list[np.ndarray]]:
        """Copy the closed bars out of the work array and make room (growing it when it filled up)."""
        if chunks is None:
            chunks = [[] for _ in self.keys]
        ist, o_key, bars = self._ist, self._o_key, self._bars
        full = False
        for j in range(len(self.keys)):
            n = int(ist[o_key + 2 * j + 1])
            if n:
                chunks[j].append(bars[1 : n + 1, j].copy())
                full = full or n >= bars.shape[0] - 1
        ist[o_key + 1 : o_key + 2 * len(self.keys) : 2] = 0
        ist[kk.H_PENDING] = 0
        cap = bars.shape[0] - 1
        if full and cap < _MAX_CAP:
            grown = np.zeros((min(2 * cap, _MAX_CAP) + 1, bars.shape[1]), dtype=BAR_DTYPE)
            grown[0] = bars[0]
            self._bars = grown
            self._row0 = grown[0]
            ist[kk.H_CAP] = grown.shape[0] - 1
        return chunks

    def _updates(self, chunks: list[list[np.ndarray]] | None, rej_order: int, rej_invalid: int) -> BarUpdates:
        partial = self._row0.tobytes()
        if chunks is None:  # tuple.__new__: the namedtuple's own __new__ is a Python call
            return _new_updates(
                BarUpdates, (self.keys, self._no_bars, partial, 0, rej_order, rej_invalid, self._index)
            )
        closed = tuple(
            (c[0] if len(c) == 1 else np.concatenate(c)) if c else self._no_bars[j]
            for j, c in enumerate(chunks)
        )
        n = sum(a.shape[0] for a in closed)
        return BarUpdates(self.keys, closed, partial, n, rej_order, rej_invalid, self._index)

    # -- state ----------------------------------------------------------------------------------------------
    @property
    def price_sources(self) -> tuple[str, ...]:
        return self._sources

    @property
    def last_ts(self) -> int | None:
        """The ts of the newest accepted tick (None before the first)."""
        v = int(self._ist[kk.H_LAST_TS])
        return None if v == kk.NO_TS else v

    @property
    def rejected_out_of_order(self) -> int:
        """Ticks rejected so far because they were older than the newest accepted tick or the clock."""
        return int(self._ist[kk.H_REJ_ORDER])

    @property
    def rejected_invalid(self) -> dict[str, int]:
        """Per price source, ticks rejected so far for a missing/invalid price or a bad volume."""
        o = self._o_rej
        return {s: int(self._ist[o + i]) for i, s in enumerate(self._sources)}

    def partial(self, spec: BarSpec | str, source: str) -> np.void | None:
        """A copy of the forming bar of ``(spec, source)``, or None."""
        j = self._index.get((spec, source))
        if j is None:
            raise TickDataError(f"this builder has no bars for ({spec!s}, {source!r})")
        row = self._bars[0, j]
        return row.copy() if row["count"] > 0 else None


class BarBuilder(_StreamingBuilder):
    """Streaming time bars at several timeframes and price sources at once.

    ``BarBuilder(["1m", "5m", "1h"], ("bid", "ask"), empty="skip", session_offset=FXCM_SESSION_OFFSET)``;
    ``update(ticks)`` returns the bars closed by the batch and the forming bars; ``close_until(now_ns)``
    closes the bars that ended by the clock when no tick comes (call it from a timer, with the venue clock or
    the wall clock minus a grace delay: a tick older than ``now_ns``'s bar start is rejected afterwards).
    """

    def __init__(
        self,
        timeframes: Iterable[str | Timeframe],
        price_sources: Sequence[str] = ("bid", "ask"),
        *,
        empty: Literal["skip", "fill"] = "skip",
        session_offset: SessionOffset = 0,
        capacity: int = 64,
    ) -> None:
        if empty not in ("skip", "fill"):
            raise TickDataError(f"empty must be 'skip' or 'fill', got {empty!r}")
        tfs = [Timeframe.parse(t) for t in timeframes]
        super().__init__(
            tfs,
            price_sources,
            fill=empty == "fill",
            origin=session_offset_ns(session_offset),
            capacity=capacity,
        )
        self.timeframes: tuple[Timeframe, ...] = tuple(tfs)

    def close_until(self, now_ns: int) -> BarUpdates:
        """Close every bar whose interval ended at or before ``now_ns`` (and fill empty ones in fill mode)."""
        ist = self._ist
        chunks: list[list[np.ndarray]] | None = None
        while kk.clock(int(now_ns), ist, self._bars):
            chunks = self._harvest(chunks)
        if ist[kk.H_PENDING]:
            chunks = self._harvest(chunks)
        return self._updates(chunks, 0, 0)


class TickBarBuilder(_StreamingBuilder):
    """Streaming tick bars: a bar closes on its ``every``-th tick (per price source)."""

    def __init__(
        self, every: int, price_sources: Sequence[str] = ("bid", "ask"), *, capacity: int = 64
    ) -> None:
        if every < 1:
            raise TickDataError(f"tick bars need every >= 1, got {every}")
        super().__init__([TickCount(int(every))], price_sources, fill=False, origin=0, capacity=capacity)
        self.spec = TickCount(int(every))


class VolumeBarBuilder(_StreamingBuilder):
    """Streaming volume bars: a bar closes on the tick that brings its volume to ``every`` or more."""

    def __init__(self, every: float, price_sources: Sequence[str] = ("last",), *, capacity: int = 64) -> None:
        if not every > 0.0:
            raise TickDataError(f"volume bars need every > 0, got {every}")
        super().__init__([VolumeCount(float(every))], price_sources, fill=False, origin=0, capacity=capacity)
        self.spec = VolumeCount(float(every))


def _kind_param(spec: BarSpec) -> tuple[int, int]:
    if isinstance(spec, Timeframe):
        return kk.KIND_TIME, spec.ns
    if isinstance(spec, TickCount):
        return kk.KIND_TICKS, spec.n
    return kk.KIND_VOLUME, 0
