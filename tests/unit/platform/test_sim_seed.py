"""The simulator's seed is configuration: the feeder's ``sim_seed`` (``TRADEHIVE_FEEDER_SIM_SEED``, or
``[roles.feeder] sim_seed`` in a platform file) decides every simulated tick; the same seed gives the same ticks.
(The paper venue's slippage is a fixed model, ``slippage_ticks`` / ``slippage_bps``: nothing random to seed.)"""

from __future__ import annotations

import numpy as np
from marketcore.sources.feed import SourceContext, make_tick_source
from tradehive_feeder.agent import FeederConfig, _options

START = 1_700_000_000_000_000_000
S = 1_000_000_000


def _ticks(cfg: FeederConfig, symbol: str = "EURUSD") -> np.ndarray:
    """Ten minutes of history before the start and 30 s streamed after it, as the feeder builds its source."""
    source = make_tick_source("simulator", SourceContext(options=_options(cfg), now_ns=START))
    parts = [source.history(symbol, START - 600 * S, START)]
    for t in range(1, 31):
        parts += [ticks for sym, ticks in source.poll(START + t * S).runs if sym == symbol]
    return np.concatenate(parts)


def test_same_seed_same_ticks_other_seed_other_ticks() -> None:
    a = _ticks(FeederConfig(symbols=["EURUSD"], sim_seed=11))
    b = _ticks(FeederConfig(symbols=["EURUSD"], sim_seed=11))
    c = _ticks(FeederConfig(symbols=["EURUSD"], sim_seed=12))
    assert a.size > 500
    assert a.tobytes() == b.tobytes()
    assert a.size != c.size or not np.array_equal(a["bid"], c["bid"])


def test_the_seed_comes_from_the_environment() -> None:
    from agentcore.settings import from_env

    cfg = from_env(FeederConfig, "TRADEHIVE_FEEDER_", {"TRADEHIVE_FEEDER_SIM_SEED": "42"})
    assert cfg.sim_seed == 42 and _options(cfg)["seed"] == 42
