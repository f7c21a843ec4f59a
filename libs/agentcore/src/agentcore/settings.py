"""Typed, frozen settings read from environment variables with one prefix; unknown keys are errors.

Kept hand-written (issue 14) rather than pydantic-settings: ~100 lines on msgspec, already a dependency (one
fewer package in every image), and it refuses an unknown ``AGENTCORE_*`` variable, naming the valid ones: a typo
such as ``AGENTCORE_NS_PROT`` is an exit-2 error instead of a silently ignored setting.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, get_args, get_origin

import msgspec

from agentcore.errors import ConfigError

FABRIC_PREFIX = "AGENTCORE_"
NETWORK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

S = TypeVar("S", bound=msgspec.Struct)

LogLevel = Literal["debug", "info", "warning", "error", "critical"]


class Listener(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the agent is reached from one other network (Kafka's advertised listener): the host published there and
    the port forwarded to each of its ports (compose ``ports:``, a NodePort, ``kubectl port-forward``). What is
    not listed is not advertised on that network."""

    host: str
    pyro_port: int = 0  # forwarded to the Pyro daemon (0: not reachable from that network)
    ports: dict[str, int] = {}  # bound alias -> forwarded port (tcp sockets only)
    http_port: int = 0  # forwarded to /metrics, /healthz, /readyz (0: not advertised)

    def __post_init__(self) -> None:
        if not self.host or self.host in ("0.0.0.0", "*"):
            raise ValueError(f"a listener needs a host its clients can dial, got {self.host!r}")
        for name, port in [("pyro_port", self.pyro_port), ("http_port", self.http_port), *self.ports.items()]:
            if not 0 <= port <= 65_535:
                raise ValueError(f"port of {name} must be in 0..65535, got {port}")


class AgentSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What every agent needs from its environment (env prefix ``AGENTCORE_``)."""

    ns_host: str = "127.0.0.1"
    ns_port: int = 9090
    bind_host: str = "127.0.0.1"
    advertise_host: str = ""  # host published to peers; empty: bind_host, or the outgoing address if 0.0.0.0
    pyro_port: int = 0
    http_port: int = 0
    port_base: int = 0  # first ZeroMQ port; bound aliases take base, base+1, ... in bind order; 0: random
    transport: Literal["tcp", "ipc"] = "tcp"
    ipc_dir: str = "/tmp/agentcore"
    log_level: LogLevel = "info"
    log_format: Literal["auto", "json", "console"] = "auto"  # auto: JSON lines off a TTY
    register_interval: float = 5.0  # seconds between name-server re-registrations (heals a restarted server)
    comm_timeout: float = 2.0  # Pyro5 COMMTIMEOUT for name-server and agent calls
    idle_timeout: float = 3600.0  # seconds an idle control connection to this agent stays open (0: forever)
    linger_ms: int = 500
    sndhwm: int = 100_000
    rcvhwm: int = 100_000
    stop_timeout: float = 5.0
    max_msg_size: int = 1 << 30  # ZMQ_MAXMSGSIZE: a peer sending a bigger message is disconnected before
    # anything is allocated for it (-1: no limit)
    security_dir: str = ""  # keys directory (agentcore keys init): CurveZMQ + Pyro5 TLS on; empty: off
    identity: str = ""  # the identity used from security_dir; empty: the agent's role
    # Reach from other networks (docs/containers.md): {"host": {"host": "127.0.0.1", "pyro_port": 9202,
    # "ports": {"market": 9620}}} publishes ep@host:/pyro@host:/metrics@host: tags next to the internal ones.
    advertise_networks: dict[str, Listener] = {}
    network: str = "internal"  # the network this agent (a client) dials peers on: their endpoints for it
    # After a pass that had work, keep polling without blocking for this long before the loop sleeps in poll
    # again (0: always block). Trades a core for wake-up latency: measured in bench/results/platform.md.
    busy_poll_us: int = 0

    def __post_init__(self) -> None:
        """Numbers from the environment are checked: no NaN, infinity, negative or out-of-range value gets in."""
        for name in ("register_interval", "comm_timeout", "stop_timeout"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0 < value <= 86_400):
                raise ValueError(f"{name} must be a finite number of seconds in (0, 86400], got {value!r}")
        if not 1 <= self.ns_port <= 65_535:
            raise ValueError(f"ns_port must be in 1..65535, got {self.ns_port}")
        for name in ("pyro_port", "http_port", "port_base"):
            if not 0 <= getattr(self, name) <= 65_535:
                raise ValueError(f"{name} must be in 0..65535, got {getattr(self, name)}")
        for name in ("sndhwm", "rcvhwm"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for net in [self.network, *self.advertise_networks]:
            if not NETWORK_NAME.match(net):
                raise ValueError(f"network name {net!r}: lower-case letters, digits, '-' and '_'")
        if "internal" in self.advertise_networks:
            raise ValueError(
                "'internal' is the agent's own network (advertise_host, bind ports), not a listener"
            )
        if not 0 <= self.busy_poll_us <= 1_000_000:
            raise ValueError(f"busy_poll_us must be in 0..1000000, got {self.busy_poll_us}")
        if self.linger_ms < -1 or self.max_msg_size < -1 or self.max_msg_size == 0:
            raise ValueError("linger_ms must be >= -1; max_msg_size > 0 or -1 (no limit)")


class NoConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The role config of an agent that has none."""


@functools.cache
def _fields(cls: type[msgspec.Struct]) -> dict[str, Any]:
    """``{name: type}`` of a settings class (msgspec re-evaluates the annotations on every call: ~3 ms)."""
    return {f.name: f.type for f in msgspec.structs.fields(cls)}


def _prefixed(environ: Mapping[str, str], prefix: str) -> dict[str, str]:
    return {k[len(prefix) :].lower(): v for k, v in environ.items() if k.startswith(prefix)}


def _coerce(value: Any, field_type: Any) -> Any:
    """Strings that look like JSON lists/maps become data; the rest is converted by msgspec (strict=False)."""
    if isinstance(value, str) and value[:1] in "[{" and field_type is not str:
        try:
            return msgspec.json.decode(value)
        except msgspec.DecodeError:
            return value
    return value


def build(cls: type[S], values: Mapping[str, Any], *, source: str) -> S:
    """Build ``cls`` from a mapping of field name -> value, with clear errors for unknown or mistyped keys."""
    fields = _fields(cls)
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown setting(s) {', '.join(unknown)} in {source}; valid: {', '.join(sorted(fields))}"
        )
    data = {k: _coerce(v, fields[k]) for k, v in values.items()}
    try:
        return msgspec.convert(data, cls, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"bad setting in {source}: {exc}{_valid_values(str(exc), fields)}") from exc


def _valid_values(error: str, fields: Mapping[str, Any]) -> str:
    """``; valid: a, b`` when the error is about a field with a fixed set of values (msgspec does not say)."""
    for name, typ in fields.items():
        if f"$.{name}`" in error and get_origin(typ) is Literal:
            return f"; valid: {', '.join(map(str, get_args(typ)))}"
    return ""


def explain(
    cls: type[msgspec.Struct], prefix: str, environ: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """Each setting of ``cls`` as read from ``prefix`` variables: ``{"setting", "env", "value", "source"}``,
    source ``default`` or ``environment`` (what ``agentcore config`` prints)."""
    env = os.environ if environ is None else environ
    effective = as_dict(from_env(cls, prefix, env))
    given = _prefixed(env, prefix)
    return [
        {
            "setting": f.name,
            "env": prefix + f.name.upper(),
            "value": effective[f.name],
            "source": "environment" if f.name in given else "default",
        }  # fmt: skip
        for f in msgspec.structs.fields(cls)
    ]


def from_env(cls: type[S], prefix: str, environ: Mapping[str, str] | None = None) -> S:
    """Read ``cls`` from ``PREFIX_FIELD`` variables; any other ``PREFIX_*`` variable is an error."""
    env = os.environ if environ is None else environ
    values = _prefixed(env, prefix)
    fields = sorted(_fields(cls))
    unknown = sorted(prefix + k.upper() for k in values if k not in fields)
    if unknown:  # named as the user wrote them, so a typo is found at once
        valid = ", ".join(prefix + f.upper() for f in fields)
        raise ConfigError(f"unknown environment variable(s) {', '.join(unknown)}; valid: {valid}")
    return build(cls, values, source=f"environment ({prefix}*)")


def to_env(values: Mapping[str, Any], prefix: str) -> dict[str, str]:
    """The inverse of :func:`from_env` for passing settings to a child process."""
    out: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, list | tuple | dict):
            text = msgspec.json.encode(value).decode()
        elif isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = str(value)
        out[prefix + key.upper()] = text
    return out


def as_dict(settings: msgspec.Struct) -> dict[str, Any]:
    """JSON-able view of a settings object (for ``status()`` and ``agentcore config``)."""
    out: dict[str, Any] = msgspec.to_builtins(settings)
    return out


def parse_connections(text: str) -> list[dict[str, Any]]:
    """``AGENTCORE_CONNECT``: a JSON list of ``{"address", "handler", "alias", "topics", "pattern"}`` objects."""
    if not text:
        return []
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise ConfigError(f"AGENTCORE_CONNECT is not JSON: {exc}") from exc
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError("AGENTCORE_CONNECT must be a JSON list of objects")
    return value
