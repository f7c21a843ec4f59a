"""Shared fixtures: free ports, a real name server, agent processes that are always stopped, the data dir."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 45.0  # agent start-up on a loaded 2-core machine: generous; outcomes are asserted tightly


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real market data (``TRADEHIVE_DATA``, default ``<repo>/../shared/data``); skips when absent."""
    path = Path(os.environ.get("TRADEHIVE_DATA", ROOT.parent / "shared" / "data"))
    if not path.is_dir():
        pytest.skip(f"market data not found at {path} (set TRADEHIVE_DATA)")
    return path


@pytest.fixture
def free_port() -> Callable[..., int]:
    """``free_port(host="127.0.0.1") -> int``."""
    from agentcore.testing import free_port as _free_port

    return _free_port


@pytest.fixture
def nameserver() -> Iterator[Any]:
    """A real name server (``agentcore nameserver``) in a child process on a random free port of 127.0.0.1."""
    from agentcore import naming
    from agentcore.nameserver import NameServerProcess
    from agentcore.testing import free_port

    naming.configure_pyro(10.0)  # bounded Pyro calls from the test process
    ns = NameServerProcess("127.0.0.1", free_port(), timeout=30.0)
    try:
        yield ns
    finally:
        ns.stop()


@pytest.fixture
def ipc_dir() -> Iterator[str]:
    """A short directory for ipc:// endpoints (socket paths are limited to ~107 bytes)."""
    path = tempfile.mkdtemp(prefix="ac-ipc-", dir="/tmp")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class AgentFactory:
    """Spawns agents registered with one name server; every process is stopped at teardown."""

    def __init__(self, ns: Any, log_dir: Path) -> None:
        self.ns = ns
        self.log_dir = log_dir
        self.procs: list[Any] = []
        self.logs: dict[str, Path] = {}

    def settings(self, **overrides: Any) -> dict[str, Any]:
        return {"ns_host": self.ns.host, "ns_port": self.ns.port, "log_format": "json", **overrides}

    def spawn(self, name: str, class_path: str = "agentcore.testing:Probe", timeout: float = START_TIMEOUT,
              **kw: Any) -> Any:  # fmt: skip
        """``process.spawn`` with this name server; ``settings=`` entries override the defaults."""
        from agentcore import process

        settings = self.settings(**kw.pop("settings", {}))
        log = self.log_dir / f"{name}.{len(self.procs)}.log"
        self.logs[name] = log
        with open(log, "wb") as err:
            pending = process.start(class_path, name, settings, stderr=err, **kw)
        self.procs.append(pending)  # stopped at teardown even if it never becomes ready
        proc = pending.wait_ready(timeout)
        self.procs[self.procs.index(pending)] = proc
        return proc

    def log_tail(self, name: str, n: int = 3000) -> str:
        path = self.logs.get(name)
        return path.read_text(errors="replace")[-n:] if path and path.exists() else ""

    def close(self) -> None:
        for p in self.procs:
            proc = p.proc
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.proc.wait(10)
            except subprocess.TimeoutExpired:
                p.proc.kill()
                p.proc.wait()
        for name in self.logs:  # shown by pytest only when the test failed
            tail = self.log_tail(name, 1500)
            if tail:
                print(f"--- {name} stderr (tail) ---\n{tail}")


@pytest.fixture
def agents(nameserver: Any, tmp_path: Path) -> Iterator[AgentFactory]:
    """``agents.spawn(name, class_path="agentcore.testing:Probe", settings={...})`` -> AgentProcess."""
    factory = AgentFactory(nameserver, tmp_path)
    try:
        yield factory
    finally:
        factory.close()
