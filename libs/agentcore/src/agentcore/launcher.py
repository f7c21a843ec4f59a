"""``agentcore up``: a topology of agents as local processes, supervised (restart with backoff, a limit)."""

from __future__ import annotations

import signal
import time
import tomllib
from pathlib import Path
from typing import Any, Literal

import msgspec
import yaml

from agentcore import logs, process
from agentcore.errors import AgentcoreError, ConfigError
from agentcore.nameserver import NameServerProcess


class NameServerSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    host: str = "127.0.0.1"
    port: int = 9090
    start: bool = True  # False: use a name server that is already running


class RestartPolicy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    max_restarts: int = 5  # within window_s; beyond it the agent is marked failed
    window_s: float = 60.0
    backoff_s: float = 0.5
    backoff_max_s: float = 10.0


class AgentSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename={"cls": "class"}):
    cls: str
    settings: dict[str, Any] = {}
    config: dict[str, Any] = {}
    connect: list[dict[str, Any]] = []
    restart: bool = True


class Topology(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    agents: dict[str, AgentSpec]
    nameserver: NameServerSpec = NameServerSpec()
    settings: dict[str, Any] = {}  # fabric settings shared by every agent (theirs override)
    restart: RestartPolicy = RestartPolicy()
    start_timeout: float = 30.0
    # "fork": the launcher imports agentcore and the agent classes once and forks the name server and each
    # agent (tens of ms each instead of ~0.5 s of imports); used while the launcher is single-threaded (the
    # first start), restarts under the live display exec. "exec": always a fresh interpreter.
    start_method: Literal["fork", "exec"] = "fork"


def load_topology(path: str | Path) -> Topology:
    p = Path(path)
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read topology {p}: {exc}") from exc
    try:
        data = tomllib.loads(text) if p.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"topology {p} does not parse: {exc}") from exc
    try:
        return msgspec.convert(data, Topology)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"topology {p}: {exc}") from exc


class Supervised:
    """One agent of the topology and its restart bookkeeping."""

    def __init__(self, name: str, spec: AgentSpec, topo: Topology) -> None:
        self.name, self.spec, self.topo = name, spec, topo
        self.proc: process.AgentProcess | None = None
        self.state = "pending"
        self.restarts: list[float] = []
        self.next_start = 0.0
        self.backoff = topo.restart.backoff_s
        self.last_exit: int | None = None

    def settings(self) -> dict[str, Any]:
        ns = self.topo.nameserver
        return {"ns_host": ns.host, "ns_port": ns.port, **self.topo.settings, **self.spec.settings}

    def start(self) -> process.PendingAgent:
        self.state = "starting"
        return process.start(
            self.spec.cls, self.name, self.settings(), self.spec.config or None, self.spec.connect,
            method=self.topo.start_method,
        )  # fmt: skip


class Launcher:
    def __init__(self, topology: Topology, live: bool = True) -> None:
        self.topo = topology
        self.live = live
        self.agents = {name: Supervised(name, spec, topology) for name, spec in topology.agents.items()}
        self.ns: NameServerProcess | None = None
        self._stop = False
        self.log = logs.get("launcher")

    # -- start-up ---------------------------------------------------------------------------------------------
    def start_all(self) -> None:
        ns = self.topo.nameserver
        security_dir = str(self.topo.settings.get("security_dir", ""))
        if (
            security_dir
        ):  # the launcher talks to its agents as an operator (AGENTCORE_IDENTITY, or "operator")
            import os

            from agentcore import keys, security

            security.configure_process(security_dir, os.environ.get("AGENTCORE_IDENTITY") or keys.OPERATOR)
        if ns.start:
            self.ns = NameServerProcess(
                ns.host, ns.port, method=self.topo.start_method,
                security_dir=security_dir, timeout=self.topo.start_timeout,  # a loaded machine: as for agents
            )  # fmt: skip
        pending = [(sup, sup.start()) for sup in self.agents.values()]
        deadline = time.monotonic() + self.topo.start_timeout
        errors = []
        for sup, pend in pending:
            try:
                sup.proc = pend.wait_ready(max(0.1, deadline - time.monotonic()))
                sup.state = "running"
            except AgentcoreError as exc:
                sup.state = "failed"
                errors.append(str(exc))
        if errors:
            self.stop_all()
            raise AgentcoreError("start-up failed: " + "; ".join(errors))

    # -- supervision ------------------------------------------------------------------------------------------
    def check(self) -> None:
        now = time.monotonic()
        pol = self.topo.restart
        for sup in self.agents.values():
            if sup.state == "running" and sup.proc is not None and not sup.proc.alive():
                sup.last_exit = sup.proc.proc.returncode
                sup.restarts = [t for t in sup.restarts if now - t < pol.window_s]
                if not sup.spec.restart or len(sup.restarts) >= pol.max_restarts:
                    sup.state = "failed" if sup.last_exit else "exited"
                    self.log.error(
                        "agent gave up", agent=sup.name, exit=sup.last_exit, restarts=len(sup.restarts)
                    )
                    continue
                sup.state = "backoff"
                sup.next_start = now + sup.backoff
                self.log.warning(
                    "agent died; restarting", agent=sup.name, exit=sup.last_exit, in_s=sup.backoff
                )
                sup.backoff = min(sup.backoff * 2, pol.backoff_max_s)
            elif sup.state == "backoff" and now >= sup.next_start:
                sup.restarts.append(now)
                try:
                    sup.proc = sup.start().wait_ready(self.topo.start_timeout)
                    sup.state = "running"
                except AgentcoreError as exc:
                    self.log.error("restart failed", agent=sup.name, error=str(exc))
                    sup.state, sup.next_start = "backoff", time.monotonic() + sup.backoff
            elif sup.state == "running" and sup.restarts and now - sup.restarts[-1] > pol.window_s:
                sup.backoff = pol.backoff_s  # stable again: reset the backoff

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "name": s.name,
                "class": s.spec.cls,
                "pid": s.proc.pid if s.proc else None,
                "state": s.state,
                "restarts": len(s.restarts),
                "last_exit": s.last_exit,
            }  # fmt: skip
            for s in self.agents.values()
        ]

    def stop_all(self, timeout: float = 10.0) -> None:
        procs = [s.proc for s in self.agents.values() if s.proc is not None and s.proc.alive()]
        for p in procs:
            p.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for p in procs:
            p.stop(max(0.1, deadline - time.monotonic()))
        for s in self.agents.values():
            s.state = "stopped" if s.state not in ("failed",) else s.state
        if self.ns is not None:
            self.ns.stop()
            self.ns = None

    def run(self) -> int:
        """Start everything, supervise until SIGINT/SIGTERM, stop everything. Returns an exit code."""
        logs.configure()
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "_stop", True))
        self.start_all()
        self.log.info(
            "topology up",
            agents=list(self.agents),
            ns=f"{self.topo.nameserver.host}:{self.topo.nameserver.port}",
        )
        try:
            self._supervise()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop_all()
        failed = [s.name for s in self.agents.values() if s.state == "failed"]
        if failed:
            self.log.error("agents gave up", agents=failed)
        return 1 if failed else 0

    def settled(self) -> bool:
        """True when nothing is running or due to restart (every agent gave up or exited): supervising ends."""
        return all(s.state in ("failed", "exited") for s in self.agents.values())

    def _supervise(self) -> None:
        if not self.live:
            while not self._stop and not self.settled():
                self.check()
                time.sleep(0.2)
            return
        from rich.live import Live
        from rich.table import Table

        def table() -> Table:
            t = Table(
                "agent", "class", "pid", "state", "restarts", "last exit", title="agentcore up (Ctrl-C stops)"
            )
            for r in self.rows():
                t.add_row(*(str(r[k]) if r[k] is not None else "" for k in
                            ("name", "class", "pid", "state", "restarts", "last_exit")))  # fmt: skip
            return t

        with Live(table(), refresh_per_second=4) as live:
            while not self._stop and not self.settled():
                self.check()
                live.update(table())
                time.sleep(0.25)
