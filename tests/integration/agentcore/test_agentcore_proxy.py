"""Long-lived clients: :class:`agentcore.proxy.AgentProxy` across idle periods longer than every timeout involved
(the client's, the agent's ``comm_timeout`` and ``idle_timeout``) and across agent restarts (new port, same name).

The cause of the shell's "receiving: not enough data" is shown first: Pyro5 put the agent's ``comm_timeout`` on
every accepted connection, so the daemon closed a connection idle for longer than that."""

from __future__ import annotations

import time
from typing import Any

import Pyro5.api
import Pyro5.errors
import pytest
from agentcore import naming
from agentcore.errors import CommunicationError
from agentcore.proxy import AgentProxy

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

SHORT = {"comm_timeout": 0.3, "idle_timeout": 0.6}  # agent side: every timeout involved, made short
IDLE = 1.5  # seconds without a call: longer than comm_timeout, idle_timeout and the client's timeout below


def _raw(nameserver: Any, name: str) -> Any:
    return Pyro5.api.Proxy(naming.locate(nameserver.host, nameserver.port).lookup(name))


def test_daemon_closes_idle_connections_after_idle_timeout(agents: Any, nameserver: Any) -> None:
    agents.spawn("short", settings=SHORT)
    raw = _raw(nameserver, "short")
    assert raw.ping() == "pong"
    time.sleep(IDLE)
    with pytest.raises(Pyro5.errors.ConnectionClosedError):
        raw.ping()  # the cause, reproduced: a plain proxy's connection was closed by the daemon


def test_plain_proxy_survives_longer_than_comm_timeout_by_default(agents: Any, nameserver: Any) -> None:
    agents.spawn("dflt", settings={"comm_timeout": 0.3})  # default idle_timeout: an hour
    raw = _raw(nameserver, "dflt")
    assert raw.ping() == "pong"
    time.sleep(IDLE)
    assert raw.ping() == "pong"  # before the fix: ConnectionClosedError after comm_timeout (2 s) idle


def test_agent_proxy_survives_idle_and_restarts(agents: Any, nameserver: Any) -> None:
    first = agents.spawn("svc", settings=SHORT)
    proxy = AgentProxy("svc", nameserver.host, nameserver.port, timeout=1.0, reconnect_wait=30.0)
    pid1 = proxy.status()["pid"]
    assert proxy.idempotent("status") and proxy.idempotent("set_attr") and not proxy.idempotent("send_many")
    assert "set_attr" in dir(proxy)

    time.sleep(IDLE)  # the daemon closed the connection meanwhile
    # the drop is seen before sending, so this works for every method, idempotent or not
    assert proxy.set_attr("knob", 5) == 0
    assert proxy.get_attr("knob") == 5
    assert proxy.reconnects == 1

    first.kill()  # a crash: the name server still holds the dead agent's URI until the new one registers
    agents.spawn("svc", settings=SHORT)
    time.sleep(IDLE)
    status = proxy.status()  # re-resolved: same name, new process and port
    assert status["pid"] != pid1
    assert proxy.get_attr("knob") == 0

    # a restart that takes a while: the call waits for the agent to register again
    second_pid = status["pid"]
    agents.procs[-1].stop()
    import threading

    later = threading.Timer(1.0, lambda: agents.spawn("svc", settings=SHORT))
    later.start()
    try:
        assert proxy.ping() == "pong"
        assert proxy.status()["pid"] not in (pid1, second_pid)
    finally:
        later.join()
    proxy.close()


def test_call_broken_after_sending_is_retried_only_when_idempotent(agents: Any, nameserver: Any) -> None:
    import threading

    agents.spawn("echo", settings=SHORT).proxy().bind_alias("REP", "rep")
    asker = agents.spawn("asker", settings=SHORT)
    asker.proxy().connect_alias("echo.rep", alias="req", pattern="REQ")
    proxy = AgentProxy("asker", nameserver.host, nameserver.port, timeout=10.0, reconnect_wait=2.0)
    assert proxy.ask("req", {"x": 1})["reply"]["by"] == "echo"

    killer = threading.Timer(0.5, asker.kill)  # the agent dies while answering: the request had left
    killer.start()
    with pytest.raises(CommunicationError, match="may or may not have run"):
        proxy.ask("req", {"sleep": 3}, 5.0)
    killer.join()

    # the caller declares ``ask`` idempotent: the call is re-sent to the restarted agent (which has no ``req``
    # alias yet, so its answer differs: proof that the second agent answered)
    asker = agents.spawn("asker", settings=SHORT)
    asker.proxy().connect_alias("echo.rep", alias="req", pattern="REQ")
    retrying = AgentProxy("asker", nameserver.host, nameserver.port, timeout=10.0, reconnect_wait=60.0,
                          idempotent={"ask"})  # fmt: skip
    killer = threading.Timer(0.5, lambda: (asker.kill(), agents.spawn("asker", settings=SHORT)))
    killer.start()
    answer = retrying.ask("req", {"sleep": 3}, 5.0)
    killer.join()
    assert "error" in answer and retrying.reconnects == 1


def test_shell_survives_idle_and_keeps_history(agents: Any, nameserver: Any, tmp_path: Any) -> None:
    """``agentcore shell NAME`` as a user types into it: a call, a pause longer than every timeout, a call."""
    import os
    import subprocess
    import sys

    agents.spawn("brainy", settings=SHORT)
    typed = "a.set_attr('knob', 7)\nimport time; time.sleep(1.5)\nprint('knob', a.get_attr('knob'))\n"
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "agentcore.cli", "shell", "brainy", "--ui", "python",
         "--ns-port", str(nameserver.port)],
        input=typed, capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "knob 7" in out.stdout, out.stderr
    assert "Error" not in out.stderr, out.stderr
    assert (tmp_path / "agentcore" / "shell_history").exists()  # written at exit (readline)


def test_ps_and_call_json_parse(agents: Any, nameserver: Any) -> None:
    import json
    import subprocess
    import sys

    agents.spawn("jsonable")
    port = ["--ns-port", str(nameserver.port)]
    ps = subprocess.run([sys.executable, "-m", "agentcore", "ps", "--json", *port], capture_output=True,
                        text=True, timeout=60)  # fmt: skip
    rows = json.loads(ps.stdout)
    assert ps.returncode == 0 and [r["name"] for r in rows] == ["jsonable"] and rows[0]["state"] == "ready"
    call = subprocess.run([sys.executable, "-m", "agentcore", "call", "jsonable", "status", "--json", *port],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert call.returncode == 0 and json.loads(call.stdout)["name"] == "jsonable"
    assert len(call.stdout.strip().splitlines()) == 1  # --json: one compact line
    missing = subprocess.run([sys.executable, "-m", "agentcore", "call", "nobody", "status", *port],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert missing.returncode == 1 and "no agent named 'nobody'" in missing.stderr


def test_up_exits_1_when_agents_gave_up(nameserver: Any, tmp_path: Any, free_port: Any) -> None:
    """``agentcore up`` used to exit 0 (and keep waiting) after every agent gave up."""
    import subprocess
    import sys

    topo = tmp_path / "crash.yaml"
    topo.write_text(
        f"nameserver: {{host: 127.0.0.1, port: {free_port()}}}\n"
        "restart: {max_restarts: 1, window_s: 60, backoff_s: 0.1}\n"
        "agents:\n  crashy:\n    class: agentcore.testing:Crashy\n"
    )
    res = subprocess.run([sys.executable, "-m", "agentcore", "up", str(topo), "--quiet"], capture_output=True,
                         text=True, timeout=90)  # fmt: skip
    assert res.returncode == 1, res.stderr[-2000:]
    assert "gave up" in res.stderr


def test_platform_controls_are_declared_idempotent() -> None:
    """What the chart's and the shell's proxies may resend after a broken connection."""
    from agentcore.remoting import idempotent_methods
    from tradehive_brain.agent import BrainAgent
    from tradehive_feeder.agent import FeederAgent
    from tradehive_trader.agent import TraderAgent

    assert {"set_param", "params", "pause", "resume", "status"} <= set(idempotent_methods(BrainAgent))
    assert {"set_speed", "status"} <= set(idempotent_methods(FeederAgent))
    assert {"kill_switch", "fills_list", "status"} <= set(idempotent_methods(TraderAgent))
