"""``tradehive run`` (what ``make run`` calls) on the built-in simulator: the platform comes up, data flow, the
router serves history (``tradehive history`` writes CSV), a brain parameter changes live, Ctrl-C stops all."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from agentcore.testing import free_port, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


def _cli(*args: str, port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args, "--ns-port", str(port)], capture_output=True, text=True,
                          timeout=60)  # fmt: skip


def _status(name: str, port: int) -> dict | None:
    out = _cli("agentcore.cli", "call", name, "status", port=port)
    return json.loads(out.stdout) if out.returncode == 0 else None


def test_tradehive_run_simulator_end_to_end(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tradehive.cli", "run", "--ns-port", str(port), "--timeframe", "1m"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:

        def flowing() -> dict | None:
            r = _status("router", port)
            if not r or not r["symbols"]:
                return None
            return r if all(s["bars"].get("1m", 0) > 100 for s in r["symbols"].values()) else None

        router = wait_until(
            flowing, 120, interval=1.0, message="simulated ticks reaching the router with history"
        )
        assert set(router["symbols"]) == {"EURUSD", "GBPUSD", "BTCUSDT"}
        assert router["symbols"]["BTCUSDT"]["kind"] == "quote"
        out_csv = tmp_path / "eurusd.csv"
        res = _cli("tradehive.cli", "history", "EURUSD", "--timeframe", "1m", "--price", "mid", "--csv",
                   str(out_csv), port=port)  # fmt: skip
        assert res.returncode == 0, res.stderr
        rows = list(csv.DictReader(out_csv.open()))
        assert len(rows) > 100 and list(rows[0])[:7] == [
            "time",
            "ts_ns",
            "open",
            "high",
            "low",
            "close",
            "volume",
        ]
        assert all(float(r["low"]) <= float(r["open"]) <= float(r["high"]) for r in rows)
        assert [int(r["ts_ns"]) for r in rows] == sorted(int(r["ts_ns"]) for r in rows)
        res = _cli("tradehive", "history", "EURUSD", "--price", "mid", "--json", "--last", "50", port=port)
        assert res.returncode == 0, res.stderr
        bars = json.loads(res.stdout)
        assert len(bars) == 50 and list(bars[0])[:7] == list(rows[0])[:7]
        res = _cli("tradehive", "history", "EURUSD", "--format", "parquet", "--out", str(tmp_path / "e.parquet"),
                   port=port)  # fmt: skip
        assert res.returncode == 0, res.stderr
        import pyarrow.parquet as pq

        assert pq.read_table(tmp_path / "e.parquet").num_rows >= len(rows)
        # live parameter change through Pyro, visible in status()
        res = _cli("agentcore.cli", "call", "brain-trend", "set_param", "fast", "7", port=port)
        assert res.returncode == 0 and json.loads(res.stdout) == 12
        assert wait_until(lambda: (_status("brain-trend", port) or {}).get("params", {}).get("fast") == 7, 20)
        trader = _status("trader", port)
        assert trader is not None and trader["kill_switch"] is False and trader["errors"] == 0
        for name in ("feeder", "brain-regime", "brain-trend"):
            st = _status(name, port)
            assert st is not None and st["errors"] == 0, (name, st and st["last_errors"])
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert proc.returncode == 0, out[-2000:]
    assert "tradehive stopped." in out
