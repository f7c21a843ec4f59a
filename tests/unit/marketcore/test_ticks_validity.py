"""One definition of a valid tick: the scalar and vector forms agree on every edge value."""

from __future__ import annotations

import itertools
import math

import numpy as np
from marketcore.ticks import quotes_ok, trades_ok, valid_quote, valid_trade

EDGES = [1.1, 0.0, -1.0, math.nan, math.inf, -math.inf, 1e-300]


def test_scalar_and_vector_forms_agree() -> None:
    pairs = list(itertools.product(EDGES, EDGES))
    a, b = np.array([x for x, _ in pairs]), np.array([y for _, y in pairs])
    assert quotes_ok(a, b).tolist() == [valid_quote(x, y) for x, y in pairs]
    assert trades_ok(a, b).tolist() == [valid_trade(x, y) for x, y in pairs]


def test_crossed_quotes_and_zero_volume_trades_are_valid() -> None:
    assert valid_quote(1.3926, 1.3925)  # bid > ask: real FXCM behaviour
    assert valid_trade(100.0, 0.0)
    assert not valid_trade(100.0, -1.0) and not valid_quote(1.0, math.nan)
