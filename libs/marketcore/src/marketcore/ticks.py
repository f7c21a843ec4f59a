"""What makes a tick valid, defined once (readers, bar kernels' callers, the router's door, the paper venue).

A quote is valid when bid and ask are finite and > 0 (crossed and locked quotes, bid >= ask, are real FXCM
behaviour and valid); a trade when its price is finite and > 0 and its volume finite and >= 0. Scalar forms for
one tick at a time, vector forms (boolean masks) for batches.
"""

from __future__ import annotations

import math

import numpy as np

_isfinite = math.isfinite


def valid_quote(bid: float, ask: float) -> bool:
    return _isfinite(bid) and _isfinite(ask) and bid > 0 and ask > 0


def valid_trade(price: float, volume: float) -> bool:
    return _isfinite(price) and price > 0 and _isfinite(volume) and volume >= 0


def positive(*cols: np.ndarray) -> np.ndarray:
    """True where every column is a finite number > 0 (False for NaN)."""
    ok = np.ones(cols[0].shape, dtype=np.bool_)
    for c in cols:
        ok &= np.isfinite(c) & (c > 0)
    return ok


def quotes_ok(bid: np.ndarray, ask: np.ndarray) -> np.ndarray:
    """The mask of valid quotes (see :func:`valid_quote`)."""
    return positive(bid, ask)


def trades_ok(price: np.ndarray, volume: np.ndarray) -> np.ndarray:
    """The mask of valid trades, or of valid (price, volume) pairs of any source (see :func:`valid_trade`)."""
    ok: np.ndarray = positive(price) & np.isfinite(volume) & (volume >= 0)
    return ok


__all__ = ["positive", "quotes_ok", "trades_ok", "valid_quote", "valid_trade"]
