"""Everything the router keeps for one symbol: the tick history, the bar builder and the closed-bar history."""

from __future__ import annotations

from typing import Any

import numpy as np
from marketcore.bars import BarBuilder, Timeframe, resample
from marketcore.buffer import TimeSeriesBuffer
from marketcore.schema import BAR_DTYPE, PRICE_SOURCES, QUOTE_SOURCES, TICK_DTYPE, TRADE_SOURCES

from tradehive import protocol as p
from tradehive.records import SymbolSummary

BUFFER_FACTOR = 2  # capacity = 2 x window: one compaction per window of appends


class SymbolBook:
    def __init__(
        self,
        symbol: str,
        sample: np.ndarray,
        timeframes: list[str],
        prices: list[str],
        empty: str,
        session: str,
        tick_window: int,
        bar_window: int,
    ) -> None:
        self.symbol = symbol
        self.kind = "quote" if sample.size and np.isfinite(sample["bid"]).any() else "trade"
        self.sources = tuple(prices) if prices else (QUOTE_SOURCES if self.kind == "quote" else TRADE_SOURCES)
        self.empty = empty
        self.session = session
        self.timeframes = [str(Timeframe.parse(t)) for t in timeframes]
        self.builder = BarBuilder(self.timeframes, self.sources, empty=empty, session_offset=session)  # type: ignore[arg-type]
        self.tick_buf = TimeSeriesBuffer(TICK_DTYPE, tick_window, factor=BUFFER_FACTOR)
        self.bar_bufs = {
            (tf, src): TimeSeriesBuffer(BAR_DTYPE, bar_window, factor=BUFFER_FACTOR)
            for tf in self.timeframes
            for src in self.sources
        }
        self.last_ts: int | None = None
        self._n_at_last = 0  # ticks seen with ts == last_ts (FXCM has several per millisecond)

    def add(self, ticks: np.ndarray) -> Any:
        self.tick_buf.extend(ticks)
        ts = ticks["ts"]
        if ts.shape[0] == 1:  # one tick per message (live feeds): no searchsorted
            newest, same = int(ts[0]), 1
        else:
            newest = int(ts[-1])
            same = int(ts.size - np.searchsorted(ts, newest, side="left"))
        self._n_at_last = self._n_at_last + same if newest == self.last_ts else same
        self.last_ts = newest
        updates = self.builder.update(ticks)
        if updates.n_closed:  # most ticks close no bar: skip the walk over every (timeframe, price)
            for (spec, src), closed in zip(updates.keys, updates.closed, strict=True):
                if closed.size:
                    self.bar_bufs[(str(spec), src)].extend(closed)
        return updates

    def skip_seen(self, ticks: np.ndarray) -> np.ndarray:
        """Drop what was already ingested from a history reply that starts at ``last_ts`` (inclusive)."""
        if self.last_ts is None or not ticks.size:
            return ticks
        ts = ticks["ts"]
        start = int(np.searchsorted(ts, self.last_ts, side="left"))
        equal_end = int(np.searchsorted(ts, self.last_ts, side="right"))
        start = min(equal_end, start + self._n_at_last)
        return ticks[start:]

    # -- history ------------------------------------------------------------------------------------------
    def bars(self, req: p.BarHistoryRequest) -> np.ndarray:
        tf = str(Timeframe.parse(req.timeframe))
        buf = self.bar_bufs.get((tf, req.price))
        if buf is not None:
            out = buf.view
            partial = self.builder.partial(tf, req.price) if req.include_partial else None
            if partial is not None:
                out = np.concatenate([out, partial.reshape(1)])
        else:  # a timeframe or price not built live: computed from the tick history
            if req.price not in PRICE_SOURCES:
                raise ValueError(f"unknown price source {req.price!r}")
            out = resample(self.tick_buf.view, tf, req.price, empty=self.empty, session_offset=self.session,  # type: ignore[arg-type]
                           invalid="skip")  # fmt: skip
        if req.start_ns is not None or req.end_ns is not None:
            lo = np.searchsorted(out["ts"], req.start_ns, side="left") if req.start_ns is not None else 0
            hi = np.searchsorted(out["ts"], req.end_ns, side="left") if req.end_ns is not None else out.size
            out = out[lo:hi]
        if req.last_n is not None:
            out = out[-req.last_n :] if req.last_n > 0 else out[:0]
        return np.ascontiguousarray(out)

    def ticks(self, start_ns: int, end_ns: int, limit: int | None) -> np.ndarray:
        out = self.tick_buf.range(start_ns, end_ns)
        return np.ascontiguousarray(out[-limit:] if limit else out)

    # -- status -------------------------------------------------------------------------------------------
    def buffers(self) -> dict[str, TimeSeriesBuffer]:
        out = {"ticks": self.tick_buf}
        for (tf, src), buf in self.bar_bufs.items():
            out[f"bars.{tf}.{src}"] = buf
        return out

    def summary(self) -> SymbolSummary:
        return SymbolSummary(
            kind=self.kind,
            sources=list(self.sources),
            ticks_held=len(self.tick_buf),
            last_ts=self.last_ts,
            bars={tf: len(self.bar_bufs[(tf, self.sources[0])]) for tf in self.timeframes},
            builder_rejected_out_of_order=self.builder.rejected_out_of_order,
            builder_rejected_invalid=self.builder.rejected_invalid,
        )
