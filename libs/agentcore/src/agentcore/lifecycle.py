"""Steps of an agent's start that need no agent: the Pyro daemon, topology connections, the first registration.

:meth:`agentcore.Agent.run` owns the lifecycle (its own state, set up and torn down in one place) and calls these
with explicit arguments; nothing here imports the agent module or touches its fields.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from agentcore.errors import CommunicationError, ConfigError
from agentcore.registrar import Registrar
from agentcore.remoting import AgentDaemon
from agentcore.settings import AgentSettings


def start_pyro(
    obj: object, name: str, settings: AgentSettings, host: str, idempotent: Any
) -> tuple[AgentDaemon, str]:
    """Serve ``obj`` (the agent) over Pyro5 from a daemon thread; returns the daemon and the object's URI."""
    nat = host if settings.bind_host in ("0.0.0.0", "") else None
    daemon = AgentDaemon(
        host=settings.bind_host or "0.0.0.0", port=settings.pyro_port, nathost=nat, natport=0 if nat else None,
        idle_timeout=settings.idle_timeout, idempotent=idempotent,
    )  # fmt: skip
    uri = str(daemon.register(obj, objectId=f"agent.{name}"))
    threading.Thread(target=daemon.requestLoop, name="agentcore-pyro", daemon=True).start()
    return daemon, uri


def connect_all(connect: Callable[..., str], specs: Sequence[dict[str, Any]]) -> None:
    """Connections named in a topology: ``{"address": "a.out", "handler": "on_msg", "alias": ..., "topics": ...}``."""
    for spec in specs:
        if "address" not in spec:
            raise ConfigError(f"connection {spec!r} needs an 'address'")
        handler: Any = spec.get("handler")
        topics = spec.get("topics")
        if topics is not None and isinstance(handler, str):
            handler = {t: handler for t in topics}
        connect(spec["address"], handler=handler, alias=spec.get("alias"), pattern=spec.get("pattern"))


def first_registration(registrar: Registrar, timeout: float, stopping: threading.Event) -> None:
    """Register in the name server, retrying until ``timeout`` (or a stop request); raises CommunicationError."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            registrar.register_once()
            registrar.registered = True
            return
        except CommunicationError:
            if time.monotonic() > deadline or stopping.is_set():
                raise
            time.sleep(0.05)


__all__ = ["connect_all", "first_registration", "start_pyro"]
