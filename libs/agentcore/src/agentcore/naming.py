"""Name-server access: Pyro5 configuration, locating the server, registration metadata, alias resolution."""

from __future__ import annotations

import os
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
# Networks (Kafka's advertised listeners): the tags above describe the agent on its own network ("internal": the
# compose network, the cluster, the host of ``make run``); an agent reachable from another network also publishes
# ``ep@<net>:<alias>=<PATTERN>@<endpoint>``, ``pyro@<net>:<uri>`` and ``metrics@<net>:<url>`` for it.
INTERNAL = "internal"
NETWORK_ENV = "AGENTCORE_NETWORK"


def default_network() -> str:
    """The network this process reaches agents through: ``AGENTCORE_NETWORK``, else ``internal``."""
    return os.environ.get(NETWORK_ENV, "") or INTERNAL


def network_tag(kind: str, network: str, value: str) -> str:
    """``ep@host:market=PUB@tcp://...``, ``pyro@host:PYRO:...``, ``metrics@host:http://...``."""
    return f"{kind}@{network}:{value}"


def network_tags(tags: Iterable[str], kind: str, network: str) -> list[str]:
    """The values of the ``<kind>@<network>:`` tags."""
    prefix = f"{kind}@{network}:"
    return [t[len(prefix) :] for t in tags if t.startswith(prefix)]


def serves_network(tags: Iterable[str], network: str) -> bool:
    """Whether the agent published anything for ``network`` (the internal network: always)."""
    suffix = f"@{network}"
    return network == INTERNAL or any(t.split(":", 1)[0].endswith(suffix) for t in tags)


def agent_uri(uri: str, tags: Iterable[str], network: str | None = None) -> str:
    """The agent's Pyro URI on ``network``: its ``pyro@<net>:`` tag, else the registered URI (an agent that
    serves only one network, e.g. a tool started on the same host as the client)."""
    net = network or default_network()
    if net == INTERNAL:
        return uri
    found = network_tags(tags, "pyro", net)
    return found[0] if found else uri


def metrics_url(tags: Iterable[str], network: str | None = None) -> str:
    """The agent's metrics URL on ``network``: its ``metrics@<net>:`` tag, else its ``metrics:`` tag ('' if none)."""
    tags = list(tags)
    net = network or default_network()
    found = network_tags(tags, "metrics", net) if net != INTERNAL else []
    return found[0] if found else tag_value(tags, METRICS_PREFIX) or ""


def lookup_uri(ns: Pyro5.api.Proxy, name: str, network: str | None = None) -> str:
    """The Pyro URI of the agent registered as ``name`` on ``network`` (NamingError when unknown)."""
    uri, meta = ns.lookup(name, return_metadata=True)
    return agent_uri(str(uri), meta, network)


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


def parse_endpoint_tags(tags: Iterable[str], network: str = INTERNAL) -> dict[str, tuple[str, str]]:
    """``{alias: (pattern, endpoint)}`` from an agent's metadata, as published for ``network``."""
    prefix = ENDPOINT_PREFIX if network == INTERNAL else f"ep@{network}:"
    out: dict[str, tuple[str, str]] = {}
    for tag in tags:
        if tag.startswith(prefix) and "=" in tag and "@" in tag[len(prefix) :]:
            alias, rest = tag[len(prefix) :].split("=", 1)
            pattern, endpoint = rest.split("@", 1)
            out[alias] = (pattern, endpoint)
    return out


def endpoints_for(tags: Iterable[str], network: str | None = None) -> dict[str, tuple[str, str]]:
    """The endpoints a client on ``network`` dials: the agent's for that network when it serves it (an alias it
    did not publish there is unreachable from it), else its internal ones."""
    net = network or default_network()
    tags = list(tags)
    if net != INTERNAL and serves_network(tags, net):
        return parse_endpoint_tags(tags, net)
    return parse_endpoint_tags(tags)


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


def resolve(ns: Pyro5.api.Proxy, address: str, network: str | None = None) -> tuple[str, str]:
    """``(pattern, endpoint)`` bound by ``<agent>.<alias>`` as published for ``network`` (default:
    :func:`default_network`), read from the agent's name-server metadata."""
    agent, alias = split_address(address)
    try:
        _uri, meta = ns.lookup(agent, return_metadata=True)
    except Pyro5.errors.NamingError as exc:
        raise ResolveError(f"no agent named {agent!r} in the name server") from exc
    except Pyro5.errors.CommunicationError as exc:
        raise NameServerError(f"name server unreachable while resolving {address!r}: {exc}") from exc
    net = network or default_network()
    endpoints = endpoints_for(meta, net)
    if alias not in endpoints:
        where = "" if net == INTERNAL or not serves_network(meta, net) else f" on network {net!r}"
        raise ResolveError(
            f"agent {agent!r} has no alias {alias!r}{where} (it has: {', '.join(sorted(endpoints))})"
        )
    return endpoints[alias]


def list_agents(ns: Pyro5.api.Proxy, role: str | None = None) -> dict[str, tuple[str, set[str]]]:
    """``{name: (uri, metadata)}`` of every registered agent, optionally only one role."""
    tags = {ROLE_PREFIX + role} if role else {AGENT_TAG}
    try:
        found = ns.yplookup(meta_all=tags, return_metadata=True)
    except Pyro5.errors.CommunicationError as exc:
        raise NameServerError(f"name server unreachable: {exc}") from exc
    return {name: (str(uri), set(meta)) for name, (uri, meta) in found.items()}
