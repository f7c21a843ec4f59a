"""A strategy file in the brain image, as docs/strategies.md and deploy/docker-compose.strategy.yml run it:
examples/ mounted read-only at /strategies, the brain's config from its TRADEHIVE_BRAIN_* variables, the
strategy loaded from its path in the container by the non-root image user and fed real FXCM minute bars."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from .conftest import ROOT

pytestmark = [pytest.mark.system, pytest.mark.timeout(300)]

# Runs inside the container: the brain's own config path (settings.from_env with the brain's prefix), its
# loader with the built-ins, and a StrategyRunner over bars read from the mounted data.
SCRIPT = """
import json, os
import numpy as np
from agentcore import settings
from marketcore.io.lean import read_lean_quote_bars
from tradehive.loader import load_strategy_class
from tradehive.runner import StrategyRunner
from tradehive_brain.agent import BrainConfig
from tradehive_brain.strategies import BUILTIN

cfg = settings.from_env(BrainConfig, "TRADEHIVE_BRAIN_")
cls = load_strategy_class(cfg.strategy, BUILTIN)
bars = read_lean_quote_bars("/data/20140508_quote.zip")[0]
sent = []

class Wire:
    def send_order(self, data, origin_ns, resend=False): sent.append(data)
    def send_signal(self, signal, origin_ns): pass
    def fetch_bars(self, symbol, last_n, end_ns): return bars[:0]

runner = StrategyRunner("brain-trend", "c", Wire(), timeframe_ns=60_000_000_000)
strategy = cls(runner, dict(cfg.params))
runner.attach(strategy)
runner.warming_up = False
for i in range(bars.size):
    runner.bars("EURUSD", bars[i : i + 1], 0, False, 0)
print(json.dumps({"name": strategy.name, "params": strategy.params, "orders": len(sent), "uid": os.getuid()}))
"""


def _run(image: str, minute: str, strategy: str) -> subprocess.CompletedProcess[str]:
    cmd = ["docker", "run", "--rm", "--network", "none", "--entrypoint", "python",
           "-v", f"{ROOT / 'examples'}:/strategies:ro", "-v", f"{minute}:/data:ro",
           "-e", f"TRADEHIVE_BRAIN_STRATEGY={strategy}", "-e", 'TRADEHIVE_BRAIN_PARAMS={"max_bars": 10}',
           image, "-c", SCRIPT]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=os.environ.copy())


def test_brain_image_loads_a_mounted_strategy_file(images: dict[str, str], data_dir) -> None:
    minute = str(data_dir / "fxcm" / "minute" / "eurusd")
    res = _run(images["brain"], minute, "/strategies/bollinger_rsi.py:BollingerRsi")
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert (
        out["name"] == "bollinger_rsi" and out["params"]["max_bars"] == 10 and out["params"]["period"] == 20
    )
    assert out["orders"] > 0 and out["uid"] != 0  # it traded the real bars, as the image's non-root user
    res = _run(images["brain"], minute, "/strategies/nope.py:X")
    assert res.returncode != 0 and "strategy file '/strategies/nope.py' does not exist" in res.stderr
