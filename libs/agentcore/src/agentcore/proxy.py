"""A proxy to a named agent that survives idle periods and agent restarts (the shell, charts, any long-lived client).

A plain Pyro5 proxy holds one TCP connection. The agent's daemon closes a connection that stays idle longer than
its ``idle_timeout`` (before that setting existed: its ``comm_timeout``, 2 s), and an agent that restarts listens on
a new port under the same name. :class:`AgentProxy` therefore

- checks, before every call, whether the peer has closed the idle connection, and reconnects first (nothing was
  sent, so this is safe for every method);
- resolves the agent's name again in the name server whenever it (re)connects, waiting up to ``reconnect_wait``
  for a restarting agent to register again;
- retries a call once after the connection broke *after* the request was sent only when the method is
  idempotent: declared ``@remote(idempotent=True)`` by the agent (announced in the Pyro5 handshake) or named by
  the caller. Any other call raises :class:`~agentcore.errors.CommunicationError` saying it may or may not have
  run; a timeout (the agent is slow, not gone) is never retried.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import Pyro5.api
import Pyro5.errors

from agentcore import naming
from agentcore.errors import CommunicationError, NameServerError


def connection_dropped(sock: socket.socket) -> bool:
    """True if an idle connection can no longer carry a request: the peer closed it (readable at EOF) or it is in
    error. Between calls a healthy Pyro5 connection has nothing to read, so readable means dropped (urllib3 uses
    the same test for pooled connections)."""
    try:
        readable, _, errored = select.select([sock], [], [sock], 0)
    except (OSError, ValueError):
        return True
    return bool(readable or errored)


class _HandshakeProxy(Pyro5.api.Proxy):  # type: ignore[misc]
    """Records what the agent's daemon says in the handshake (its idempotent methods)."""

    _agentcore_idempotent: frozenset[str] = frozenset()

    def _pyroValidateHandshake(self, response: Any) -> None:
        idempotent = response.get("idempotent", ()) if isinstance(response, dict) else ()
        object.__setattr__(self, "_agentcore_idempotent", frozenset(idempotent))


class AgentProxy:
    """Call ``proxy.method(*args)`` on the agent registered as ``name``; reconnects transparently.

    Thread-safe (calls are serialised; the Pyro5 connection follows the calling thread). ``dir(proxy)`` lists the
    agent's remote methods, for completion in the shell. ``network``: which of the agent's advertised addresses
    to dial (default ``AGENTCORE_NETWORK``, else ``internal``: the address it registered).
    """

    def __init__(
        self,
        name: str,
        ns_host: str = "127.0.0.1",
        ns_port: int = 9090,
        *,
        timeout: float = 10.0,
        reconnect_wait: float = 15.0,
        idempotent: Iterable[str] = (),
        network: str | None = None,
    ) -> None:
        self._name = name
        self._network = network or naming.default_network()
        self._ns = (ns_host, ns_port)
        self._timeout = timeout
        self._reconnect_wait = reconnect_wait
        self._extra_idempotent = frozenset(idempotent)
        self._lock = threading.RLock()
        self._proxy: _HandshakeProxy | None = None
        self.reconnects = 0  # connections made after the first (idle drops, restarts, broken calls)

    # -------------------------------------------------------------------------------------------- connection
    def _resolve(self) -> str:
        ns = naming.locate(*self._ns)
        try:
            ns._pyroTimeout = self._timeout
            return naming.lookup_uri(ns, self._name, self._network)
        except Pyro5.errors.NamingError as exc:
            raise NameServerError(f"no agent named {self._name!r} in the name server: {exc}") from exc
        except Pyro5.errors.CommunicationError as exc:
            raise NameServerError(f"name server {self._ns[0]}:{self._ns[1]} unreachable: {exc}") from exc
        finally:
            ns._pyroRelease()

    def _connect(self) -> _HandshakeProxy:
        """Resolve the name and connect, retrying until ``reconnect_wait`` while the agent (re)starts."""
        deadline = time.monotonic() + self._reconnect_wait
        delay = 0.05
        while True:
            try:
                proxy = _HandshakeProxy(self._resolve())
                proxy._pyroTimeout = self._timeout
                proxy._pyroBind()
                return proxy
            except (CommunicationError, Pyro5.errors.CommunicationError) as exc:
                if time.monotonic() + delay > deadline:
                    waited = f" (waited {self._reconnect_wait:g}s)" if self._reconnect_wait > 0 else ""
                    raise CommunicationError(f"agent {self._name!r} unreachable{waited}: {exc}") from exc
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    def _connected(self) -> _HandshakeProxy:
        proxy = self._proxy
        if proxy is not None:
            proxy._pyroClaimOwnership()
            conn = proxy._pyroConnection
            if conn is not None and not connection_dropped(conn.sock):
                return proxy
            proxy._pyroRelease()
            self.reconnects += 1
        self._proxy = self._connect()
        return self._proxy

    def _drop(self) -> None:
        if self._proxy is not None:
            self._proxy._pyroRelease()
            self.reconnects += 1
        self._proxy = None

    # ----------------------------------------------------------------------------------------------- calls
    def idempotent(self, method: str) -> bool:
        """Whether ``method`` may be sent twice: declared by the agent or named by the caller."""
        declared: frozenset[str] = getattr(self._proxy, "_agentcore_idempotent", frozenset())
        return method in declared or method in self._extra_idempotent

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            proxy = self._connected()
            try:
                return getattr(proxy, method)(*args, **kwargs)
            except Pyro5.errors.TimeoutError as exc:
                self._drop()  # a late reply must not be read as the answer to the next call
                raise CommunicationError(
                    f"{self._name}.{method}: no reply within {self._timeout:g}s"
                ) from exc
            except Pyro5.errors.CommunicationError as exc:
                retry = self.idempotent(method)
                self._drop()
                if not retry:
                    raise CommunicationError(
                        f"{self._name}.{method}: connection lost during the call (it may or may not have run; "
                        f"not retried: not idempotent): {exc}"
                    ) from exc
            return getattr(self._connected(), method)(*args, **kwargs)

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if method.startswith("_"):
            raise AttributeError(method)

        def remote_method(*args: Any, **kwargs: Any) -> Any:
            return self.call(method, *args, **kwargs)

        remote_method.__name__ = method
        return remote_method

    def __dir__(self) -> list[str]:
        with self._lock:
            try:
                methods = set(self._connected()._pyroMethods)
            except CommunicationError:
                methods = set()
        return sorted(methods | {"call", "close", "idempotent", "reconnects"})

    def close(self) -> None:
        with self._lock:
            if self._proxy is not None:
                self._proxy._pyroClaimOwnership()
                self._proxy._pyroRelease()
            self._proxy = None

    def __enter__(self) -> AgentProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<AgentProxy {self._name!r} via {self._ns[0]}:{self._ns[1]}>"
