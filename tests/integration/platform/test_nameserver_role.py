"""services/nameserver: the name server role as its image runs it (``python -m tradehive_nameserver``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYRO_", "AGENTCORE_"))}
    env.update(extra)
    return env


def _probe(port: int) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "tradehive_nameserver.probe", "--port", str(port), "--timeout", "1"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=_env())


def test_nameserver_role_serves_probes_and_stops_on_sigterm(free_port) -> None:
    from agentcore import naming

    port = free_port()
    assert _probe(port).returncode == 1  # nothing there yet: not ready, with the reason
    env = _env(AGENTCORE_NS_HOST="127.0.0.1", AGENTCORE_NS_PORT=str(port), AGENTCORE_NS_ADVERTISE="localhost",
               AGENTCORE_LOG_FORMAT="json")  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "tradehive_nameserver"], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 45
        while _probe(port).returncode != 0:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "name server role not ready in 45 s"
            time.sleep(0.2)
        naming.configure_pyro(5.0)
        listing = naming.locate("127.0.0.1", port).list()
        assert listing["Pyro.NameServer"].endswith(f"@localhost:{port}")  # the advertised host, not the bind
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    # Every line it wrote (Pyro5's banner included) is a JSON log record off a TTY.
    lines = [line for line in (out + err).splitlines() if line.strip()]
    assert lines, "the name server logged nothing"
    records = [json.loads(line) for line in lines]
    assert any("localhost" in json.dumps(r) for r in records), records


def test_nameserver_role_refuses_an_unknown_setting() -> None:
    env = _env(AGENTCORE_NS_PROT="9090")  # a typo of AGENTCORE_NS_PORT
    proc = subprocess.run([sys.executable, "-m", "tradehive_nameserver"], env=env, capture_output=True,
                          text=True, timeout=30)  # fmt: skip
    assert proc.returncode == 2
    assert "prot" in proc.stderr and "AGENTCORE_NS_PORT" in proc.stderr, proc.stderr
