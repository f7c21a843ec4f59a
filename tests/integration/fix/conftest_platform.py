"""The platform fixture for the FIX end-to-end test (as in ``tests/integration/platform``, with a start method)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import Pyro5.api
import pytest
from agentcore import naming
from agentcore.client import request
from agentcore.launcher import AgentSpec, Launcher, NameServerSpec, RestartPolicy, Topology
from agentcore.testing import free_port, wait_until
from tradehive import protocol as p


class Platform:
    """A running topology plus helpers to read agents' status and the router's history."""

    def __init__(self, launcher: Launcher, port: int) -> None:
        self.launcher = launcher
        self.port = port

    def status(self, name: str) -> dict[str, Any]:
        ns = naming.locate("127.0.0.1", self.port)
        with Pyro5.api.Proxy(ns.lookup(name)) as proxy:
            return dict(proxy.status())

    def call(self, name: str, method: str, *args: Any) -> Any:
        ns = naming.locate("127.0.0.1", self.port)
        with Pyro5.api.Proxy(ns.lookup(name)) as proxy:
            return getattr(proxy, method)(*args)

    def history(self, req: p.BarHistoryRequest | p.TickHistoryRequest, router: str = "router") -> Any:
        reply = request(f"{router}.{p.ROUTER_HISTORY}", p.encode(req), ns_port=self.port, timeout=30.0)
        if isinstance(reply, bytes):
            raise AssertionError(f"router refused {req}: {p.decode(reply)}")
        return reply

    def wait_replay_done(self, timeout: float) -> dict[str, Any]:
        """Until the feeder finished and the router holds every published tick; returns the feeder status."""

        def done() -> dict[str, Any] | None:
            f = self.status("feeder")
            if not f.get("finished"):
                return None
            r = self.status("router")
            held = sum(s["ticks_held"] for s in r["symbols"].values())
            rejected = sum(r["rejected"].values())
            return f if held + rejected >= f["published_ticks"] else None

        return wait_until(done, timeout, interval=0.5, message="replay through the router")


@pytest.fixture
def platform() -> Iterator[Callable[..., Platform]]:
    """``platform({name: AgentSpec}, later={...})`` starts a name server and the agents, then (when they are
    ready) the ``later`` ones on the same name server: on a loaded machine an agent that connects to another
    (the trader to the router) must not time out while that one is still warming up. Stopped at teardown."""
    launchers: list[Launcher] = []

    def start(
        agents: dict[str, AgentSpec], start_method: str = "fork", later: dict[str, AgentSpec] | None = None
    ) -> Platform:
        naming.configure_pyro(30.0)
        port = free_port()
        first: Launcher | None = None
        for group, own_ns in ((agents, True), (later or {}, False)):
            if not group:
                continue
            topo = Topology(
                agents=group, nameserver=NameServerSpec(port=port, start=own_ns), settings={"log_level": "warning"},
                restart=RestartPolicy(max_restarts=0), start_timeout=180.0, start_method=start_method,  # type: ignore[arg-type]
            )  # fmt: skip
            launcher = Launcher(topo, live=False)
            launchers.insert(0, launcher)  # stopped first
            launcher.start_all()
            first = first or launcher
        assert first is not None
        return Platform(first, port)

    yield start
    for launcher in launchers:
        launcher.stop_all()
    time.sleep(0.1)
