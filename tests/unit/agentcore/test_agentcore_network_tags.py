"""Advertised addresses per network (Kafka's advertised listeners): the tags an agent publishes for a network, and
which endpoint or Pyro URI a client on each network picks from them."""

from __future__ import annotations

import pytest
from agentcore import naming
from agentcore.errors import ConfigError, ResolveError
from agentcore.settings import AgentSettings, Listener, from_env

TAGS = {
    "agentcore",
    "role:router",
    "metrics:http://router:9100/metrics",
    "ep:market=PUB@tcp://router:5550",
    "ep:history=REP@tcp://router:5551",
    "ep@host:market=PUB@tcp://127.0.0.1:9620",
    "pyro@host:PYRO:agent.router@127.0.0.1:9202",
    "metrics@host:http://127.0.0.1:9102/metrics",
}
URI = "PYRO:agent.router@router:9901"


def test_internal_tags_are_read_as_before_and_ignore_other_networks() -> None:
    assert naming.parse_endpoint_tags(TAGS) == {
        "market": ("PUB", "tcp://router:5550"),
        "history": ("REP", "tcp://router:5551"),
    }
    assert naming.endpoints_for(TAGS, "internal") == naming.parse_endpoint_tags(TAGS)
    assert naming.agent_uri(URI, TAGS, "internal") == URI


def test_a_served_network_gives_its_endpoints_and_uri_only() -> None:
    assert naming.endpoints_for(TAGS, "host") == {"market": ("PUB", "tcp://127.0.0.1:9620")}
    assert naming.agent_uri(URI, TAGS, "host") == "PYRO:agent.router@127.0.0.1:9202"
    assert naming.metrics_url(TAGS, "host") == "http://127.0.0.1:9102/metrics"
    assert naming.metrics_url(TAGS, "internal") == "http://router:9100/metrics"
    assert naming.serves_network(TAGS, "host") and not naming.serves_network(TAGS, "vpn")


def test_an_agent_that_serves_no_such_network_is_dialled_at_its_own_addresses() -> None:
    local = {t for t in TAGS if "@host:" not in t}  # e.g. a chart started on the client's own host
    assert naming.endpoints_for(local, "host") == naming.parse_endpoint_tags(local)
    assert naming.agent_uri(URI, local, "host") == URI


def test_the_client_network_comes_from_agentcore_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENTCORE_NETWORK", raising=False)
    assert naming.default_network() == "internal"
    monkeypatch.setenv("AGENTCORE_NETWORK", "host")
    assert naming.default_network() == "host"
    assert naming.agent_uri(URI, TAGS) == "PYRO:agent.router@127.0.0.1:9202"


class _NS:
    def lookup(self, name: str, return_metadata: bool = False) -> tuple[str, set[str]]:
        return URI, TAGS


def test_resolve_names_the_network_when_an_alias_is_not_published_there() -> None:
    assert naming.resolve(_NS(), "router.history", "internal") == ("REP", "tcp://router:5551")
    with pytest.raises(ResolveError, match="no alias 'history' on network 'host'"):
        naming.resolve(_NS(), "router.history", "host")


def test_listeners_are_read_from_the_environment_and_checked() -> None:
    env = {
        "AGENTCORE_ADVERTISE_NETWORKS": '{"host": {"host": "127.0.0.1", "pyro_port": 9202, '
        '"ports": {"market": 9620}, "http_port": 9102}}',
        "AGENTCORE_NETWORK": "host",
    }
    s = from_env(AgentSettings, "AGENTCORE_", env)
    assert s.advertise_networks == {
        "host": Listener(host="127.0.0.1", pyro_port=9202, ports={"market": 9620}, http_port=9102)
    }
    assert s.network == "host"
    bad = [
        '{"host": {"host": "0.0.0.0"}}',  # not dialable
        '{"internal": {"host": "10.0.0.1"}}',  # the agent's own network is not a listener
        '{"Host:1": {"host": "10.0.0.1"}}',  # ':' would break the tags
        '{"host": {"host": "h", "ports": {"market": 70000}}}',
        '{"host": {"host": "h", "bogus": 1}}',
    ]
    for value in bad:
        with pytest.raises(ConfigError):
            from_env(AgentSettings, "AGENTCORE_", {"AGENTCORE_ADVERTISE_NETWORKS": value})
