"""Name-server access: Pyro5 configuration, locating the server, registration metadata, alias resolution."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from typing import Any

import Pyro5
import Pyro5.api
import Pyro5.errors

from agentcore.errors import NameServerError, ResolveError

AGENT_TAG = "agentcore"
ROLE_PREFIX = "role:"
METRICS_PREFIX = "metrics:"
ENDPOINT_PREFIX = "ep:"


def configure_pyro(comm_timeout: float) -> None:
    """Process-wide Pyro5 settings: no broadcast, Nagle off, bounded network waits, serpent (never pickle)."""
    cfg: Any = Pyro5.config
    cfg.COMMTIMEOUT = comm_timeout
    cfg.SOCK_NODELAY = True
    cfg.SERIALIZER = "serpent"
    cfg.NS_BCPORT = 0
    cfg.DETAILED_TRACEBACK = False


def _register_errors() -> None:
    """Let Pyro5 clients rebuild agentcore's own exceptions raised by a remote agent (instead of failing with
    'unsupported serialized class')."""
    from Pyro5.serializers import SerializerBase

    from agentcore import errors

    for cls in vars(errors).values():
        if isinstance(cls, type) and issubclass(cls, errors.AgentcoreError):

            def rebuild(classname: str, data: dict[str, Any], cls: type = cls) -> Exception:
                exc: Exception = Exception.__new__(cls)
                Exception.__init__(exc, *data.get("args", ()))
                for key, value in (data.get("attributes") or {}).items():
                    setattr(exc, key, value)
                return exc

            SerializerBase.register_dict_to_class(f"{cls.__module__}.{cls.__name__}", rebuild)


_register_errors()


def locate(host: str, port: int) -> Pyro5.api.Proxy:
    """A proxy to the name server at ``host:port`` (never a broadcast lookup).

    With ``AGENTCORE_SECURITY_DIR`` set, a tool (CLI, client) first takes its identity from there (TLS)."""
    from agentcore import security

    security.configure_from_env()
    try:
        return Pyro5.api.locate_ns(host=host, port=port, broadcast=False)
    except Pyro5.errors.PyroError as exc:
        raise NameServerError(f"no name server at {host}:{port}: {exc}") from exc


def outgoing_address(peer_host: str) -> str:
    """The local address this host uses to reach ``peer_host`` (what a peer on another host can dial)."""
    try:
        peer = socket.gethostbyname(peer_host)
    except OSError:
        return socket.gethostbyname(socket.gethostname())
    if peer.startswith("127."):
        return peer
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((peer, 9))  # no packet is sent for UDP connect
        return str(s.getsockname()[0])


def advertised_host(bind_host: str, advertise_host: str, ns_host: str) -> str:
    """Never publish 0.0.0.0: an explicit advertise host wins, then a concrete bind host, then the route to NS."""
    if advertise_host:
        return advertise_host
    if bind_host not in ("0.0.0.0", "", "*"):
        return bind_host
    return outgoing_address(ns_host)


def endpoint_tag(alias: str, pattern: str, endpoint: str) -> str:
    return f"{ENDPOINT_PREFIX}{alias}={pattern}@{endpoint}"


def parse_endpoint_tags(tags: Iterable[str]) -> dict[str, tuple[str, str]]:
    """``{alias: (pattern, endpoint)}`` from an agent's metadata."""
    out: dict[str, tuple[str, str]] = {}
    for tag in tags:
        if tag.startswith(ENDPOINT_PREFIX) and "=" in tag and "@" in tag:
            alias, rest = tag[len(ENDPOINT_PREFIX) :].split("=", 1)
            pattern, endpoint = rest.split("@", 1)
            out[alias] = (pattern, endpoint)
    return out


def tag_value(tags: Iterable[str], prefix: str) -> str | None:
    for tag in tags:
        if tag.startswith(prefix):
            return tag[len(prefix) :]
    return None


def split_address(address: str) -> tuple[str, str]:
    """``"router.market"`` -> ``("router", "market")``: agent names hold no dots, aliases may."""
    if "." not in address:
        raise ResolveError(f"address {address!r} is not of the form <agent>.<alias>")
    agent, alias = address.split(".", 1)
    return agent, alias


def resolve(ns: Pyro5.api.Proxy, address: str) -> tuple[str, str]:
    """``(pattern, endpoint)`` bound by ``<agent>.<alias>``, read from the agent's name-server metadata."""
    agent, alias = split_address(address)
    try:
        _uri, meta = ns.lookup(agent, return_metadata=True)
    except Pyro5.errors.NamingError as exc:
        raise ResolveError(f"no agent named {agent!r} in the name server") from exc
    except Pyro5.errors.CommunicationError as exc:
        raise NameServerError(f"name server unreachable while resolving {address!r}: {exc}") from exc
    endpoints = parse_endpoint_tags(meta)
    if alias not in endpoints:
        raise ResolveError(f"agent {agent!r} has no alias {alias!r} (it has: {', '.join(sorted(endpoints))})")
    return endpoints[alias]


def list_agents(ns: Pyro5.api.Proxy, role: str | None = None) -> dict[str, tuple[str, set[str]]]:
    """``{name: (uri, metadata)}`` of every registered agent, optionally only one role."""
    tags = {ROLE_PREFIX + role} if role else {AGENT_TAG}
    try:
        found = ns.yplookup(meta_all=tags, return_metadata=True)
    except Pyro5.errors.CommunicationError as exc:
        raise NameServerError(f"name server unreachable: {exc}") from exc
    return {name: (str(uri), set(meta)) for name, (uri, meta) in found.items()}
