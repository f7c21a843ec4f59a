"""``method="fork"``: name server and agents forked from this (single-threaded) process; the fallback."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest
from agentcore import process
from agentcore.forked import ForkedProcess, can_fork
from agentcore.nameserver import NameServerProcess
from agentcore.testing import free_port

pytestmark = pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="fork start needs POSIX")


@pytest.mark.timeout(90)
def test_fork_started_agents_register_answer_and_stop_cleanly() -> None:
    if not can_fork():
        pytest.skip("the test process runs other threads; fork start would fall back to exec")
    port = free_port()
    ns = NameServerProcess(port=port, method="fork")
    try:
        assert isinstance(ns.proc, ForkedProcess)
        settings = {"ns_port": port, "log_level": "warning"}
        pend = [
            process.start("agentcore.demo:Listener", f"fork{i}", settings, method="fork") for i in range(3)
        ]
        assert all(isinstance(p.proc, ForkedProcess) for p in pend)
        procs = [p.wait_ready(30) for p in pend]
        for i, p in enumerate(procs):
            with p.proxy() as proxy:
                assert proxy.ping() == "pong"
                st = proxy.status()
                assert st["name"] == f"fork{i}" and st["pid"] == p.pid and st["ready"]
        assert {p.stop(10) for p in procs} == {0}
        assert not any(p.alive() for p in procs)
    finally:
        ns.stop()
    assert ns.proc.poll() is not None


@pytest.mark.timeout(60)
def test_fork_falls_back_to_exec_while_threads_run() -> None:
    stop = threading.Event()
    t = threading.Thread(target=stop.wait, daemon=True)
    t.start()
    try:
        assert not can_fork()
        pend = process.start("agentcore.demo:Listener", "fallback", {"ns_port": free_port()}, method="fork")
        assert isinstance(pend.proc, subprocess.Popen)
        pend.proc.kill()
        pend.proc.wait(10)
    finally:
        stop.set()
        t.join()


def test_fork_reports_a_bad_class_in_the_parent() -> None:
    if not can_fork():
        pytest.skip("the test process runs other threads")
    from agentcore.errors import AgentcoreError

    with pytest.raises(AgentcoreError, match="cannot import"):
        process.start("agentcore.demo:NoSuchAgent", "bad", {}, method="fork")
    with pytest.raises(AgentcoreError, match="start method"):
        process.start("agentcore.demo:Listener", "bad", {}, method="spawn")


def test_forked_process_wait_times_out_then_reaps() -> None:
    if not can_fork():
        pytest.skip("the test process runs other threads")
    import os
    import signal

    pid = os.fork()
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    proc = ForkedProcess(pid)
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == -signal.SIGTERM
