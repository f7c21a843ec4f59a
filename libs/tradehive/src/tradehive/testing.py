"""Helpers for tests that run the trading platform's real agents as local processes on a private name server
(shared by the integration suites: ``tests/integration/platform``, the FIX end-to-end test).

``PlatformStarter`` starts topologies and stops them all at the end (a pytest fixture yields one and calls
``stop()``); each start returns a :class:`Platform`: agents' status, remote calls, the router's history.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import Pyro5.api
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

    def call(self, name: str, method: str, *args: Any) -> Any:
        ns = naming.locate("127.0.0.1", self.port)
        with Pyro5.api.Proxy(ns.lookup(name)) as proxy:
            return getattr(proxy, method)(*args)

    def status(self, name: str) -> dict[str, Any]:
        return dict(self.call(name, "status"))

    def history(self, req: p.BarHistoryRequest | p.TickHistoryRequest, router: str = "router") -> Any:
        reply = request(f"{router}.{p.ROUTER_HISTORY}", p.encode(req), ns_port=self.port, timeout=30.0)
        if isinstance(reply, bytes):
            raise AssertionError(f"router refused {req}: {p.decode(reply)}")
        return reply

    def wait_replay_done(self, timeout: float) -> dict[str, Any]:
        """Until the feeder finished and the router holds every published tick; returns the feeder status."""

        def done() -> dict[str, Any]:  # empty (falsy) until done
            f = self.status("feeder")
            if not f.get("finished"):
                return {}
            r = self.status("router")
            held = sum(s["ticks_held"] for s in r["symbols"].values())
            rejected = sum(r["rejected"].values())
            return f if held + rejected >= f["published_ticks"] else {}

        return wait_until(done, timeout, interval=0.5, message="replay through the router")


class PlatformStarter:
    """``starter({name: AgentSpec}, later={...})`` starts a name server and the agents, then (when they are ready)
    the ``later`` ones on the same name server: on a loaded machine an agent that connects to another (the trader
    to the router) must not time out while that one is still warming up. ``stop()`` stops every one started."""

    def __init__(self, start_timeout: float = 180.0) -> None:
        self.start_timeout = start_timeout
        self._launchers: list[Launcher] = []

    def __call__(self, agents: dict[str, AgentSpec], start_method: Literal["fork", "exec"] = "fork",
                 later: dict[str, AgentSpec] | None = None) -> Platform:  # fmt: skip
        naming.configure_pyro(30.0)
        port = free_port()
        first: Launcher | None = None
        for group, own_ns in ((agents, True), (later or {}, False)):
            if not group:
                continue
            topo = Topology(agents=group, nameserver=NameServerSpec(port=port, start=own_ns),
                            settings={"log_level": "warning"}, restart=RestartPolicy(max_restarts=0),
                            start_timeout=self.start_timeout, start_method=start_method)  # fmt: skip
            launcher = Launcher(topo, live=False)
            self._launchers.insert(0, launcher)  # the later ones are stopped first
            launcher.start_all()
            first = first or launcher
        assert first is not None, "no agents to start"
        return Platform(first, port)

    def stop(self) -> None:
        for launcher in self._launchers:
            launcher.stop_all()
        self._launchers.clear()
        time.sleep(0.1)


__all__ = ["Platform", "PlatformStarter"]
