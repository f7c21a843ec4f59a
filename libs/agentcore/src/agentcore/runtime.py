"""An agent's life: set-up, registration, the loop, graceful stop; and the process entry point."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import Pyro5.api
import zmq

from agentcore import logs, naming
from agentcore import settings as settings_mod
from agentcore.errors import AgentcoreError, CommunicationError, ConfigError
from agentcore.http import HealthServer
from agentcore.loop import ControlChannel
from agentcore.registrar import Registrar
from agentcore.remoting import AgentDaemon, idempotent_methods, import_object

if TYPE_CHECKING:
    from agentcore.agent import Agent


def _start_pyro(agent: Agent) -> tuple[Pyro5.api.Daemon, str]:
    s = agent.settings
    nat = agent.host if s.bind_host in ("0.0.0.0", "") else None
    daemon = AgentDaemon(
        host=s.bind_host or "0.0.0.0", port=s.pyro_port, nathost=nat, natport=0 if nat else None,
        idle_timeout=s.idle_timeout, idempotent=idempotent_methods(type(agent)),
    )  # fmt: skip
    uri = str(daemon.register(agent, objectId=f"agent.{agent.name}"))
    thread = threading.Thread(target=daemon.requestLoop, name="agentcore-pyro", daemon=True)
    thread.start()
    return daemon, uri


def _connect_from_settings(agent: Agent, specs: Sequence[dict[str, Any]]) -> None:
    """Connections named in a topology: ``{"address": "a.out", "handler": "on_msg", "alias": ..., "topics": ...}``."""
    for spec in specs:
        if "address" not in spec:
            raise ConfigError(f"connection {spec!r} needs an 'address'")
        handler: Any = spec.get("handler")
        topics = spec.get("topics")
        if topics is not None and isinstance(handler, str):
            handler = {t: handler for t in topics}
        agent.connect(spec["address"], handler=handler, alias=spec.get("alias"), pattern=spec.get("pattern"))


def run_agent(
    agent: Agent, ready: Callable[[str], None] | None = None, connections: Sequence[dict[str, Any]] = ()
) -> int:
    s = agent.settings
    logs.bind_agent(agent.name, agent.role)
    naming.configure_pyro(s.comm_timeout)
    agent._loop_thread = threading.get_ident()
    agent.ctx = zmq.Context()
    if s.security_dir:
        from agentcore.security import enable_agent

        enable_agent(agent)  # before the Pyro daemon: it must speak TLS
    agent._control = ControlChannel(agent.ctx, agent.name)
    agent._http = HealthServer(
        s.bind_host, s.http_port, agent.metrics.registry, agent._healthz, agent._readyz
    )
    agent._http.start()
    daemon, uri = _start_pyro(agent)
    agent._daemon = daemon
    code = 0
    registrar = Registrar(agent, uri)
    agent._registrar = registrar
    try:
        agent.on_init()
        _connect_from_settings(agent, connections)
        agent._publish_metadata()
        _first_registration(agent, registrar)
        registrar.start()
        agent.metrics.up = True
        agent.log.info("started", uri=uri, metrics=agent.metrics_url, endpoints=sorted(agent.metadata()))
        if ready is not None:
            ready(uri)
        agent._loop()
    except (AgentcoreError, zmq.ZMQError) as exc:
        agent.log.error("agent failed", error=str(exc))
        code = 1
    finally:
        _shutdown(agent, registrar, daemon)
    return code


def _first_registration(agent: Agent, registrar: Registrar) -> None:
    deadline = time.monotonic() + max(5.0, agent.settings.comm_timeout * 3)
    while True:
        try:
            registrar.register_once()
            registrar.registered = True
            agent.metrics.ready = True
            return
        except CommunicationError:
            if time.monotonic() > deadline or agent._stopping.is_set():
                raise
            time.sleep(0.05)


def _shutdown(agent: Agent, registrar: Registrar, daemon: Pyro5.api.Daemon) -> None:
    agent.metrics.up = False
    agent.metrics.ready = False
    try:
        agent.on_stop()
    except Exception as exc:  # noqa: BLE001 - stopping must finish
        agent.report_error("on_stop", exc)
    registrar.stop(unregister=True)
    if agent._control is not None:
        agent._control.fail_pending(AgentcoreError(f"agent {agent.name} stopped"))
    for chan in list(agent._channels.values()):
        chan.sock.close(linger=agent.settings.linger_ms)
    if agent._control is not None:
        agent._control.close()
    if agent._security is not None:
        agent._security.stop()
    daemon.shutdown()
    if agent._http is not None:
        agent._http.stop()
    if agent.ctx is not None:
        agent.ctx.term()
    agent.log.info("stopped")


def build_agent(class_path: str, name: str, environ: dict[str, str] | None = None) -> Agent:
    """Import the class, read fabric settings (``AGENTCORE_*``) and its config (``cls.config_prefix``)."""
    from agentcore.agent import Agent

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
    agent._topology_connections = settings_mod.parse_connections(connections)  # type: ignore[attr-defined]
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

    return run_agent(agent, ready, getattr(agent, "_topology_connections", ()))
