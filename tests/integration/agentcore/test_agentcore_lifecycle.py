"""Agent life cycles with real processes: SIGTERM, SIGKILL and restart by the launcher, name-server restarts,
peers that move, and the ``agentcore`` command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import Pyro5.api
import Pyro5.errors
import pytest
from agentcore import naming
from agentcore.launcher import AgentSpec, Launcher, NameServerSpec, RestartPolicy, Topology
from agentcore.nameserver import NameServerProcess
from agentcore.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]


def _ns(nameserver: Any) -> Any:
    return naming.locate(nameserver.host, nameserver.port)


def _registered(nameserver: Any, name: str) -> tuple[str, set[str]] | None:
    try:
        uri, meta = _ns(nameserver).lookup(name, return_metadata=True)
    except Pyro5.errors.NamingError:
        return None
    return str(uri), set(meta)


def _count(proxy: Any, alias: str) -> int:
    return int(proxy.summary(alias)["counts"].get(alias, 0))


def test_sigterm_exits_zero_and_unregisters(agents: Any, nameserver: Any) -> None:
    proc = agents.spawn("term")
    assert _registered(nameserver, "term") is not None
    t0 = time.monotonic()
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.proc.wait(15) == 0
    assert time.monotonic() - t0 < 10
    assert _registered(nameserver, "term") is None


def test_remote_stop_exits_zero(agents: Any, nameserver: Any) -> None:
    proc = agents.spawn("stopme")
    with proc.proxy() as p:
        p.stop()
    assert proc.proc.wait(15) == 0
    assert _registered(nameserver, "stopme") is None


def test_killed_agent_restarted_by_launcher(nameserver: Any) -> None:
    topo = Topology(
        agents={"phoenix": AgentSpec(cls="agentcore.testing:Probe", settings={"log_format": "json"})},
        nameserver=NameServerSpec(host=nameserver.host, port=nameserver.port, start=False),
        restart=RestartPolicy(max_restarts=3, window_s=60, backoff_s=0.2),
        start_timeout=45.0,
    )  # fmt: skip
    launcher = Launcher(topo, live=False)
    try:
        launcher.start_all()
        first = launcher.agents["phoenix"].proc
        assert first is not None
        old_pid = first.pid
        uri, meta = _registered(nameserver, "phoenix") or ("", set())
        assert f"pid:{old_pid}" in meta
        os.kill(old_pid, signal.SIGKILL)

        def restarted() -> bool:
            launcher.check()
            sup = launcher.agents["phoenix"]
            return sup.state == "running" and sup.proc is not None and sup.proc.pid != old_pid

        wait_until(restarted, 60, interval=0.1, message="agent restarted")
        sup = launcher.agents["phoenix"]
        assert sup.last_exit == -signal.SIGKILL and len(sup.restarts) == 1
        new_pid = sup.proc.pid  # type: ignore[union-attr]
        new_uri, new_meta = _registered(nameserver, "phoenix") or ("", set())
        assert f"pid:{new_pid}" in new_meta and f"pid:{old_pid}" not in new_meta
        with Pyro5.api.Proxy(new_uri) as p:
            assert p.status()["pid"] == new_pid
        assert launcher.rows()[0]["restarts"] == 1
    finally:
        launcher.stop_all()
    assert all(s.proc is None or not s.proc.alive() for s in launcher.agents.values())
    assert _registered(nameserver, "phoenix") is None


@pytest.mark.timeout(180)
def test_nameserver_restart_heals(agents: Any, nameserver: Any) -> None:
    fast = {"register_interval": 0.5, "comm_timeout": 1.0}
    pub = agents.spawn("hpub", settings=fast)
    sub = agents.spawn("hsub", settings=fast)
    pub.proxy().bind_alias("PUB", "out")
    sub.proxy().connect_alias("hpub.out", alias="feed")
    ready_url = pub.proxy().status()["metrics_url"].replace("/metrics", "/readyz")
    nameserver.stop()
    import urllib.error
    import urllib.request

    def not_ready() -> bool:
        try:
            urllib.request.urlopen(ready_url, timeout=5)
        except urllib.error.HTTPError as exc:
            return exc.code == 503
        return False

    wait_until(not_ready, 30, message="/readyz 503 while the name server is down")
    # data keeps flowing without the name server
    with pub.proxy() as p, sub.proxy() as s:
        wait_until(lambda: p.send_many("out", 1) and _count(s, "feed") > 0, 30, message="data without NS")
    fresh = NameServerProcess(nameserver.host, nameserver.port, timeout=30.0)
    nameserver.proc = fresh.proc  # the fixture stops whichever process is current
    t0 = time.monotonic()
    wait_until(lambda: _registered(nameserver, "hpub") and _registered(nameserver, "hsub"), 30,
               message="agents re-registered")  # fmt: skip
    healed = time.monotonic() - t0
    assert healed < 15, f"re-registration took {healed:.1f}s"
    uri, meta = _registered(nameserver, "hpub") or ("", set())
    assert uri == pub.uri and "ep:out=PUB@" + pub.proxy().status()["endpoints"]["out"][0] in meta
    wait_until(lambda: pub.proxy().status()["ready"], 30, message="ready again")


@pytest.mark.timeout(180)
def test_subscriber_follows_a_publisher_that_moved(agents: Any) -> None:
    fast = {"register_interval": 0.5}
    pub = agents.spawn("mover", settings=fast)
    sub = agents.spawn("follower", settings=fast)
    old = pub.proxy().bind_alias("PUSH", "out")
    # the mover's PUSH binds and the follower's PULL connects to it, following it when it moves
    with sub.proxy() as s:
        s.connect_alias("mover.out", alias="feed")
    with pub.proxy() as p, sub.proxy() as s:  # a bound PUSH refuses sends until the peer has connected
        wait_until(lambda: p.send_many("out", 1) and _count(s, "feed") >= 1, 30, message="first data")
    pub.kill()
    pub2 = agents.spawn("mover", settings=fast)
    new = pub2.proxy().bind_alias("PUSH", "out")
    assert new != old  # a random port: the peer moved
    with pub2.proxy() as p, sub.proxy() as s:
        wait_until(
            lambda: (
                p.send_many("out", 1, start=100)
                and any(r[5]["i"] == 100 for r in s.summary("feed")["records"])
            ),
            30,
            interval=0.3,
            message="follower reconnected to the new endpoint",
        )
        assert s.status()["endpoints"]["feed"] == [new]


def _cli(nameserver: Any, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "agentcore.cli", *args, "--ns-host", nameserver.host,
           "--ns-port", str(nameserver.port)]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def test_cli_ps_and_call(agents: Any, nameserver: Any) -> None:
    proc = agents.spawn("clitarget")
    proc.proxy().bind_alias("PULL", "in")
    out = _cli(nameserver, "ps", "--json")
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert rows["clitarget"]["role"] == "probe" and rows["clitarget"]["state"] == "ready"
    assert rows["clitarget"]["endpoints"]["in"].startswith("PULL@tcp://127.0.0.1:")
    out = _cli(nameserver, "ps")
    assert out.returncode == 0 and "clitarget" in out.stdout
    out = _cli(nameserver, "call", "clitarget", "status")
    assert out.returncode == 0, out.stderr
    st = json.loads(out.stdout)
    assert st["name"] == "clitarget" and st["pid"] == proc.pid
    out = _cli(nameserver, "call", "clitarget", "set_attr", "knob", "5")
    assert out.returncode == 0 and json.loads(out.stdout) == 0
    assert proc.proxy().get_attr("knob") == 5  # "5" was parsed as JSON
    out = _cli(nameserver, "call", "nosuchagent", "status")
    assert out.returncode != 0 and "nosuchagent" in out.stderr and out.stdout == ""
    out = _cli(nameserver, "call", "clitarget", "no_such_method")
    assert out.returncode != 0 and "no_such_method" in out.stderr
    out = _cli(nameserver, "stop", "clitarget")
    assert out.returncode == 0, out.stderr
    assert proc.proc.wait(15) == 0
