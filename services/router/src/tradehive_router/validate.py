"""Tick validation at the router's door: bad prices and out-of-order timestamps are counted and dropped.

Crossed and locked quotes (bid >= ask) are real FXCM behaviour and pass.
"""

from __future__ import annotations

import numpy as np


def clean_ticks(ticks: np.ndarray, last_ts: int | None, kind: str) -> tuple[np.ndarray, dict[str, int]]:
    """``(good ticks, {reason: count})``; returns the input itself (no copy) when everything is fine."""
    if kind == "quote":
        bid, ask = ticks["bid"], ticks["ask"]
        price_ok = np.isfinite(bid) & np.isfinite(ask) & (bid > 0) & (ask > 0)
    else:
        last, vol = ticks["last"], ticks["volume"]
        price_ok = np.isfinite(last) & (last > 0) & np.isfinite(vol) & (vol >= 0)
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
