"""Tick validation at the router's door: bad prices and out-of-order timestamps are counted and dropped.

Crossed and locked quotes (bid >= ask) are real FXCM behaviour and pass.
"""

from __future__ import annotations

import numpy as np
from marketcore.schema import TICK_DTYPE
from marketcore.ticks import quotes_ok, trades_ok, valid_quote, valid_trade

SMALL_BATCH = 8  # up to this many rows, plain Python checks beat the ~10 numpy calls of the vector path


def clean_ticks(ticks: np.ndarray, last_ts: int | None, kind: str) -> tuple[np.ndarray, dict[str, int]]:
    """``(good ticks, {reason: count})``; returns the input itself (no copy) when everything is fine."""
    if (
        ticks.shape[0] <= SMALL_BATCH
        and ticks.dtype == TICK_DTYPE
        and _small_batch_ok(ticks.tolist(), last_ts, kind == "quote")
    ):
        return ticks, {}
    if kind == "quote":
        price_ok = quotes_ok(ticks["bid"], ticks["ask"])
    else:
        price_ok = trades_ok(ticks["last"], ticks["volume"])
    ts = ticks["ts"]
    floor = np.maximum.accumulate(ts)
    order_ok = ts >= floor
    if last_ts is not None:
        order_ok &= ts >= last_ts
    ok = price_ok & order_ok
    if ok.all():
        return ticks, {}
    reasons: dict[str, int] = {}
    bad_price = int((~price_ok).sum())
    bad_order = int((price_ok & ~order_ok).sum())
    if bad_price:
        reasons["bad_price"] = bad_price
    if bad_order:
        reasons["out_of_order"] = bad_order
    return ticks[ok], reasons


def _small_batch_ok(
    rows: list[tuple[int, float, float, float, float]], last_ts: int | None, quote: bool
) -> bool:
    """True when every row of a small batch passes (the vector path then gives the same answer); any doubt
    returns False and the vector path decides and counts. Rows are ``(ts, bid, ask, last, volume)``."""
    floor = last_ts
    for ts, bid, ask, last, vol in rows:
        if not (valid_quote(bid, ask) if quote else valid_trade(last, vol)):
            return False
        if floor is not None and ts < floor:
            return False
        floor = ts
    return True
