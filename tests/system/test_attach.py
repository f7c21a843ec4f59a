"""Attach from outside the compose network: with ``AGENTCORE_NETWORK=host`` a client on the host reaches the agents
of ``docker compose up`` through their published ports (the ``host`` addresses each agent advertises next to its
service name): ``tradehive history`` returns bars, ``agentcore call``/``agentcore shell`` reach the trader over
Pyro, and the chart (Qt offscreen) loads the router's candles and follows the stack.

The stack is the default one (simulator; the router starts with 6 h of simulated history). An override publishes
the ports on free ports of 127.0.0.1 instead of the documented fixed ones (runs in parallel never collide) and
advertises exactly those, as deploy/docker-compose.yml does for its fixed ports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from agentcore.testing import free_port  # noqa: E402

from .conftest import Stack, wait_for  # noqa: E402

AGENTS = ("feeder", "router", "brain-regime", "brain-trend", "trader")
STARTED = (
    "nameserver",
    "feeder",
    "router",
    "trader",
)  # what the host clients use (the brains' mapping: static)
# the sockets a host client needs, with the container port each is bound on (bind order from 5550)
SOCKETS = {"router": {"market": 5550, "history": 5551}, "brain-regime": {"signals": 5550, "indicators": 5551},
           "brain-trend": {"signals": 5550, "indicators": 5551}, "trader": {"events": 5550}}  # fmt: skip
pytestmark = pytest.mark.timeout(900)  # the first test also waits for the images fixture (cached builds)


def _override(path: Path) -> Path:
    """Every agent's Pyro daemon and the client sockets on free host ports, advertised for network ``host``."""
    # a loaded CI machine (load 20 on 2 cores here): slow is not broken, for the health checks compose waits on
    tolerant = "    healthcheck: {start_period: 180s, timeout: 10s, retries: 12}"
    lines = ["services:", "  nameserver:", tolerant]
    for agent in STARTED[1:]:
        pyro = free_port()
        ports = {alias: free_port() for alias in SOCKETS.get(agent, {})}
        published = ["127.0.0.1::9100", f"127.0.0.1:{pyro}:9901"]
        published += [f"127.0.0.1:{ports[a]}:{inside}" for a, inside in SOCKETS.get(agent, {}).items()]
        listener = {"host": {"host": "127.0.0.1", "pyro_port": pyro, "ports": ports}}
        lines += [f"  {agent}:", f"    ports: !override {json.dumps(published)}",
                  tolerant,
                  f"    environment: {{AGENTCORE_ADVERTISE_NETWORKS: {json.dumps(json.dumps(listener))}}}"]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def host_env(module_stack_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The stack up; the environment of a host client: the published name server and ``AGENTCORE_NETWORK=host``."""
    override = _override(tmp_path_factory.mktemp("attach") / "attach.yml")
    stack: Stack = module_stack_factory(overrides=(override,))
    stack.up(*STARTED)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTCORE_")}
    env.update(AGENTCORE_NS_HOST="127.0.0.1", AGENTCORE_NS_PORT=str(stack.port("nameserver", 9090)),
               AGENTCORE_NETWORK="host", AGENTCORE_LOG_LEVEL="warning")  # fmt: skip
    yield env


def _cli(
    env: dict[str, str], *argv: str, stdin: str = "", timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *argv], env=env, input=stdin, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def test_compose_advertises_exactly_the_ports_it_publishes() -> None:
    """No engine needed: in deploy/docker-compose.yml each agent's ``host`` listener names host ports that are
    published to its Pyro daemon, its HTTP port and the container port of each alias (bind order from 5550)."""
    import yaml

    from .conftest import COMPOSE_FILE

    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    for agent in AGENTS:
        svc = services[agent]
        raw = svc["environment"]["AGENTCORE_ADVERTISE_NETWORKS"].replace("${TRADEHIVE_ADVERTISE_ADDR:-127.0.0.1}",
                                                                        "127.0.0.1")  # fmt: skip
        listener = json.loads(raw)["host"]
        published = {int(p.split(":")[-2]): int(p.split(":")[-1].split()[0]) for p in svc["ports"]}
        assert published[listener["pyro_port"]] == 9901, agent
        assert published[listener["http_port"]] == 9100, agent
        assert {a: published[port] for a, port in listener.get("ports", {}).items()} == SOCKETS.get(agent, {})
        assert set(published) == {
            listener["pyro_port"],
            listener["http_port"],
            *listener.get("ports", {}).values(),
        }


def test_history_from_the_host(host_env: dict[str, str]) -> None:
    def bars() -> list[dict[str, Any]]:
        proc = _cli(
            host_env, "tradehive", "history", "EURUSD", "--timeframe", "1m", "--price", "mid", "--json"
        )
        assert proc.returncode == 0, proc.stderr[-800:]
        return list(json.loads(proc.stdout))

    got = wait_for(bars, timeout=60, interval=2, what="bars from the router through its published port")
    assert isinstance(got, list) and len(got) > 60  # 6 h of simulated history at 1m
    assert {"open", "high", "low", "close", "volume"} <= set(got[-1])
    # the one setting is what makes it work: on the internal network the host dials "router", unresolvable here
    internal = {**host_env, "AGENTCORE_NETWORK": "internal"}
    assert _cli(internal, "tradehive", "history", "EURUSD", "--json").returncode != 0


def test_call_and_shell_reach_the_trader_from_the_host(host_env: dict[str, str]) -> None:
    proc = _cli(host_env, "agentcore", "call", "trader", "status")
    assert proc.returncode == 0, proc.stderr[-800:]
    status = json.loads(proc.stdout)
    assert status["name"] == "trader" and status["ready"] is True
    assert status["networks"]["host"]["events"].startswith("tcp://127.0.0.1:")
    from agentcore.proxy import AgentProxy

    ns_port = int(host_env["AGENTCORE_NS_PORT"])
    for agent in STARTED[1:]:  # the container ports the compose file publishes for each alias
        sockets = SOCKETS.get(agent, {})
        with AgentProxy(agent, ns_port=ns_port, network="host") as proxy:
            endpoints = proxy.status()["endpoints"]
        assert {a: endpoints[a][0].rsplit(":", 1)[1] for a in sockets} == {
            a: str(p) for a, p in sockets.items()
        }
    script = "print('STATE', a.status()['name'], agents['router'].ping())\n"
    shell = _cli(host_env, "agentcore", "shell", "trader", "--ui", "python", stdin=script)
    assert shell.returncode == 0, shell.stderr[-800:]
    assert "STATE trader pong" in shell.stdout + shell.stderr


def test_chart_loads_candles_from_the_router_from_the_host(host_env: dict[str, str], qtbot: Any) -> None:
    from agentcore import client
    from agentcore.settings import AgentSettings
    from tradehive import protocol as p
    from tradehive_viz.agent import VizConfig
    from tradehive_viz.app import VizApp

    ns_port = int(host_env["AGENTCORE_NS_PORT"])
    settings = AgentSettings(ns_port=ns_port, network="host", log_level="warning")
    app = VizApp(VizConfig(symbol="EURUSD", timeframe="1m", price="mid"), settings, name="viz-host")
    qtbot.addWidget(app.window)
    app.start()
    try:
        chart = app.window.chart
        qtbot.waitUntil(lambda: app.window.loaded_view is not None and len(chart.series) > 60, timeout=60_000)
        held = chart.series.bars.copy()
        req = p.BarHistoryRequest(symbol="EURUSD", timeframe="1m", price="mid")
        router = client.request(f"router.{p.ROUTER_HISTORY}", p.encode(req), ns_port=ns_port, network="host",
                                timeout=10)  # fmt: skip
        lo, hi = int(held["ts"][0]), int(held["ts"][-1])
        want = router[(router["ts"] >= lo) & (router["ts"] <= hi)]
        assert held.size == want.size
        for field in ("ts", "open", "high", "low", "close"):
            assert np.array_equal(held[field], want[field]), field
        # live: the chart follows the stack through the published market socket (a new bar or the forming one)
        counts = app.agent.counts
        qtbot.waitUntil(lambda: counts["ticks"] + counts["partials"] + counts["bars"] > 0, timeout=60_000)
        assert counts["bad_messages"] == 0
        # the controls reach the agents over Pyro at their host addresses (status polled, no error)
        qtbot.waitUntil(lambda: bool(app.window.agents.get("trader", {}).get("status")), timeout=30_000)
        assert not app.window.agents["trader"].get("error"), app.window.agents["trader"]
    finally:
        app.close()
