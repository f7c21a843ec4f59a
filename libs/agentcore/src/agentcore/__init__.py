"""agentcore: a general-purpose multi-agent system.

Agents are OS processes that serve themselves over Pyro5 (remote control, discovery through a name server) and
exchange data over ZeroMQ sockets bound and connected by alias. One loop per agent runs all user code.

The names below are imported lazily so that ``python -m agentcore.agent`` and the CLI start fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Agent": "agentcore.agent",
    "remote": "agentcore.remoting",
    "Message": "agentcore.wire",
    "batch_handler": "agentcore.sockets",
    "AgentSettings": "agentcore.settings",
    "NoConfig": "agentcore.settings",
    "AgentProcess": "agentcore.process",
    "AgentProxy": "agentcore.proxy",
    "spawn": "agentcore.process",
    "AgentcoreError": "agentcore.errors",
    "CommunicationError": "agentcore.errors",
    "ConfigError": "agentcore.errors",
    "NameServerError": "agentcore.errors",
    "RemoteError": "agentcore.errors",
    "Refused": "agentcore.errors",
    "RequestTimeout": "agentcore.errors",
    "ResolveError": "agentcore.errors",
    "WireError": "agentcore.errors",
}

if TYPE_CHECKING:
    from agentcore.agent import Agent
    from agentcore.errors import (
        AgentcoreError,
        CommunicationError,
        ConfigError,
        NameServerError,
        Refused,
        RemoteError,
        RequestTimeout,
        ResolveError,
        WireError,
    )  # fmt: skip
    from agentcore.process import AgentProcess, spawn
    from agentcore.proxy import AgentProxy
    from agentcore.remoting import remote
    from agentcore.settings import AgentSettings, NoConfig
    from agentcore.sockets import batch_handler
    from agentcore.wire import Message


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentcore' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "Agent",
    "AgentProcess",
    "AgentProxy",
    "AgentSettings",
    "AgentcoreError",
    "CommunicationError",
    "ConfigError",
    "Message",
    "NameServerError",
    "NoConfig",
    "Refused",
    "RemoteError",
    "RequestTimeout",
    "ResolveError",
    "WireError",
    "batch_handler",
    "remote",
    "spawn",
]
