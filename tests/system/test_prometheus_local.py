"""A real Prometheus (Debian's package, unpacked into a cache) scrapes the local platform replaying real data,
found through ``tradehive prom-sd``; every dashboard panel expression must return data, every alert rule must
evaluate without error, every agent's exposition must pass ``promtool check metrics``.

Skips (one reason) only when the prometheus binary cannot be obtained (deploy/prometheus/get-prometheus.sh).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROM_DIR = ROOT / "deploy" / "prometheus"
GET_PROMETHEUS = PROM_DIR / "get-prometheus.sh"
EXPECTED_AGENTS = {"feeder", "router", "trader", "brain-regime", "brain-trend", "brain-echo"}


@pytest.fixture(scope="module")
def prom_bin() -> Path:
    try:
        proc = subprocess.run([str(GET_PROMETHEUS)], capture_output=True, text=True, timeout=180)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"prometheus binary not obtainable: {exc}")
    if proc.returncode != 0:
        pytest.skip(f"prometheus binary not obtainable (get-prometheus.sh: {proc.stderr.strip()[-300:]})")
    return Path(proc.stdout.strip().splitlines()[-1])


def dashboards_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_dashboards", ROOT / "deploy/grafana/build_dashboards.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def promtool(prom_bin: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(prom_bin / "promtool"), *args], input=stdin, capture_output=True, text=True,
                          timeout=60)  # fmt: skip


def alert_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load((PROM_DIR / "alerts.yml").read_text())
    return [r for g in doc["groups"] for r in g["rules"]]


# -- static checks (no platform) -----------------------------------------------------------------------------
@pytest.mark.timeout(120)
def test_promtool_checks_configs_rules_and_dashboard_expressions(prom_bin: Path, tmp_path: Path) -> None:
    for config in (
        "prometheus.yml",
        "prometheus.local.yml",
    ):  # Debian's build has no kubernetes SD: k8s not here
        proc = promtool(prom_bin, "check", "config", str(PROM_DIR / config))
        assert proc.returncode == 0, f"{config}: {proc.stdout}{proc.stderr}"
    proc = promtool(prom_bin, "check", "rules", str(PROM_DIR / "alerts.yml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(alert_rules()) >= 5
    mod = dashboards_module()
    exprs = mod.expressions()
    rules = tmp_path / "dashboard-rules.yml"
    rules.write_text(mod.rules_file(exprs))
    proc = promtool(prom_bin, "check", "rules", str(rules))
    assert proc.returncode == 0 and f"{len(exprs)} rules found" in proc.stdout, proc.stdout + proc.stderr


# -- live -----------------------------------------------------------------------------------------------------
class Prom:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def get(self, path: str, **params: str) -> Any:
        url = f"{self.base}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as exc:  # 400/422: a bad query; the body says why
            return json.loads(exc.read())

    def query(self, expr: str) -> Any:
        return self.get("/api/v1/query", query=expr)


@pytest.fixture(scope="module")
def stack(
    prom_bin: Path, tmp_path_factory: pytest.TempPathFactory, data_dir: Path
) -> Iterator[dict[str, Any]]:
    from agentcore.launcher import AgentSpec, Launcher
    from agentcore.testing import free_port
    from tradehive.platform import BRAIN, build_topology

    tmp = tmp_path_factory.mktemp("prom")
    ns_port = free_port()
    topo = build_topology(data=str(data_dir / "fxcm" / "tick"), speed="100", ns_port=ns_port, timeframe="1m",
                          log_level="error")  # fmt: skip
    regime = topo.agents["brain-regime"]  # short windows: its first signal after ~20 bars, not ~270
    topo.agents["brain-regime"] = AgentSpec(cls=regime.cls, config={**regime.config, "params": {
        "window": 5, "long_window": 20}})  # fmt: skip
    topo.agents["brain-echo"] = AgentSpec(cls=BRAIN, config={"strategy": "tick_echo", "symbols": ["EURUSD"],
                                                             "timeframe": "1m", "warmup_bars": 10})  # fmt: skip
    launcher = Launcher(topo, live=False)
    procs: list[subprocess.Popen[str]] = []
    env = {**os.environ, "AGENTCORE_NS_PORT": str(ns_port)}
    try:
        launcher.start_all()
        (tmp / "targets").mkdir()
        targets = tmp / "targets" / "tradehive.json"
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "tradehive.cli", "prom-sd", "--ns-port", str(ns_port), "--out", str(targets),
             "--interval", "1"], env=env, stdout=subprocess.DEVNULL,
            stderr=open(tmp / "promsd.log", "w"), text=True))  # fmt: skip  # noqa: SIM115
        config = yaml.safe_load((PROM_DIR / "prometheus.local.yml").read_text())
        config["global"].update(scrape_interval="2s", scrape_timeout="2s", evaluation_interval="1s")
        config["rule_files"] = [str(PROM_DIR / "alerts.yml")]
        config["scrape_configs"][0]["file_sd_configs"] = [{"files": [str(tmp / "targets" / "*.json")],
                                                           "refresh_interval": "1s"}]  # fmt: skip
        (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = free_port()
        procs.append(subprocess.Popen(
            [str(prom_bin / "prometheus"), f"--config.file={tmp / 'prometheus.yml'}",
             f"--storage.tsdb.path={tmp / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=open(tmp / "prometheus.log", "w"), text=True))  # fmt: skip  # noqa: SIM115
        yield {"prom": Prom(port), "targets": targets, "tmp": tmp}
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        launcher.stop_all()


def wait_for(fn: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        ok, last = fn()
        if ok:
            return last
        time.sleep(1.0)
    raise AssertionError(f"timed out waiting for {what}: {last}")


@pytest.mark.timeout(240)
def test_real_prometheus_scrapes_the_platform_and_every_query_has_data(
    stack: dict[str, Any], prom_bin: Path
) -> None:
    prom: Prom = stack["prom"]

    def targets_up() -> tuple[bool, Any]:
        try:
            active = prom.get("/api/v1/targets")["data"]["activeTargets"]
        except OSError as exc:
            return False, str(exc)
        up = {t["labels"].get("agent") for t in active if t["health"] == "up"}
        return EXPECTED_AGENTS <= up, sorted(a for a in up if a)

    wait_for(targets_up, 90, "every agent scraped through file SD")
    sd = json.loads(stack["targets"].read_text())
    assert {g["labels"]["agent"] for g in sd} == EXPECTED_AGENTS
    assert {g["labels"]["role"] for g in sd} == {"feeder", "router", "brain", "trader"}

    for group in sd:  # every agent's exposition passes the linter
        url = f"http://{group['targets'][0]}/metrics"
        with urllib.request.urlopen(url, timeout=10) as r:
            text = r.read().decode()
        proc = promtool(prom_bin, "check", "metrics", stdin=text)
        assert proc.returncode == 0, f"{group['labels']['agent']}: {proc.stdout}{proc.stderr}"

    exprs = dashboards_module().expressions()

    def all_have_data() -> tuple[bool, Any]:
        missing = []
        for where, expr in exprs:
            res = prom.query(expr)
            if res.get("status") != "success":
                raise AssertionError(f"{where}: query failed: {res.get('error')} ({expr})")
            if not res["data"]["result"]:
                missing.append(where)
        return not missing, missing

    wait_for(all_have_data, 120, "data for every dashboard expression")

    for rule in alert_rules():  # each alert expression is a valid, evaluable query
        res = prom.query(rule["expr"])
        assert res.get("status") == "success", f"{rule['alert']}: {res.get('error')}"

    def rules_evaluated() -> tuple[bool, Any]:
        groups = prom.get("/api/v1/rules")["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        bad = [(r["name"], r.get("lastError")) for r in rules if r.get("health") != "ok"]
        return len(rules) == len(alert_rules()) and not bad, bad

    wait_for(rules_evaluated, 30, "every alert rule evaluated without error")
    e2e = prom.query('sum(tradehive_hop_latency_seconds_count{hop="tick_to_order"})')["data"]["result"]
    assert float(e2e[0]["value"][1]) > 0  # orders carried their origin stamp end to end
    kill = prom.query("max(tradehive_trader_kill_switch)")["data"]["result"]
    assert float(kill[0]["value"][1]) == 0.0
