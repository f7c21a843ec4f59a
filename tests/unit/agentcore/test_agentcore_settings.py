"""Settings from env: defaults, conversion, unknown and mistyped keys, JSON lists; build_agent."""

from __future__ import annotations

import msgspec
import pytest
from agentcore import settings as st
from agentcore.agent import Agent
from agentcore.errors import ConfigError
from agentcore.runtime import build_agent

pytestmark = pytest.mark.timeout(30)


class RoleConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    symbols: list[str] = []
    weights: dict[str, float] = {}
    window: int = 20
    enabled: bool = False
    name: str = "x"


class Configured(Agent):
    role = "configured"
    Config = RoleConfig
    config_prefix = "TESTROLE_"


def test_defaults() -> None:
    s = st.from_env(st.AgentSettings, "AGENTCORE_", {})
    assert s == st.AgentSettings()
    assert (s.ns_host, s.ns_port, s.bind_host, s.transport, s.register_interval) == (
        "127.0.0.1",
        9090,
        "127.0.0.1",
        "tcp",
        5.0,
    )


def test_env_values_are_converted() -> None:
    env = {
        "AGENTCORE_NS_PORT": "9191",
        "AGENTCORE_REGISTER_INTERVAL": "0.25",
        "AGENTCORE_BIND_HOST": "0.0.0.0",
        "OTHER_THING": "ignored",
        "AGENTCORE_LINGER_MS": "0",
    }
    s = st.from_env(st.AgentSettings, "AGENTCORE_", env)
    assert (s.ns_port, s.register_interval, s.bind_host, s.linger_ms) == (9191, 0.25, "0.0.0.0", 0)
    with pytest.raises(AttributeError):
        s.ns_port = 1  # type: ignore[misc]  # frozen


def test_unknown_key_names_it() -> None:
    with pytest.raises(ConfigError) as exc:
        st.from_env(st.AgentSettings, "AGENTCORE_", {"AGENTCORE_NS_PROT": "9090"})
    assert "AGENTCORE_NS_PROT" in str(exc.value)
    assert "AGENTCORE_NS_PORT" in str(exc.value)  # the valid names are listed


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("AGENTCORE_NS_PORT", "ninety"),
        ("AGENTCORE_REGISTER_INTERVAL", "soon"),
        ("AGENTCORE_SNDHWM", "[1, 2]"),
        ("AGENTCORE_BUSY_POLL_US", "-1"),
        ("AGENTCORE_BUSY_POLL_US", "5000000"),
    ],
)
def test_mistyped_value(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as exc:
        st.from_env(st.AgentSettings, "AGENTCORE_", {key: value})
    assert key[len("AGENTCORE_") :].lower() in str(exc.value)


def test_json_lists_maps_and_bools() -> None:
    env = {
        "TESTROLE_SYMBOLS": '["EURUSD", "BTCUSDT"]',
        "TESTROLE_WEIGHTS": '{"a": 0.5}',
        "TESTROLE_ENABLED": "true",
        "TESTROLE_NAME": "[not json",
    }
    c = st.from_env(RoleConfig, "TESTROLE_", env)
    assert c.symbols == ["EURUSD", "BTCUSDT"] and c.weights == {"a": 0.5} and c.enabled is True
    assert c.name == "[not json"  # a str field keeps its text
    with pytest.raises(ConfigError):
        st.from_env(RoleConfig, "TESTROLE_", {"TESTROLE_SYMBOLS": "[1, 2"})


def test_to_env_round_trip() -> None:
    c = RoleConfig(symbols=["A"], weights={"x": 1.0}, window=5, enabled=True, name="n")
    env = st.to_env(msgspec.to_builtins(c), "TESTROLE_")
    assert env["TESTROLE_ENABLED"] == "true" and env["TESTROLE_SYMBOLS"] == '["A"]'
    assert st.from_env(RoleConfig, "TESTROLE_", env) == c


def test_parse_connections() -> None:
    assert st.parse_connections("") == []
    assert st.parse_connections('[{"address": "a.out"}]') == [{"address": "a.out"}]
    for bad in ("{", '{"address": "a.out"}', "[1]"):
        with pytest.raises(ConfigError):
            st.parse_connections(bad)


def test_build_agent_reads_settings_and_config() -> None:
    env = {"AGENTCORE_NS_PORT": "9999", "TESTROLE_WINDOW": "7", "AGENTCORE_CONNECT": '[{"address": "x.out"}]'}
    agent = build_agent(f"{__name__}:Configured", "c1", env)
    assert isinstance(agent, Configured)
    assert agent.settings.ns_port == 9999 and agent.config.window == 7
    assert agent.connections == [{"address": "x.out"}]
    with pytest.raises(ConfigError, match="TESTROLE_WINDW"):
        build_agent(f"{__name__}:Configured", "c1", {"TESTROLE_WINDW": "7"})


@pytest.mark.parametrize(
    "path", ["no.such.module:Agent", f"{__name__}:Missing", f"{__name__}:RoleConfig", "noColon"]
)
def test_build_agent_bad_class(path: str) -> None:
    with pytest.raises(ConfigError):
        build_agent(path, "x", {})


@pytest.mark.parametrize("name", ["", "a.b", "a/b"])
def test_bad_agent_names(name: str) -> None:
    with pytest.raises(ConfigError):
        Agent(name)
