"""The window's remote-control thread: polls the name server and every agent's ``status()`` over Pyro, and runs
the operator's commands (set a brain parameter, pause, resume, the trader's kill switch) with their reply or
error. Kept off both the GUI thread and the data agent's loop, so a dead agent stalls neither.

One :class:`agentcore.proxy.AgentProxy` per agent: it survives idle periods and follows an agent that restarted
under the same name (re-resolved in the name server), so a window left open for hours still answers.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any, Protocol

from agentcore import naming
from agentcore.proxy import AgentProxy


class ControlSink(Protocol):
    def health(self, ns_ok: bool, ns_error: str, agents: dict[str, dict[str, Any]]) -> None: ...

    def reply(self, command_id: int, target: str, text: str, ok: bool, result: Any) -> None: ...


ALLOWED = {  # what the window may ask, per role
    "brain": {"set_param", "pause", "resume", "params", "status"},
    "trader": {"kill_switch", "status", "fills_list"},
    "router": {"status"},
    "feeder": {"status"},
}


class Controls:
    """``start()`` the thread; ``command(target, method, *args)`` queues a call and returns its id."""

    def __init__(self, ns_host: str, ns_port: int, sink: ControlSink, interval_s: float = 1.0,
                 comm_timeout: float = 2.0, network: str | None = None) -> None:  # fmt: skip
        self.ns_host, self.ns_port, self.sink = ns_host, ns_port, sink
        self.network = network  # whose addresses of the agents to dial (AGENTCORE_NETWORK)
        self.interval_s = interval_s
        self.comm_timeout = comm_timeout
        self._queue: queue.Queue[tuple[int, str, str, tuple[Any, ...]]] = queue.Queue()
        self._stop = threading.Event()
        self._ids = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="viz-controls", daemon=True)
        self.agents: dict[str, dict[str, Any]] = {}  # name -> {"role", "uri", "status", "error", "vanished"}
        self._proxies: dict[str, AgentProxy] = {}
        self.polls = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for proxy in self._proxies.values():
            proxy.close()

    def command(self, target: str, method: str, *args: Any) -> int:
        with self._lock:
            self._ids += 1
            cid = self._ids
        self._queue.put((cid, target, method, args))
        return cid

    # -- the thread --------------------------------------------------------------------------------------------
    def _run(self) -> None:
        naming.configure_pyro(self.comm_timeout)
        next_poll = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_poll:
                self._poll()
                next_poll = time.monotonic() + self.interval_s
            try:
                cid, target, method, args = self._queue.get(
                    timeout=max(0.0, min(0.1, next_poll - time.monotonic()))
                )
            except queue.Empty:
                continue
            self._execute(cid, target, method, args)

    def _call(self, name: str, method: str, *args: Any) -> Any:
        proxy = self._proxies.get(name)
        if proxy is None:
            proxy = self._proxies[name] = AgentProxy(name, self.ns_host, self.ns_port, timeout=self.comm_timeout,
                                                     reconnect_wait=0.5, network=self.network)  # fmt: skip
        return proxy.call(method, *args)

    def _poll(self) -> None:
        self.polls += 1
        try:
            ns = naming.locate(self.ns_host, self.ns_port)
            found = naming.list_agents(ns, None)
            ns._pyroRelease()
        except Exception as exc:  # noqa: BLE001 - the name server being away is a state to show, not a crash
            for info in self.agents.values():
                info["error"] = "name server lost"
            self.sink.health(
                False, f"{type(exc).__name__}: {exc}", {k: dict(v) for k, v in self.agents.items()}
            )
            return
        now = time.time()
        for name in list(self.agents):
            if name not in found:
                self.agents[name]["vanished"] = True
                proxy = self._proxies.pop(name, None)
                if proxy is not None:
                    proxy.close()
                self.agents[name]["error"] = "vanished from the name server"
        for name, (uri, meta) in found.items():
            role = naming.tag_value(meta, naming.ROLE_PREFIX) or "agent"
            info = self.agents.setdefault(name, {"role": role})
            info.update(role=role, uri=uri, vanished=False)
            if role not in ALLOWED:
                continue
            try:
                info["status"] = self._call(name, "status")
                info["error"] = ""
                info["seen"] = now
            except Exception as exc:  # noqa: BLE001 - an unreachable agent is shown as such
                info["error"] = f"{type(exc).__name__}: {exc}"
        self.sink.health(True, "", {k: dict(v) for k, v in self.agents.items()})

    def _execute(self, cid: int, target: str, method: str, args: tuple[Any, ...]) -> None:
        info = self.agents.get(target)
        if info is None or "uri" not in info:
            self.sink.reply(cid, target, f"{target}: not found in the name server", False, None)
            return
        if method not in ALLOWED.get(info["role"], set()):
            self.sink.reply(
                cid, target, f"{target} ({info['role']}): {method} is not allowed here", False, None
            )
            return
        try:
            result = self._call(target, method, *args)
        except Exception as exc:  # noqa: BLE001 - the remote error is the answer shown to the operator
            self.sink.reply(cid, target, f"{method}{args!r} failed: {type(exc).__name__}: {exc}", False, None)
            return
        shown = f"{len(result)} rows" if isinstance(result, list) else repr(result)
        self.sink.reply(cid, target, f"{method}{args!r} -> {shown}", True, result)
        if method in ("status", "fills_list", "params"):
            return
        try:  # show the effect at once, not at the next poll
            info["status"] = self._call(target, "status")
            self.sink.health(True, "", {k: dict(v) for k, v in self.agents.items()})
        except Exception:  # noqa: BLE001, S110 - the next poll retries
            pass
