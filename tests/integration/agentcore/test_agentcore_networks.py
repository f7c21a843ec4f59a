"""Reach from another network: an agent advertises, next to its own endpoints, the forwarded addresses of its Pyro
daemon and sockets for a second network; clients on that network (a chart, a shell, ``history`` on a desktop
outside a compose network) dial only those. The forwarding is a real TCP forwarder on other ports, standing in for
compose ``ports:`` / a NodePort, so that a call can only succeed through it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from agentcore import client, naming
from agentcore.errors import ResolveError
from agentcore.live import agent_rows
from agentcore.proxy import AgentProxy
from agentcore.testing import PortForward, free_port, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture
def edge(agents: Any) -> Iterator[dict[str, Any]]:
    """Agent ``edge`` (Pyro and ZeroMQ on fixed ports) with a PUB and a REP, each forwarded for network
    ``outside``; the REP is forwarded but the PULL is not published there."""
    pyro, base = free_port(), free_port()
    fwd = {"pyro": PortForward(("127.0.0.1", pyro)), "pub": PortForward(("127.0.0.1", base)),
           "rep": PortForward(("127.0.0.1", base + 1))}  # fmt: skip
    listener = {"host": "127.0.0.1", "pyro_port": fwd["pyro"].port,
                "ports": {"pub": fwd["pub"].port, "rep": fwd["rep"].port, "ghost": free_port()}}  # fmt: skip
    proc = agents.spawn("edge", settings={"pyro_port": pyro, "port_base": base,
                                          "advertise_networks": {"outside": listener}})  # fmt: skip
    proc.proxy().bind_alias("PUB", "pub")
    proc.proxy().bind_alias("REP", "rep")
    proc.proxy().bind_alias("PULL", "pull")
    try:
        yield {"pyro": pyro, "base": base, "fwd": fwd, "proc": proc}
    finally:
        for f in fwd.values():
            f.close()


def test_both_networks_are_published_and_the_internal_tags_unchanged(
    edge: dict, agents: Any, nameserver: Any
) -> None:
    ns = naming.locate(nameserver.host, nameserver.port)
    uri, meta = ns.lookup("edge", return_metadata=True)
    base, fwd = edge["base"], edge["fwd"]
    assert str(uri).endswith(f"@127.0.0.1:{edge['pyro']}")
    assert {f"ep:pub=PUB@tcp://127.0.0.1:{base}", f"ep:rep=REP@tcp://127.0.0.1:{base + 1}",
            f"ep:pull=PULL@tcp://127.0.0.1:{base + 2}"} <= set(meta)  # fmt: skip
    assert naming.endpoints_for(meta, "outside") == {
        "pub": ("PUB", f"tcp://127.0.0.1:{fwd['pub'].port}"),
        "rep": ("REP", f"tcp://127.0.0.1:{fwd['rep'].port}"),
    }
    assert "ghost" in agents.log_tail("edge")  # a listed alias never bound is said at start, not advertised
    assert naming.lookup_uri(ns, "edge", "outside") == f"PYRO:agent.edge@127.0.0.1:{fwd['pyro'].port}"
    assert AgentProxy("edge", nameserver.host, nameserver.port).status()["networks"] == {
        "outside": {"pub": f"tcp://127.0.0.1:{fwd['pub'].port}", "rep": f"tcp://127.0.0.1:{fwd['rep'].port}"}
    }


def test_pyro_calls_arrive_through_the_forwarded_address(edge: dict, nameserver: Any) -> None:
    fwd = edge["fwd"]["pyro"]
    with AgentProxy("edge", nameserver.host, nameserver.port, network="outside", timeout=5) as proxy:
        assert proxy.status()["name"] == "edge"
        assert proxy.set_attr("knob", 7) == 0 and proxy.get_attr("knob") == 7
    assert fwd.connections == 1  # the daemon served a call that reached it at an address it did not bind


def test_shell_rows_and_requests_use_the_chosen_network(
    edge: dict, nameserver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fwd = edge["fwd"]
    monkeypatch.setenv("AGENTCORE_NETWORK", "outside")  # the one setting a desktop client needs
    row = next(r for r in agent_rows(nameserver.host, nameserver.port) if r["name"] == "edge")
    assert row["address"] == f"127.0.0.1:{fwd['pyro'].port}" and row["state"] == "ready"
    assert set(row["endpoints"]) == {"pub", "rep"}
    reply = client.request("edge.rep", {"q": 1}, ns_host=nameserver.host, ns_port=nameserver.port)
    assert reply == {"echo": {"q": 1}, "by": "edge"}
    assert fwd["rep"].connections == 1
    with pytest.raises(ResolveError, match="on network 'outside'"):
        client.request("edge.pull", {}, ns_host=nameserver.host, ns_port=nameserver.port, timeout=2)


def test_an_agent_on_the_other_network_subscribes_through_the_forwarder(
    edge: dict, agents: Any, nameserver: Any
) -> None:
    viewer = agents.spawn("viewer", settings={"network": "outside"}).proxy()
    endpoint = edge["fwd"]["pub"].port
    viewer.connect_alias("edge.pub", alias="in", topics=["t"])
    assert viewer.status()["endpoints"]["in"] == [f"tcp://127.0.0.1:{endpoint}"]
    sender = edge["proc"].proxy()

    def received() -> int:
        sender.send_many("pub", 5, topic="t")
        return int(viewer.summary("in")["counts"].get("in", 0))

    assert wait_until(received, 20, interval=0.2, message="messages through the forwarded PUB")
    assert edge["fwd"]["pub"].connections >= 1
