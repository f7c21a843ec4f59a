"""Starting agents as local processes: spawn one and get a Pyro5 proxy once it is registered."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
import Pyro5.api

from agentcore import settings as settings_mod
from agentcore.errors import AgentcoreError
from agentcore.forked import ForkedProcess, can_fork, fork_agent

START_METHODS = ("exec", "fork")


class AgentProcess:
    """A running agent process; ``proxy()`` controls it remotely as if it were local."""

    def __init__(self, proc: subprocess.Popen[bytes] | ForkedProcess, name: str, uri: str) -> None:
        self.proc = proc
        self.name = name
        self.uri = uri

    @property
    def pid(self) -> int:
        return self.proc.pid

    def proxy(self) -> Pyro5.api.Proxy:
        """A new proxy (Pyro5 proxies belong to one thread: make one per thread)."""
        return Pyro5.api.Proxy(self.uri)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, then wait; SIGKILL if it does not exit within ``timeout``. Returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


def child_env(
    settings: Mapping[str, Any] | msgspec.Struct | None = None,
    config: Mapping[str, Any] | None = None,
    config_prefix: str = "",
    connect: Sequence[Mapping[str, Any]] = (),
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of an agent process: the caller's, minus stale agent settings, plus the given ones."""
    env = {k: v for k, v in (os.environ if base is None else base).items()
           if not k.startswith(settings_mod.FABRIC_PREFIX) and not k.startswith("PYRO_")}  # fmt: skip
    values = settings_mod.as_dict(settings) if isinstance(settings, msgspec.Struct) else dict(settings or {})
    env.update(settings_mod.to_env(values, settings_mod.FABRIC_PREFIX))
    if config:
        if not config_prefix:
            raise AgentcoreError("config given but the agent class has no config_prefix")
        env = {k: v for k, v in env.items() if not k.startswith(config_prefix)}
        env.update(settings_mod.to_env(config, config_prefix))
    if connect:
        env[settings_mod.FABRIC_PREFIX + "CONNECT"] = msgspec.json.encode(list(connect)).decode()
    return env


class PendingAgent:
    """An agent process started but not yet confirmed ready (lets a launcher start many at once)."""

    def __init__(self, proc: subprocess.Popen[bytes] | ForkedProcess, name: str, rfd: int) -> None:
        self.proc, self.name, self._rfd = proc, name, rfd

    def wait_ready(self, timeout: float) -> AgentProcess:
        try:
            uri = _read_ready(self._rfd, self.proc, timeout, self.name)
        finally:
            os.close(self._rfd)
        return AgentProcess(self.proc, self.name, uri)


def start(
    class_path: str,
    name: str,
    settings: Mapping[str, Any] | msgspec.Struct | None = None,
    config: Mapping[str, Any] | None = None,
    connect: Sequence[Mapping[str, Any]] = (),
    config_prefix: str | None = None,
    stderr: Any = None,
    method: str = "exec",
) -> PendingAgent:
    """Start ``class_path`` as agent ``name`` in a new process without waiting for it.

    ``method="exec"`` runs ``python -m agentcore.agent`` (a fresh interpreter: ~0.5 s of imports);
    ``method="fork"`` forks this process, which imports agentcore and the class once for every agent it starts
    (tens of ms each). Fork is used only while this process is single-threaded, exec otherwise.
    """
    if method not in START_METHODS:
        raise AgentcoreError(f"unknown start method {method!r}; one of {', '.join(START_METHODS)}")
    if config and config_prefix is None:
        from agentcore.remoting import import_object

        config_prefix = import_object(class_path).config_prefix
    env = child_env(settings, config, config_prefix or "", connect)
    rfd, wfd = os.pipe()
    proc: subprocess.Popen[bytes] | ForkedProcess
    if method == "fork" and can_fork():
        try:
            proc = fork_agent(class_path, name, env, wfd, rfd, stderr)
        except BaseException:
            os.close(rfd)
            raise
        finally:
            os.close(wfd)
        return PendingAgent(proc, name, rfd)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentcore.agent", class_path, "--name", name, "--ready-fd", str(wfd)],
            env=env, pass_fds=(wfd,), stderr=stderr,
        )  # fmt: skip
    finally:
        os.close(wfd)
    return PendingAgent(proc, name, rfd)


def spawn(
    class_path: str,
    name: str,
    settings: Mapping[str, Any] | msgspec.Struct | None = None,
    config: Mapping[str, Any] | None = None,
    connect: Sequence[Mapping[str, Any]] = (),
    timeout: float = 15.0,
    config_prefix: str | None = None,
    stderr: Any = None,
    method: str = "exec",
) -> AgentProcess:
    """Start ``class_path`` as agent ``name`` in a new process; return once it is registered (or raise)."""
    pending = start(class_path, name, settings, config, connect, config_prefix, stderr, method)
    return pending.wait_ready(timeout)


def _read_ready(rfd: int, proc: subprocess.Popen[bytes] | ForkedProcess, timeout: float, name: str) -> str:
    deadline = time.monotonic() + timeout
    buf = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([rfd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(rfd, 4096)
        if not chunk:  # writer closed without a URI: the agent died during start-up
            code = proc.wait(5)
            raise AgentcoreError(f"agent {name} exited during start-up with code {code}")
        buf += chunk
        if buf.endswith(b"\n"):
            return buf.decode().strip()
    proc.kill()
    proc.wait()
    raise AgentcoreError(f"agent {name} not ready within {timeout}s")
