"""clean_ticks' scalar path for small batches gives exactly the vector path's answer (random good/bad rows)."""

from __future__ import annotations

import numpy as np
import pytest
from marketcore.schema import TICK_DTYPE
from tradehive.routing import validate
from tradehive.routing.validate import SMALL_BATCH, clean_ticks


def _vector(ticks: np.ndarray, last_ts: int | None, kind: str) -> tuple[np.ndarray, dict[str, int]]:
    """The vector path alone (the small-batch shortcut switched off)."""
    saved = validate.SMALL_BATCH
    validate.SMALL_BATCH = -1
    try:
        return clean_ticks(ticks, last_ts, kind)
    finally:
        validate.SMALL_BATCH = saved


def _batch(rng: np.random.Generator, n: int) -> np.ndarray:
    t = np.zeros(n, dtype=TICK_DTYPE)
    t["ts"] = 100 + np.cumsum(rng.integers(-1, 3, n))  # sometimes going back in time
    bad = [np.nan, np.inf, 0.0, -1.0]
    for f in ("bid", "ask", "last", "volume"):
        t[f] = np.where(rng.random(n) < 0.08, rng.choice(bad, n), rng.uniform(0.5, 2.0, n))
    return t


@pytest.mark.parametrize("kind", ["quote", "trade"])
def test_small_batches_agree_with_the_vector_path(kind: str) -> None:
    rng = np.random.default_rng(11)
    shortcut_taken = 0
    for _ in range(3000):
        t = _batch(rng, int(rng.integers(0, SMALL_BATCH + 1)))
        last_ts = None if rng.random() < 0.2 else int(rng.integers(95, 110))
        good, reasons = clean_ticks(t, last_ts, kind)
        want_good, want_reasons = _vector(t, last_ts, kind)
        assert reasons == want_reasons
        assert good.tobytes() == want_good.tobytes()  # byte-equal (NaN fields compare unequal otherwise)
        if not reasons:
            assert good is t  # no copy when everything passes, as before
            shortcut_taken += 1
    assert shortcut_taken > 100  # the all-good case (the shortcut) was exercised
