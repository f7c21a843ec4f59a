"""Coalescing the tick messages of one drained batch into one run per symbol (the router's natural batching).

At a high rate the router's loop drains many one-tick messages at once; bars, the ticks it publishes and the
watermark then cost one engine call per symbol and batch instead of one per message. Order within a symbol is
kept (arrival order); a run's origin stamp is its earliest message's, so latency is read from the oldest tick.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def join(parts: list[np.ndarray]) -> np.ndarray:
    """One array of the parts (same structured dtype, contiguous, as received): their bytes joined. Measured
    on 10 one-tick TICK_DTYPE arrays: ``np.concatenate`` ~430 µs (numpy 2 promotes structured dtypes field by
    field), this ~3.5 µs."""
    try:
        joined = b"".join([p.data for p in parts])
    except (BufferError, TypeError):  # a non-contiguous part (not what the wire gives)
        joined = b"".join([np.ascontiguousarray(p).data for p in parts])
    return np.frombuffer(joined, dtype=parts[0].dtype)


class TickRuns:
    """Tick arrays collected per symbol in arrival order; :meth:`items` joins each symbol's into one array."""

    __slots__ = ("_origin", "_parts")

    def __init__(self) -> None:
        self._parts: dict[str, list[np.ndarray]] = {}
        self._origin: dict[str, int] = {}  # symbol -> earliest non-zero origin stamp (0: none)

    def add(self, symbol: str, ticks: np.ndarray, origin_ns: int) -> None:
        parts = self._parts.get(symbol)
        if parts is None:
            self._parts[symbol] = [ticks]
            self._origin[symbol] = origin_ns
            return
        parts.append(ticks)
        first = self._origin[symbol]
        if origin_ns and (not first or origin_ns < first):
            self._origin[symbol] = origin_ns

    def items(self) -> Iterator[tuple[str, np.ndarray, int]]:
        """``(symbol, ticks, origin_ns)`` per symbol, symbols in the order they first came."""
        for symbol, parts in self._parts.items():
            yield symbol, parts[0] if len(parts) == 1 else join(parts), self._origin[symbol]

    def __len__(self) -> int:
        return len(self._parts)


__all__ = ["TickRuns", "join"]
