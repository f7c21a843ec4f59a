"""Marking agent methods callable over Pyro5; every such call runs inside the agent's loop."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import Pyro5.api

F = TypeVar("F", bound=Callable[..., Any])


def remote(fn: F) -> F:
    """Expose ``fn`` over Pyro5; calls from other threads are marshalled into the loop (``safe_call``)."""

    @functools.wraps(fn)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        # bound into a partial so that a ``timeout=`` of the method is not taken by safe_call's own
        return self.safe_call(functools.partial(fn, self, *args, **kwargs))

    wrapper.__agentcore_remote__ = True  # type: ignore[attr-defined]
    return Pyro5.api.expose(wrapper)  # type: ignore[no-any-return]


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
