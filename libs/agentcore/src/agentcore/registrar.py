"""Keeps an agent registered and its connections pointed at live peers, from a helper thread.

Name-server calls can block for ``comm_timeout``; doing them here keeps the loop responsive. The thread only
reads snapshots handed over by the loop and posts reconnections back into it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import Pyro5.errors

from agentcore import naming
from agentcore.errors import CommunicationError
from agentcore.settings import AgentSettings


class Registrar:
    """``on_registered(bool)`` follows the registration state; ``on_moved(alias, endpoint)`` is called (from this
    thread) when a connected peer came back at another endpoint."""

    def __init__(
        self,
        name: str,
        uri: str,
        settings: AgentSettings,
        log: Any,
        on_registered: Callable[[bool], None],
        on_moved: Callable[[str, str], None],
    ) -> None:
        self._name, self._uri, self._settings, self._log = name, uri, settings, log
        self._on_registered, self._on_moved = on_registered, on_moved
        self._meta: set[str] = set()
        self._connected: dict[str, tuple[str, str]] = {}
        self._wake = threading.Event()
        self._done = threading.Event()
        self._ns: Any = None
        self.registered = False
        self.failures = 0
        self._thread = threading.Thread(target=self._run, name="agentcore-registrar", daemon=True)

    def update(self, metadata: set[str], connected: dict[str, tuple[str, str]]) -> None:
        """New snapshot from the loop: register again soon."""
        self._meta = set(metadata)
        self._connected = dict(connected)
        self._wake.set()

    def register_once(self) -> None:
        s = self._settings
        if self._ns is None:
            self._ns = naming.locate(s.ns_host, s.ns_port)
        self._ns._pyroClaimOwnership()  # first used by the loop thread, then by this one
        try:
            self._ns.register(self._name, self._uri, safe=False, metadata=self._meta)
        except Pyro5.errors.PyroError as exc:
            self._ns = None
            raise CommunicationError(f"registration failed: {exc}") from exc

    def _tick(self) -> None:
        try:
            self.register_once()
            if not self.registered:
                self._log.info("registered", ns=f"{self._settings.ns_host}:{self._settings.ns_port}")
            self.registered = True
            self._on_registered(True)
            self._follow_peers()
        except CommunicationError as exc:
            self.failures += 1
            if self.registered:
                self._log.warning("name server unreachable; will retry", error=str(exc))
            self.registered = False
            self._on_registered(False)

    def _follow_peers(self) -> None:
        for alias, (address, endpoint) in self._connected.items():
            try:
                _pattern, now = naming.resolve(self._ns, address, self._settings.network)
            except CommunicationError:
                continue  # peer not (yet) back: ZeroMQ keeps retrying the old endpoint meanwhile
            if now != endpoint:
                self._connected[alias] = (address, now)
                self._on_moved(alias, now)

    def _run(self) -> None:
        interval = self._settings.register_interval
        while not self._done.is_set():
            self._wake.wait(interval if self.registered else min(interval, 0.5))
            self._wake.clear()
            if self._done.is_set():
                break
            self._tick()

    def start(self) -> None:
        self._thread.start()

    def stop(self, unregister: bool = True) -> None:
        self._done.set()
        self._wake.set()
        if self._thread.is_alive():  # never started: an agent that failed before it could register
            self._thread.join(timeout=self._settings.comm_timeout + 1)
        if unregister:
            try:
                ns = naming.locate(self._settings.ns_host, self._settings.ns_port)
                if str(ns.lookup(self._name)) == self._uri:  # never remove a successor's entry
                    ns.remove(self._name)
            except (Pyro5.errors.PyroError, CommunicationError):
                pass  # the name server is gone; nothing to clean up there
