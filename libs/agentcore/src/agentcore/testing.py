"""Helpers for testing agentcore systems: free ports, a poller, and a remote-controllable probe agent.

``Probe`` is an agent whose sockets are bound and connected by remote calls, which lets one test drive
every socket pattern across real processes: ``spawn("agentcore.testing:Probe", "p1", ...)`` then
``proxy.bind_alias("PUB", "out")``, ``proxy.connect_alias("p1.out", topics=["tick"])``, ``proxy.summary()``.
Everything it returns is plain data (Pyro5 serpent serialisable).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from agentcore.agent import Agent
from agentcore.errors import AgentcoreError
from agentcore.remoting import remote
from agentcore.wire import Message

T = TypeVar("T")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on ``host`` (kernel-picked; a race is possible)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, 0))
        return int(s.getsockname()[1])


class PortForward:
    """A TCP forwarder ``listen_host:port`` -> ``target``, standing in for what makes a port reachable from
    another network (compose ``ports:``, a NodePort, ``kubectl port-forward``). ``connections`` counts the
    connections it carried, so a test can show that a client came through it."""

    def __init__(self, target: tuple[str, int], listen_host: str = "127.0.0.1") -> None:
        self.target = target
        self.connections = 0
        self._server = socket.create_server((listen_host, 0))
        self._server.settimeout(0.2)
        self.port = int(self._server.getsockname()[1])
        self._socks: list[socket.socket] = []
        self._done = threading.Event()
        threading.Thread(target=self._accept, name="port-forward", daemon=True).start()

    def _accept(self) -> None:
        while not self._done.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            self.connections += 1
            self._socks += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        src.settimeout(None)
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._done.set()
        self._server.close()
        for s in self._socks:
            s.close()


def wait_until(
    predicate: Callable[[], T], timeout: float, interval: float = 0.05, message: str = "condition"
) -> T:
    """Poll ``predicate`` until it returns a truthy value (returned) or ``timeout`` passes (``TimeoutError``).

    Exceptions raised by the predicate count as "not yet"; the last one is chained to the ``TimeoutError``.
    """
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    last: Any = None
    while True:
        try:
            last = predicate()
            if last:
                found: T = last
                return found
            last_exc = None
        except Exception as exc:  # noqa: BLE001 - "not yet" until the deadline
            last_exc = exc
        if time.monotonic() >= deadline:
            detail = (
                f"; last error: {type(last_exc).__name__}: {last_exc}"
                if last_exc
                else f"; last value: {last!r}"
            )
            raise TimeoutError(f"{message} not met within {timeout}s{detail}") from last_exc
        time.sleep(interval)


def describe(data: Any) -> Any:
    """A plain-data summary of a received payload (numpy arrays by dtype, shape and a checksum)."""
    if isinstance(data, np.ndarray):
        if data.dtype.names:
            total: Any = {name: float(data[name].astype("f8").sum()) for name in data.dtype.names}
        else:
            total = float(data.astype("f8").sum())
        return {"ndarray": True, "dtype": data.dtype.str, "descr": str(data.dtype), "shape": list(data.shape),
                "sum": total, "readonly": not data.flags.writeable}  # fmt: skip
    if isinstance(data, bytes):
        return {"bytes": data.hex()}
    return data


class Probe(Agent):
    """A test agent driven entirely by remote calls; it records what each alias receives.

    Receiving handlers record ``(alias, handler_key, topic, sender, seq, summary)``. A REP/ROUTER handler
    replies ``{"echo": data, "by": name}``; data ``{"raise": "..."}`` makes any handler raise ``ValueError``;
    data ``{"sleep": s}`` makes it sleep first (to provoke request timeouts).
    """

    role = "probe"
    remote_attributes = ("knob", "label")
    keep = 10_000  # records kept per alias

    def on_init(self) -> None:
        self.knob = 0
        self.label = "initial"
        self.records: dict[str, list[list[Any]]] = {}
        self.counts: dict[str, int] = {}
        self.counter = 0
        self.off_loop_calls = 0
        self._threads: list[threading.Thread] = []
        self.thread_errors: list[str] = []

    # -- receiving ----------------------------------------------------------------------------------------
    def _handler(self, alias: str, key: str) -> Callable[[Message], Any]:
        def handle(msg: Message) -> Any:
            self.counts[alias] = self.counts.get(alias, 0) + 1
            rec = self.records.setdefault(alias, [])
            if len(rec) < self.keep:
                rec.append([alias, key, msg.topic, msg.sender, msg.seq, describe(msg.data)])
            data = msg.data
            if isinstance(data, dict):
                if "sleep" in data:
                    time.sleep(float(data["sleep"]))
                if "raise" in data:
                    raise ValueError(str(data["raise"]))
            return {"echo": describe(data), "by": self.name}

        return handle

    @remote
    def pass_end_probe(self, fail_once: bool = False) -> None:
        """Two timers due in the same loop pass and a pass-end hook noting, each pass once either ran, what it saw
        (``pass_end_seen``); ``fail_once``: another hook that raises on its first call."""
        self.timers_ran = [0, 0]
        self.pass_end_seen: list[list[int]] = []

        def note() -> None:
            if any(self.timers_ran) and len(self.pass_end_seen) < 1000:
                self.pass_end_seen.append(list(self.timers_ran))

        failed: list[bool] = []

        def fail() -> None:
            if fail_once and not failed:
                failed.append(True)
                raise RuntimeError("pass-end hook failed on purpose")

        self.at_pass_end(note)
        self.at_pass_end(fail)
        self.after(0.0, lambda: self.timers_ran.__setitem__(0, 1))
        self.after(0.0, lambda: self.timers_ran.__setitem__(1, 1))

    @remote
    def passes_seen(self) -> list[list[int]]:
        return list(getattr(self, "pass_end_seen", []))

    @remote
    def bind_alias(self, pattern: str, alias: str, transport: str | None = None, handle: bool = True) -> str:
        """Bind ``pattern`` under ``alias``; receiving patterns record what they get. Returns the endpoint."""
        return self.bind(
            pattern, alias, handler=self._handler(alias, "") if handle else None, transport=transport
        )

    @remote
    def connect_alias(
        self,
        address: str,
        alias: str | None = None,
        topics: list[str] | None = None,
        pattern: str | None = None,
        timeout: float = 10.0,
    ) -> str:  # fmt: skip
        """Connect to ``agent.alias`` or a raw endpoint; ``topics`` gives one recording handler per prefix."""
        local = alias or address
        handler: Any = (
            {t: self._handler(local, t) for t in topics} if topics is not None else self._handler(local, "")
        )
        return self.connect(address, handler=handler, alias=alias, pattern=pattern, timeout=timeout)

    @remote
    def send_many(
        self, alias: str, n: int, topic: str = "", start: int = 0, extra: dict[str, Any] | None = None
    ) -> int:
        """Send ``{"i": start..start+n-1, **extra}``; returns how many the socket accepted."""
        ok = 0
        for i in range(start, start + n):
            ok += bool(self.send(alias, {"i": i, **(extra or {})}, topic=topic))
        return ok

    @remote
    def send_data(self, alias: str, data: Any, topic: str = "") -> bool:
        return self.send(alias, data, topic=topic)

    @remote
    def send_array(self, alias: str, kind: str, n: int = 1000, topic: str = "") -> dict[str, Any]:
        """Send a numpy array of a named kind; returns the sender's summary (to compare)."""
        arr = make_array(kind, n)
        self.send(alias, arr, topic=topic)
        return describe(arr)  # type: ignore[no-any-return]

    @remote
    def ask(self, alias: str, data: Any, timeout: float = 2.0) -> dict[str, Any]:
        """A request on a REQ alias: ``{"reply": ...}`` or ``{"error": "<ExceptionType>", "detail": ...}``."""
        try:
            return {"reply": self.request(alias, data, timeout=timeout)}
        except AgentcoreError as exc:
            return {"error": type(exc).__name__, "detail": str(exc)}

    @remote
    def summary(self, alias: str | None = None) -> dict[str, Any]:
        """``{"counts": {alias: n}, "records": [...]}`` (records of one alias, or of all)."""
        if alias is not None:
            records = list(self.records.get(alias, []))
        else:
            records = [r for recs in self.records.values() for r in recs]
        return {"counts": dict(self.counts), "records": records}

    @remote
    def clear(self) -> None:
        self.records.clear()
        self.counts.clear()

    # -- timers and helper threads ---------------------------------------------------------------------------
    @remote
    def start_timer(self, seconds: float, fail: bool = False) -> int:
        def tick() -> None:
            self.counts["timer"] = self.counts.get("timer", 0) + 1
            if fail:
                raise RuntimeError("timer failed on purpose")

        return self.every(seconds, tick)

    def _bump(self) -> int:
        if threading.get_ident() != self._loop_thread:
            self.off_loop_calls += 1
        value = self.counter
        time.sleep(0)  # give another thread every chance to interleave if this were not the loop
        self.counter = value + 1
        return self.counter

    @remote
    def hammer(self, threads: int, calls: int, mode: str = "post") -> None:
        """Start helper threads that each ``post`` (or ``safe_call``) ``_bump`` ``calls`` times."""

        def work() -> None:
            try:
                for _ in range(calls):
                    if mode == "post":
                        self.post(self._bump)
                    else:
                        self.safe_call(self._bump, timeout=30.0)
            except Exception as exc:  # noqa: BLE001 - reported through counters()
                self.thread_errors.append(f"{type(exc).__name__}: {exc}")

        for i in range(threads):
            t = threading.Thread(target=work, name=f"probe-hammer-{i}", daemon=True)
            self._threads.append(t)
            t.start()

    @remote
    def counters(self) -> dict[str, Any]:
        return {
            "counter": self.counter,
            "off_loop_calls": self.off_loop_calls,
            "threads_alive": sum(t.is_alive() for t in self._threads),
            "thread_errors": list(self.thread_errors),
            "errors": self.errors,
            "timer_errors": self.metrics.timer_errors,
        }

    def extra_status(self) -> dict[str, Any]:
        return {"received": dict(self.counts), "knob": self.knob}


def make_array(kind: str, n: int = 1000) -> np.ndarray:
    """Deterministic arrays: ``f8`` (1-D), ``i4x2`` (2-D), ``ticks`` (structured), ``be`` (big-endian)."""
    if kind == "f8":
        return np.arange(n, dtype="<f8") * 0.5
    if kind == "i4x2":
        return np.arange(2 * n, dtype="<i4").reshape(n, 2)
    if kind == "ticks":
        dt = np.dtype(
            [("ts", "<i8"), ("bid", "<f8"), ("ask", "<f8"), ("bid_size", "<f4"), ("ask_size", "<f4")]
        )
        arr = np.zeros(n, dtype=dt)
        arr["ts"] = np.arange(n, dtype="<i8") * 1_000_000
        arr["bid"] = 1.1 + np.arange(n) * 1e-5
        arr["ask"] = arr["bid"] + 2e-5
        arr["bid_size"] = 1.0
        arr["ask_size"] = 2.0
        return arr
    if kind == "be":
        return np.arange(n, dtype=">f8")
    raise ValueError(f"unknown array kind {kind!r}")


__all__ = ["Crashy", "Probe", "describe", "free_port", "make_array", "wait_until"]


def named_handler(agent: Probe, msg: Message) -> None:
    """An importable handler (``agentcore.testing:named_handler``) to swap in with ``set_handler``: records the
    message under the key ``named``, so a test sees which code handled it."""
    agent.counts[msg.topic] = agent.counts.get(msg.topic, 0)
    for alias, chan in agent._channels.items():  # noqa: SLF001 - the probe reports per alias
        if chan.handlers is not None and chan.handlers.get(msg.topic) is not None:
            agent.counts[alias] = agent.counts.get(alias, 0) + 1
            agent.records.setdefault(alias, []).append(
                [alias, "named", msg.topic, msg.sender, msg.seq, describe(msg.data)]
            )
            return


class Crashy(Probe):
    """A probe that dies (exit 3) about ``0.3 s`` after it started: a crash loop for supervision tests."""

    role = "crashy"

    def on_init(self) -> None:
        super().on_init()
        self.every(0.3, lambda: os._exit(3))
