"""The name-server image in a compose stack, seen from the host through its published port."""

from __future__ import annotations

import pytest

from .conftest import Stack


@pytest.mark.timeout(900)
def test_nameserver_container_answers_a_host_side_pyro_client(stack_factory) -> None:
    import Pyro5.api

    stack: Stack = stack_factory()
    stack.up("nameserver", timeout=90)
    port = stack.port("nameserver", 9090)

    ns = Pyro5.api.locate_ns("127.0.0.1", port, broadcast=False)
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
def test_nameserver_stops_cleanly_on_sigterm(stack_factory) -> None:
    stack: Stack = stack_factory()
    stack.up("nameserver", timeout=90)
    proc = stack.exec(
        "nameserver", "python", "-c", "import os; print(os.getuid(), open('/proc/1/cmdline').read())"
    )
    uid, cmdline = proc.stdout.split(" ", 1)
    assert uid == "10001"  # non-root
    assert "python" in cmdline.split("\0")[0] and "nameserver" in cmdline  # PID 1 is the python process

    from .conftest import run

    run(stack.cmd("stop", "-t", "10", "nameserver"), timeout=60)
    (state,) = [s for s in stack.ps() if s["Service"] == "nameserver"]
    assert state["State"] == "exited"
    assert state["ExitCode"] in (0, 143), state  # stopped by SIGTERM, never SIGKILLed (137)
