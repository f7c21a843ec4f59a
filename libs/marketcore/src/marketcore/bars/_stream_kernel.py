"""The streaming bar kernel: ticks -> partial and closed bars for many (spec, source) keys, state in arrays.

All state lives in two arrays owned by the Python builder, so a batch can stop anywhere and resume (two, not
three: each array argument costs ~0.1 µs of unboxing per call, a fair part of a one-tick update):

``ist`` (int64): a header (see ``H_*``); per source its price code; per spec ``kind, param, origin``; per
    spec the cached bucket ``[start, end)`` of its current time bar; per key ``next_ts, n_out``; per source
    the cumulative and the per-call count of rejected ticks; last, per spec its volume threshold (volume
    bars) as float64 bits (read through ``ist.view(float64)``).
``bars`` (BAR_DTYPE, shape ``(cap + 1, keys)``): row 0 holds the partial bar of each key (``count == 0``:
    none; a contiguous row, cheap to snapshot), rows ``1..n_out`` the bars closed since the last harvest.

A key is ``j = k * S + s`` (spec ``k``, source ``s``). The kernel returns DONE when the batch is done, 1 when a
key's output is full: the caller harvests the closed bars, sets every ``n_out`` to 0 and calls again (the
tick index to resume from is in ``ist[H_START]``; every emitted bar updates the state at once, so resuming
is exact).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit

KIND_TIME = 0
KIND_TICKS = 1
KIND_VOLUME = 2

NO_TS = np.iinfo(np.int64).min

H_K = 0
H_S = 1
H_FILL = 2
H_CAP = 3
H_LAST_TS = 4
H_WATERMARK = 5
H_REJ_ORDER = 6
H_START = 7
H_CALL_REJ_ORDER = 8
H_PENDING = 9
H_CALL_REJ_INVALID = 10
# stream()'s return value
HARVEST = 1
DONE = 2
DONE_PENDING = 4
DONE_REJECTED = 8
HDR = 16


def layout(k: int, s: int) -> tuple[int, int, int, int, int]:
    """Offsets in ``ist``: sources, specs, cached buckets, keys, rejections; and the total length (which
    ends with one float64 volume threshold per spec, stored as its bits: see :func:`vol_offset`)."""
    o_src = HDR
    o_spec = o_src + s
    o_bk = o_spec + 3 * k
    o_key = o_bk + 2 * k
    o_rej = o_key + 2 * k * s
    return o_src, o_spec, o_bk, o_key, o_rej + 2 * s + k


def vol_offset(k: int, s: int) -> int:
    """Where the per-spec volume thresholds start in ``ist.view(float64)``."""
    return layout(k, s)[4] - k


@njit(cache=True, inline="always")
def _price(bid: float, ask: float, last: float, code: int) -> float:
    if code == 0:
        return bid
    if code == 1:
        return ask
    if code == 2:
        if bid > 0.0 and ask > 0.0:
            return 0.5 * (bid + ask)
        return np.nan
    return last


@njit(cache=True)
def _emit(bars, ist, j, o_key, cap) -> bool:  # type: ignore[no-untyped-def]
    """Move the partial bar of key ``j`` to its closed output; False if the output is full."""
    n = ist[o_key + 2 * j + 1]
    if n >= cap:
        return False
    src = bars[0, j]
    dst = bars[n + 1, j]
    dst.ts = src.ts
    dst.open = src.open
    dst.high = src.high
    dst.low = src.low
    dst.close = src.close
    dst.volume = src.volume
    dst.count = src.count
    src.count = 0
    ist[o_key + 2 * j + 1] = n + 1
    ist[H_PENDING] += 1
    return True


@njit(cache=True)
def _advance(bars, ist, k, b, fill, cap) -> bool:  # type: ignore[no-untyped-def]
    """Close (and in fill mode fill up to) bucket ``b`` for every source of time spec ``k``; False if full."""
    s_n = ist[H_S]
    o_spec = HDR + s_n
    o_bk = o_spec + 3 * ist[H_K]
    o_key = o_bk + 2 * ist[H_K]
    tf = ist[o_spec + 3 * k + 1]
    for s in range(s_n):
        j = k * s_n + s
        part = bars[0, j]
        if part.count > 0 and part.ts < b:
            nxt = part.ts + tf
            if not _emit(bars, ist, j, o_key, cap):  # the slot keeps its close: the fill price
                return False
            ist[o_key + 2 * j] = nxt
        if fill:
            nxt = ist[o_key + 2 * j]
            if nxt != NO_TS:
                close = bars[0, j].close
                while nxt < b:
                    n = ist[o_key + 2 * j + 1]
                    if n >= cap:
                        return False
                    dst = bars[n + 1, j]
                    dst.ts = nxt
                    dst.open = close
                    dst.high = close
                    dst.low = close
                    dst.close = close
                    dst.volume = 0.0
                    dst.count = 0
                    ist[o_key + 2 * j + 1] = n + 1
                    ist[H_PENDING] += 1
                    nxt += tf
                    ist[o_key + 2 * j] = nxt
    ist[o_bk + 2 * k] = b
    ist[o_bk + 2 * k + 1] = b + tf
    return True


@njit(cache=True)
def stream(ticks, ist, bars) -> int:  # type: ignore[no-untyped-def]
    """Aggregate ``ticks[ist[H_START]:]``.

    Returns ``HARVEST`` (1) when the closed-bar output must be harvested before resuming (``H_START`` = where
    to resume), else ``DONE`` (2, ``H_START`` back to 0) with ``DONE_PENDING`` set when closed bars wait
    to be harvested and ``DONE_REJECTED`` when this call rejected ticks (so that a one-tick update that
    closed nothing and rejected nothing reads nothing more from the state).
    """
    k_n = ist[H_K]
    s_n = ist[H_S]
    fill = ist[H_FILL] != 0
    cap = ist[H_CAP]
    o_src = HDR
    o_spec = o_src + s_n
    o_bk = o_spec + 3 * k_n
    o_key = o_bk + 2 * k_n
    o_rej = o_key + 2 * k_n * s_n
    o_vol = o_rej + 2 * s_n
    fst = ist.view(np.float64)
    start = ist[H_START]
    if start == 0:
        ist[H_CALL_REJ_ORDER] = 0
        ist[H_CALL_REJ_INVALID] = 0
    n = ticks.shape[0]
    for i in range(start, n):
        t = ticks[i]
        ts = t.ts
        if ts < ist[H_LAST_TS] or ts < ist[H_WATERMARK]:
            ist[H_REJ_ORDER] += 1
            ist[H_CALL_REJ_ORDER] += 1
            continue
        for k in range(k_n):
            kind = ist[o_spec + 3 * k]
            if kind == KIND_TIME:
                if ts >= ist[o_bk + 2 * k + 1]:
                    tf = ist[o_spec + 3 * k + 1]
                    origin = ist[o_spec + 3 * k + 2]
                    b = origin + ((ts - origin) // tf) * tf
                    if not _advance(bars, ist, k, b, fill, cap):
                        ist[H_START] = i
                        return 1
            else:
                for s in range(s_n):
                    if ist[o_key + 2 * (k * s_n + s) + 1] >= cap:
                        ist[H_START] = i
                        return 1
        ist[H_LAST_TS] = ts
        vol = t.volume
        for s in range(s_n):
            p = _price(t.bid, t.ask, t.last, ist[o_src + s])
            if not (p > 0.0) or not (vol >= 0.0) or p == np.inf:
                ist[o_rej + s] += 1
                ist[o_rej + s_n + s] += 1
                ist[H_CALL_REJ_INVALID] += 1
                continue
            for k in range(k_n):
                j = k * s_n + s
                kind = ist[o_spec + 3 * k]
                part = bars[0, j]
                if part.count == 0:
                    part.ts = ist[o_bk + 2 * k] if kind == KIND_TIME else ts
                    part.open = p
                    part.high = p
                    part.low = p
                    part.close = p
                    part.volume = vol
                    part.count = 1
                else:
                    if p > part.high:
                        part.high = p
                    if p < part.low:
                        part.low = p
                    part.close = p
                    part.volume += vol
                    part.count += 1
                if kind == KIND_TICKS:
                    if part.count >= ist[o_spec + 3 * k + 1]:
                        _emit(bars, ist, j, o_key, cap)
                elif kind == KIND_VOLUME:
                    if part.volume >= fst[o_vol + k]:
                        _emit(bars, ist, j, o_key, cap)
    ist[H_START] = 0  # done: the next batch starts at its first tick
    done = DONE
    if ist[H_PENDING]:
        done |= DONE_PENDING
    if ist[H_CALL_REJ_ORDER] or ist[H_CALL_REJ_INVALID]:
        done |= DONE_REJECTED
    return done


@njit(cache=True)
def clock(now, ist, bars) -> int:  # type: ignore[no-untyped-def]
    """Close every time bar that ends at or before ``now``; 0 when done, 1 when the output must be
    harvested."""
    k_n = ist[H_K]
    s_n = ist[H_S]
    fill = ist[H_FILL] != 0
    cap = ist[H_CAP]
    o_spec = HDR + s_n
    o_bk = o_spec + 3 * k_n
    mark = ist[H_WATERMARK]
    for k in range(k_n):
        if ist[o_spec + 3 * k] != KIND_TIME:
            continue
        tf = ist[o_spec + 3 * k + 1]
        origin = ist[o_spec + 3 * k + 2]
        b = origin + ((now - origin) // tf) * tf
        if now >= ist[o_bk + 2 * k + 1]:
            if not _advance(bars, ist, k, b, fill, cap):
                return 1
        if b > mark:
            mark = b
    ist[H_WATERMARK] = mark
    return 0


# -- calling ``stream`` without numba's per-call type dispatch ------------------------------------------------
# numba types a structured-dtype array argument in Python (its C fast path covers plain dtypes only): ~0.27 µs
# of a ~1 µs one-tick update. The compiled specialisation for arrays flagged like these is looked up once
# (after the dispatcher has compiled or loaded it) and called directly from then on. Keyed by the ticks'
# contiguity/alignment/writeability flags, the only things besides the dtype (checked by the caller) that
# change numba's type for it; ``ist`` and ``bars`` are always the builder's own C-contiguous arrays.
KEY_MASK = 0x0001 | 0x0100 | 0x0400  # NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED | NPY_ARRAY_WRITEABLE
direct_entries: dict[int, Callable[[np.ndarray, np.ndarray, np.ndarray], int]] = {}


def stream_direct(ticks, ist, bars) -> int:  # type: ignore[no-untyped-def]
    """``stream(ticks, ist, bars)`` for ticks of TICK_DTYPE (the caller checks the dtype)."""
    if type(ticks) is not np.ndarray:  # a subclass (memmap, recarray): numba types it its own way
        return stream(ticks, ist, bars)
    key = ticks.flags.num & KEY_MASK
    fn = direct_entries.get(key)
    if fn is not None:
        return fn(ticks, ist, bars)
    code: int = stream(ticks, ist, bars)
    try:  # numba internals (Dispatcher.overloads, CompileResult.entry_point): if they move, keep dispatching
        sig = tuple(stream.typeof_pyval(a) for a in (ticks, ist, bars))
        direct_entries[key] = stream.overloads[sig].entry_point  # type: ignore[attr-defined]
    except (AttributeError, KeyError):
        direct_entries[key] = stream
    return code
