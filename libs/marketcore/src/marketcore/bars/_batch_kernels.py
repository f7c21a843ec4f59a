"""One-pass batch kernels: sorted, validated columns (ts, price, volume) -> bars."""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def time_bars(ts, price, vol, tf, origin, fill, out) -> int:  # type: ignore[no-untyped-def]
    """Time bars labelled by open time into ``out`` (BAR_DTYPE, large enough); returns the number written."""
    nb = -1
    end = ts[0] if ts.shape[0] else 0  # forces a new bucket on the first tick
    for i in range(ts.shape[0]):
        t = ts[i]
        p = price[i]
        if t >= end or nb < 0:
            b = origin + ((t - origin) // tf) * tf
            if fill and nb >= 0:
                c = out[nb].close
                f = out[nb].ts + tf
                while f < b:
                    nb += 1
                    r = out[nb]
                    r.ts = f
                    r.open = c
                    r.high = c
                    r.low = c
                    r.close = c
                    r.volume = 0.0
                    r.count = 0
                    f += tf
            nb += 1
            r = out[nb]
            r.ts = b
            r.open = p
            r.high = p
            r.low = p
            r.close = p
            r.volume = vol[i]
            r.count = 1
            end = b + tf
        else:
            r = out[nb]
            if p > r.high:
                r.high = p
            if p < r.low:
                r.low = p
            r.close = p
            r.volume += vol[i]
            r.count += 1
    return nb + 1


@njit(cache=True)
def count_bars(ts, price, vol, every_ticks, every_volume, out) -> int:  # type: ignore[no-untyped-def]
    """Tick bars (``every_ticks`` > 0) or volume bars (``every_volume`` > 0); the last bar may be
    incomplete."""
    nb = 0
    open_bar = False
    for i in range(ts.shape[0]):
        p = price[i]
        r = out[nb]
        if not open_bar:
            r.ts = ts[i]
            r.open = p
            r.high = p
            r.low = p
            r.close = p
            r.volume = vol[i]
            r.count = 1
            open_bar = True
        else:
            if p > r.high:
                r.high = p
            if p < r.low:
                r.low = p
            r.close = p
            r.volume += vol[i]
            r.count += 1
        if (every_ticks > 0 and r.count >= every_ticks) or (every_volume > 0.0 and r.volume >= every_volume):
            nb += 1
            open_bar = False
    return nb + 1 if open_bar else nb
