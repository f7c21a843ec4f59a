"""Topology files (``agentcore up``) and child-process environments: loading, defaults and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from agentcore.errors import AgentcoreError, ConfigError
from agentcore.launcher import Launcher, load_topology
from agentcore.process import child_env

pytestmark = pytest.mark.timeout(30)

ROOT = Path(__file__).resolve().parents[3]

GOOD_YAML = """
nameserver: {host: 127.0.0.1, port: 9191, start: false}
settings: {register_interval: 1.0}
restart: {max_restarts: 2, backoff_s: 0.1}
agents:
  a:
    class: agentcore.testing:Probe
    settings: {transport: ipc}
  b:
    class: agentcore.testing:Probe
    restart: false
    connect:
      - {address: a.out, handler: on_message, topics: [tick]}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_yaml_topology(tmp_path: Path) -> None:
    topo = load_topology(write(tmp_path, "t.yaml", GOOD_YAML))
    assert set(topo.agents) == {"a", "b"}
    assert topo.agents["a"].cls == "agentcore.testing:Probe" and topo.agents["a"].restart is True
    assert topo.agents["b"].restart is False and topo.agents["b"].connect[0]["topics"] == ["tick"]
    assert (topo.nameserver.port, topo.nameserver.start) == (9191, False)
    assert (topo.restart.max_restarts, topo.restart.backoff_s, topo.restart.window_s) == (2, 0.1, 60.0)
    launcher = Launcher(topo, live=False)
    settings = launcher.agents["a"].settings()  # defaults < topology settings < agent settings
    assert settings == {"ns_host": "127.0.0.1", "ns_port": 9191, "register_interval": 1.0, "transport": "ipc"}
    assert [r["state"] for r in launcher.rows()] == ["pending", "pending"]


def test_toml_topology(tmp_path: Path) -> None:
    text = '[agents.x]\nclass = "agentcore.testing:Probe"\n[agents.x.settings]\nlog_level = "debug"\n'
    topo = load_topology(write(tmp_path, "t.toml", text))
    assert topo.agents["x"].settings == {"log_level": "debug"} and topo.nameserver.port == 9090


def test_example_topology_loads() -> None:
    topo = load_topology(ROOT / "examples" / "demo.yaml")
    assert {"clock", "worker", "collector", "client", "listener"} <= set(topo.agents)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("agents: {a: {class: x:Y, colour: red}}", "colour"),  # unknown key
        ("agents: {a: {settings: {}}}", "class"),  # missing class
        ("nameserver: {port: nine}\nagents: {}", "port"),  # mistyped
        ("agents: [a, b]", "agents"),  # wrong shape
        ("restart: {max_restart: 1}\nagents: {}", "max_restart"),
        ("agents: {a: {class: x:Y}}\nextra: 1", "extra"),
        ("nameserver: {}", "agents"),  # required
        ("agents: {a: {class: x:Y\n", "does not parse"),  # YAML syntax error
    ],
)
def test_topology_errors(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_topology(write(tmp_path, "bad.yaml", text))
    assert needle in str(exc.value)


def test_topology_unreadable_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_topology(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="does not parse"):
        load_topology(write(tmp_path, "bad.toml", "[agents\n"))


def test_child_env() -> None:
    base = {"PATH": "/bin", "AGENTCORE_STALE": "1", "PYRO_LOGLEVEL": "x", "ROLE_OLD": "1"}
    env = child_env({"ns_port": 9191, "bind_host": "0.0.0.0"}, {"symbols": ["A"]}, "ROLE_",
                    [{"address": "a.out"}], base=base)  # fmt: skip
    assert env == {"PATH": "/bin", "AGENTCORE_NS_PORT": "9191", "AGENTCORE_BIND_HOST": "0.0.0.0",
                   "ROLE_SYMBOLS": '["A"]', "AGENTCORE_CONNECT": '[{"address":"a.out"}]'}  # fmt: skip
    with pytest.raises(AgentcoreError, match="config_prefix"):
        child_env({}, {"x": 1}, "", base={})
