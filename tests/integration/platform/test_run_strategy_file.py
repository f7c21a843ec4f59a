"""``make run ARGS="--strategy examples/bollinger_rsi.py:BollingerRsi"`` as a user runs it: the simulator platform
comes up with the guide's example in the trend brain, it trades, and each symbol trades its instrument's default
size (EURUSD/GBPUSD 10,000, BTCUSDT 0.2: about the same notional, not 10,000 BTC)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import Pyro5.api
import pytest
from agentcore import naming
from agentcore.testing import free_port
from marketcore.instruments import InstrumentRegistry

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
ROOT = Path(__file__).resolve().parents[3]


def _status(port: int, name: str) -> dict[str, Any]:
    try:
        ns = naming.locate("127.0.0.1", port)
        with Pyro5.api.Proxy(ns.lookup(name)) as proxy:
            proxy._pyroTimeout = 10.0
            return dict(proxy.status())
    except Exception:  # noqa: BLE001 - not registered yet / starting
        return {}


def test_run_with_a_strategy_file_trades_each_symbol_at_its_instruments_size() -> None:
    port = free_port()
    naming.configure_pyro(10.0)
    cmd = [sys.executable, "-m", "tradehive", "run", "--strategy", "examples/bollinger_rsi.py:BollingerRsi",
           "--quiet", "--ns-port", str(port)]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    fills: dict[str, dict[str, Any]] = {}  # fill id -> the fill, from the trader's recent events
    brain: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and len({f["symbol"] for f in fills.values()}) < 2:
            assert proc.poll() is None, proc.communicate()[0][-3000:]
            time.sleep(1.0)
            for ev in _status(port, "trader").get("recent_events", []):
                if ev.get("msg") == "order_filled":
                    fills[ev["fill_id"]] = ev
        brain = _status(port, "brain-trend")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert brain.get("strategy") == "bollinger_rsi" and brain.get("errors") == 0, brain
    assert brain["params"]["period"] == 20 and "fast" not in brain["params"]  # no demo EMA periods passed on
    assert len({f["symbol"] for f in fills.values()}) >= 2, (fills, out[-2000:])
    registry = InstrumentRegistry.default()
    for f in fills.values():  # the example holds one position per symbol: every fill is the default size
        assert f["qty"] == registry.get(f["symbol"]).default_qty, f
        assert 5_000 < f["qty"] * f["price"] < 20_000, f  # ~10,000 USD(T) of notional on every symbol
    assert proc.returncode == 0 and "tradehive stopped." in out, out[-2000:]
