"""Across hosts: two network namespaces joined by a veth pair, the name server in one, agents in both.

Needs root (``ip netns add``); skips with the reason otherwise. Only addresses inside the two private
namespaces are configured (10.213.0.1/24 and 10.213.0.2/24); the namespaces (and with them the veth pair)
are deleted at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agentcore.process import PendingAgent, child_env

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

ADDR = {"a": "10.213.0.1", "b": "10.213.0.2"}
NS_PORT = 9090  # inside namespace a: nothing else listens there


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=check)


class NetnsPair:
    def __init__(self) -> None:
        tag = f"{os.getpid() % 100000}"
        self.names = {"a": f"ach5a-{tag}", "b": f"ach5b-{tag}"}
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def exec_cmd(self, side: str, *cmd: str) -> list[str]:
        return ["ip", "netns", "exec", self.names[side], *cmd]

    def popen(self, side: str, cmd: list[str], log: Path, **kw: Any) -> subprocess.Popen[bytes]:
        with open(log, "wb") as err:
            proc = subprocess.Popen(self.exec_cmd(side, *cmd), stdout=subprocess.DEVNULL, stderr=err, **kw)
        self.procs.append(proc)
        self.logs.append(log)
        return proc

    def spawn_agent(self, side: str, name: str, log: Path, settings: dict[str, Any]) -> Any:
        env = child_env(settings)
        rfd, wfd = os.pipe()
        try:
            cmd = [sys.executable, "-m", "agentcore.agent", "agentcore.testing:Probe", "--name", name,
                   "--ready-fd", str(wfd)]  # fmt: skip
            proc = self.popen(side, cmd, log, env=env, pass_fds=(wfd,))
        finally:
            os.close(wfd)
        return PendingAgent(proc, name, rfd).wait_ready(60.0)

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for name in self.names.values():
            _ip("netns", "del", name, check=False)
        for log in self.logs:
            if log.exists():
                print(f"--- {log.name} ---\n{log.read_text(errors='replace')[-1500:]}")


@pytest.fixture
def netns_pair() -> Iterator[NetnsPair]:
    if shutil.which("ip") is None:
        pytest.skip("the `ip` tool (iproute2) is not installed")
    pair = NetnsPair()
    probe = _ip("netns", "add", pair.names["a"], check=False)
    if probe.returncode != 0:
        pytest.skip(f"`ip netns add` is not permitted here: {probe.stderr.strip()}")
    try:
        a, b = pair.names["a"], pair.names["b"]
        _ip("netns", "add", b)
        _ip("-n", a, "link", "set", "lo", "up")
        _ip("-n", b, "link", "set", "lo", "up")
        _ip("-n", a, "link", "add", "ach5-va", "type", "veth", "peer", "name", "ach5-vb", "netns", b)
        _ip("-n", a, "addr", "add", f"{ADDR['a']}/24", "dev", "ach5-va")
        _ip("-n", b, "addr", "add", f"{ADDR['b']}/24", "dev", "ach5-vb")
        _ip("-n", a, "link", "set", "ach5-va", "up")
        _ip("-n", b, "link", "set", "ach5-vb", "up")
        yield pair
    finally:
        pair.close()
    assert not {n for n in pair.names.values()} & set(_ip("netns", "list").stdout.split()), (
        "namespaces left over"
    )


DRIVER = r"""
import json, sys, time
import Pyro5.api
from agentcore import naming
from agentcore.testing import wait_until

ns_host, ns_port = sys.argv[1], int(sys.argv[2])
naming.configure_pyro(10.0)
ns = naming.locate(ns_host, ns_port)
agents = naming.list_agents(ns)
pub = Pyro5.api.Proxy(agents["pub"][0])
sub = Pyro5.api.Proxy(agents["sub"][0])
endpoint = pub.bind_alias("PUB", "out")
sub.connect_alias("pub.out", alias="feed", topics=["x"])
def live():
    pub.send_many("out", 1, topic="x.warm")
    return sub.summary("feed")["counts"].get("feed", 0) > 0
wait_until(live, 60, message="subscription across namespaces")
sub.clear()
pub.send_many("out", 100, topic="x.data")
wait_until(lambda: sub.summary("feed")["counts"].get("feed", 0) >= 100, 30, message="100 messages")
time.sleep(0.2)
records = sub.summary("feed")["records"]
out = {
    "endpoint": endpoint,
    "agents": {n: [u, sorted(m)] for n, (u, m) in naming.list_agents(ns).items()},
    "received": len(records),
    "senders": sorted({r[3] for r in records}),
    "values": [r[5]["i"] for r in records],
    "sub_status": sub.status(),
    "pub_status": pub.status(),
}
print(json.dumps(out))
"""


def test_agents_in_two_namespaces_find_each_other(netns_pair: NetnsPair, tmp_path: Path) -> None:
    pair = netns_pair
    pair.popen("a", [sys.executable, "-m", "agentcore.cli", "nameserver", "--host", "0.0.0.0", "--port",
                     str(NS_PORT)], tmp_path / "ns.log")  # fmt: skip
    base = {"ns_host": ADDR["a"], "ns_port": NS_PORT, "bind_host": "0.0.0.0", "log_format": "json",
            "comm_timeout": 5.0}  # fmt: skip
    # the agent's first registration retries while the name server starts
    pair.spawn_agent("a", "pub", tmp_path / "pub.log", base)
    pair.spawn_agent("b", "sub", tmp_path / "sub.log", base)
    run = subprocess.run(pair.exec_cmd("b", sys.executable, "-c", DRIVER, ADDR["a"], str(NS_PORT)),
                         capture_output=True, text=True, timeout=150)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["received"] == 100 and out["senders"] == ["pub"] and out["values"] == list(range(100))
    assert out["endpoint"].startswith(f"tcp://{ADDR['a']}:")
    agents = out["agents"]
    assert set(agents) == {"pub", "sub"}
    for name, side in (("pub", "a"), ("sub", "b")):
        uri, tags = agents[name]
        assert f"@{ADDR[side]}:" in uri, uri
        advertised = [uri, *(t for t in tags if t.startswith(("ep:", "metrics:")))]
        for text in advertised:
            assert "0.0.0.0" not in text and "127.0.0.1" not in text, text
        assert any(t.startswith("metrics:http://" + ADDR[side]) for t in tags), tags
    assert any(t == f"ep:out=PUB@{out['endpoint']}" for t in agents["pub"][1])
    assert out["pub_status"]["host"] == ADDR["a"] and out["sub_status"]["host"] == ADDR["b"]
    assert out["sub_status"]["endpoints"]["feed"] == [out["endpoint"]]
    assert out["sub_status"]["sockets"]["feed"]["sequence_gaps"] == 0
