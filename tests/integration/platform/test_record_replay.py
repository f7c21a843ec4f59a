"""Record a LIVE simulator session (wall clock, event time with the 1 s hold cap), replay it at max speed through
the real agents: the same orders, fills and positions (an empty diff, exit 0); with a changed strategy parameter the
diff names the first diverging order (exit 1). One recorded session is shared by the assertions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from agentcore.testing import free_port
from tradehive.backtest import order_log
from tradehive.recording import Recording

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]
SESSION_S = 45.0  # of live simulator data after start-up (the start-up burst trades too): >= 5 fills


def _tradehive(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tradehive", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "NO_COLOR": "1"})  # fmt: skip


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("session") / "rec"
    port = free_port()
    cmd = [sys.executable, "-m", "tradehive", "run", "--record", str(root), "--quiet", "--ns-port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (root / "manifest.json").exists() or not Recording(root).manifest["parts"]["ticks"]:
            assert proc.poll() is None, proc.communicate()[0][-3000:]
            assert time.monotonic() < deadline, "the recorded platform never streamed"
            time.sleep(1.0)
        time.sleep(SESSION_S)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
    yield root


def test_the_recording_says_what_was_run(recorded: Path) -> None:
    run = Recording(recorded).run
    assert run["live"] is True
    trend = run["agents"]["brain-trend"]["config"]
    assert trend["session"].startswith("live") and trend["params"] == {"fast": 5, "slow": 13}
    assert run["agents"]["trader"]["config"]["sync_max_hold_s"] == 1.0
    assert (
        run["venue"]["latency_ms"] == 0.0 and run["venue"]["slippage_ticks"] == 0.0 and run["sim_seed"] == 7
    )
    assert run["agents"]["router"]["config"]["clock_close"] is False  # bars close on recorded ticks only
    assert any(t == "watermark" for _, t, _ in Recording(recorded).events("wm."))  # the trader's: the horizon
    fills = [line for line in order_log(recorded) if '"msg":"order_filled"' in line]
    assert len(fills) >= 5, f"the session must trade to prove anything: {len(fills)} fills"


def test_a_live_session_replays_at_max_speed_with_an_empty_diff(recorded: Path, tmp_path: Path) -> None:
    res = _tradehive("replay", "--recording", str(recorded), "--speed", "max", "--out", str(tmp_path / "r"),
                     "--json", timeout=300)  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    out = json.loads(res.stdout)
    assert out["clean"] and out["differences"] == 0 and out["recorded_events"] > 10
    assert out["recorded_events"] == out["replayed_events"]


def test_a_changed_parameter_names_the_first_diverging_order(recorded: Path, tmp_path: Path) -> None:
    res = _tradehive("replay", "--recording", str(recorded), "--param", "fast=8", "--out", str(tmp_path / "r"),
                     timeout=300)  # fmt: skip
    assert res.returncode == 1, res.stdout[-3000:] + res.stderr[-3000:]
    assert "DIVERGES" in res.stdout, res.stdout
    first = [line for line in res.stdout.splitlines() if line.startswith("first divergence:")]
    assert first, res.stdout
    # "first divergence: <kind> <client id> (brain ...) at data time ...", the kind one word or two ("refused order")
    named = first[0].split(" (brain ")[0].split()[-1]
    logs = [json.loads(x) for x in order_log(recorded) + order_log(tmp_path / "r" / "recording")]
    orders = {r["client_order_id"]: r for r in logs if r["msg"] == "submit_order"}
    assert named in orders and "(brain brain-trend)" in first[0], first[0]
    # it is the earliest order whose decision differs between the two logs
    rec = {
        json.dumps(r, sort_keys=True) for r in logs[: len(order_log(recorded))] if r["msg"] == "submit_order"
    }
    rep = {
        json.dumps(r, sort_keys=True) for r in logs[len(order_log(recorded)) :] if r["msg"] == "submit_order"
    }
    earliest = min((json.loads(x) for x in rec ^ rep), key=lambda r: (r["data_ts_ns"], r["client_order_id"]))
    assert str(earliest["data_ts_ns"]) in first[0], (earliest, first[0])


def test_replay_usage_errors_exit_2(tmp_path: Path) -> None:
    res = _tradehive("replay", "--recording", str(tmp_path / "missing"), timeout=60)
    assert res.returncode == 2 and "manifest" in res.stderr, res.stderr
