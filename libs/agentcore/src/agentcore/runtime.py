"""The process entry point of one agent (``python -m agentcore.agent module:Class --name N``): build it from the
environment and run it. The lifecycle itself is :meth:`agentcore.Agent.run`."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence

from agentcore import logs
from agentcore import settings as settings_mod
from agentcore.agent import Agent
from agentcore.errors import ConfigError
from agentcore.remoting import import_object


def build_agent(class_path: str, name: str, environ: dict[str, str] | None = None) -> Agent:
    """Import the class, read fabric settings (``AGENTCORE_*``) and its config (``cls.config_prefix``)."""
    try:
        cls = import_object(class_path)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"cannot import agent class {class_path!r}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Agent)):
        raise ConfigError(f"{class_path} is not an agentcore Agent subclass")
    env = dict(os.environ if environ is None else environ)
    connections = env.pop(settings_mod.FABRIC_PREFIX + "CONNECT", "")
    settings = settings_mod.from_env(settings_mod.AgentSettings, settings_mod.FABRIC_PREFIX, env)
    config = settings_mod.from_env(cls.Config, cls.config_prefix, env) if cls.config_prefix else cls.Config()
    agent = cls(name, settings=settings, config=config)
    agent.connections = settings_mod.parse_connections(connections)
    return agent


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agentcore.agent", description="Run one agent in this process."
    )
    parser.add_argument("agent_class", help="module:Class of an agentcore.Agent subclass")
    parser.add_argument("--name", required=True)
    parser.add_argument("--ready-fd", type=int, default=-1, help="write the Pyro URI to this fd when ready")
    args = parser.parse_args(argv)
    try:
        agent = build_agent(args.agent_class, args.name)
    except ConfigError as exc:
        print(f"agentcore: configuration error: {exc}", file=sys.stderr)
        return 2
    logs.configure(agent.settings.log_level, agent.settings.log_format)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: agent.request_stop())

    def ready(uri: str) -> None:
        if args.ready_fd >= 0:
            os.write(args.ready_fd, (uri + "\n").encode())
            os.close(args.ready_fd)

    return agent.run(ready)
