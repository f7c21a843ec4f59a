"""The numba kernel of the market simulator: GARCH(1,1) log-mid path and quotes on the tick grid."""

from __future__ import annotations

import numba as nb
import numpy as np

# state vector layout (float64): log mid, conditional variance, last return, bid ticks, ask ticks
STATE_SIZE = 5


@nb.njit(cache=True)
def quote_path(
    z: np.ndarray,
    spread_noise: np.ndarray,
    side: np.ndarray,
    state: np.ndarray,
    omega: float,
    alpha: float,
    beta: float,
    mean_var: float,
    spread_ticks: float,
    tick_size: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bid and ask in integer ticks for each innovation ``z``; returns (bid, ask, state after the last tick).

    ``side``: 0 both sides requote, 1 only the bid moves, 2 only the ask moves (the other keeps its quote, so
    locked and crossed quotes happen now and then, as on real retail FX feeds).
    """
    n = z.size
    bid = np.empty(n, dtype=np.int64)
    ask = np.empty(n, dtype=np.int64)
    x, var, r, b_prev, a_prev = state[0], state[1], state[2], state[3], state[4]
    for i in range(n):
        var = omega + alpha * r * r + beta * var
        r = np.sqrt(var) * z[i]
        x += r
        mid_ticks = np.exp(x) / tick_size
        s = np.floor(spread_ticks * (var / mean_var) ** 0.25 * np.exp(0.2 * spread_noise[i]) + 0.5)
        s = max(s, 1.0)
        b = np.floor(mid_ticks - s / 2.0 + 0.5)
        a = b + s
        if side[i] == 1:
            a = a_prev
        elif side[i] == 2:
            b = b_prev
        bid[i] = np.int64(b)
        ask[i] = np.int64(a)
        b_prev, a_prev = b, a
    out = np.array([x, var, r, b_prev, a_prev])
    return bid, ask, out
