"""Marking agent methods callable over Pyro5 (every such call runs inside the agent's loop); the agent's daemon."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, overload

import Pyro5.api

F = TypeVar("F", bound=Callable[..., Any])


@overload
def remote(fn: F) -> F: ...
@overload
def remote(*, idempotent: bool = False) -> Callable[[F], F]: ...
def remote(fn: Any = None, *, idempotent: bool = False) -> Any:
    """Expose ``fn`` over Pyro5; calls from other threads are marshalled into the loop (``safe_call``).

    ``@remote(idempotent=True)`` declares that running the call twice has the effect of running it once (reads,
    setting a value): a reconnecting client (:class:`agentcore.proxy.AgentProxy`) may then resend it when the
    connection broke after the request left.
    """

    def decorate(fn: F) -> F:
        name = fn.__name__

        @functools.wraps(fn)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if self._call_guard is not None:  # security on: may this caller's certificate call ``name``?
                self._call_guard(name)
            # bound into a partial so that a ``timeout=`` of the method is not taken by safe_call's own
            return self.safe_call(functools.partial(fn, self, *args, **kwargs))

        wrapper.__agentcore_remote__ = True  # type: ignore[attr-defined]
        wrapper.__agentcore_idempotent__ = idempotent  # type: ignore[attr-defined]
        return Pyro5.api.expose(wrapper)  # type: ignore[no-any-return]

    return decorate(fn) if fn is not None else decorate


def idempotent_methods(cls: type) -> list[str]:
    """Names of the ``@remote(idempotent=True)`` methods of ``cls``."""
    return sorted(n for n in dir(cls) if getattr(getattr(cls, n, None), "__agentcore_idempotent__", False))


class AgentDaemon(Pyro5.api.Daemon):  # type: ignore[misc]
    """The Pyro5 daemon of one agent.

    Pyro5 applies its process-wide ``COMMTIMEOUT`` (an agent's ``comm_timeout``, 2 s: right for its own calls to
    the name server) to every accepted connection too, so a client idle for 2 s found its connection closed
    ("receiving: not enough data"). Accepted connections get ``idle_timeout`` instead (0: never closed), set in
    the handshake, which also tells the client which methods are idempotent.
    """

    def __init__(self, *args: Any, idle_timeout: float, idempotent: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._idle_timeout = idle_timeout or None
        self._idempotent = idempotent

    def validateHandshake(self, conn: Any, data: Any) -> Any:  # noqa: N802 - Pyro5's hook name
        conn.settimeout(self._idle_timeout)
        return {"idempotent": self._idempotent}


def import_object(path: str) -> Any:
    """Import ``"package.module:attr"`` (handlers, agent classes): named code, never shipped code."""
    import importlib

    if ":" not in path:
        raise ValueError(f"{path!r} is not of the form 'module:attribute'")
    module_name, attr = path.split(":", 1)
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj
