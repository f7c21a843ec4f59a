"""The name-server image alone (testcontainers' ``DockerContainer``), seen from the host through its port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import HealthcheckWaitStrategy


@pytest.fixture
def nameserver(images: dict[str, str]) -> Iterator[DockerContainer]:
    """The image as compose runs it (advertising its service name), its port published on loopback only."""
    container = (
        DockerContainer(images["nameserver"])
        .with_env("AGENTCORE_NS_ADVERTISE", "nameserver")
        .waiting_for(
            HealthcheckWaitStrategy().with_startup_timeout(90)
        )  # the image's HEALTHCHECK: a Pyro ping
    )
    # docker-py's (host ip, host port) form: an ephemeral port on 127.0.0.1, never on every interface.
    container.ports["9090/tcp"] = ("127.0.0.1", None)  # type: ignore[assignment]
    with container:
        yield container


@pytest.mark.timeout(300)
def test_nameserver_container_answers_a_host_side_pyro_client(nameserver: DockerContainer) -> None:
    import Pyro5.api

    binding = nameserver.get_wrapped_container().ports["9090/tcp"]
    assert {b["HostIp"] for b in binding} == {"127.0.0.1"}
    ns = Pyro5.api.locate_ns("127.0.0.1", int(nameserver.get_exposed_port(9090)), broadcast=False)
    ns._pyroTimeout = 5
    listing = ns.list()
    assert "Pyro.NameServer" in listing
    # The URI it hands out names the service, not the container's address: peers on the network resolve it.
    assert listing["Pyro.NameServer"].endswith("@nameserver:9090")

    ns.register("system-test.probe", "PYRO:probe@127.0.0.1:1", metadata={"role:probe"})
    assert ns.yplookup(meta_all=["role:probe"], return_metadata=False) == {
        "system-test.probe": "PYRO:probe@127.0.0.1:1"
    }


@pytest.mark.timeout(300)
def test_nameserver_stops_cleanly_on_sigterm_and_logs_json(nameserver: DockerContainer) -> None:
    import json

    code, out = nameserver.exec(
        ["python", "-c", "import os; print(os.getuid(), open('/proc/1/cmdline').read())"]
    )
    assert code == 0, out
    uid, cmdline = out.decode().strip().split(" ", 1)
    assert uid == "10001"  # non-root
    argv = cmdline.split("\0")
    assert "python" in argv[0] and "tradehive_nameserver" in argv  # PID 1 is the python process

    wrapped = nameserver.get_wrapped_container()
    wrapped.stop(timeout=10)  # SIGTERM, then SIGKILL after 10 s
    wrapped.reload()
    assert wrapped.status == "exited"
    assert wrapped.attrs["State"]["ExitCode"] in (0, 143), wrapped.attrs["State"]  # never SIGKILLed (137)
    # Off a TTY every line is a JSON record, Pyro5's banner included (structlog's ProcessorFormatter).
    stdout, stderr = nameserver.get_logs()
    lines = [line for line in (stdout + stderr).decode().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    events = [r["event"] for r in records]
    assert "nameserver started" in events and "nameserver stopped" in events, events
    (started,) = [r for r in records if r["event"] == "nameserver started"]
    assert started["uri"].endswith("@nameserver:9090") and started["agent"] == "nameserver"
