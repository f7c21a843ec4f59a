"""The name server's settings: ``AGENTCORE_NS_*`` environment variables, unknown keys refused."""

from __future__ import annotations

import os
from collections.abc import Mapping

import msgspec
from agentcore.errors import ConfigError

PREFIX = "AGENTCORE_NS_"


class NameServerSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where the name server binds, what host it publishes in the URIs it hands out, where it persists."""

    host: str = "127.0.0.1"  # bind address (0.0.0.0 in the image)
    port: int = 9090
    advertise: str = ""  # host in the URIs it hands out (the compose service / k8s Service name)
    storage: str = ""  # e.g. sql:/var/lib/ns/ns.sqlite; empty: in memory
    comm_timeout: float = 2.0
    security_dir: str = (
        ""  # keys directory (agentcore keys init / a mounted Secret): TLS + client certificates
    )
    log_level: str = "info"
    log_format: str = "auto"


# AGENTCORE_NS_HOST/PORT are also read by every agent (where to find the name server); the rest are ours.
def from_env(environ: Mapping[str, str] | None = None) -> NameServerSettings:
    """Settings from ``AGENTCORE_NS_*`` (plus ``AGENTCORE_LOG_LEVEL``/``_FORMAT``); a typo is an error."""
    env = os.environ if environ is None else environ
    raw: dict[str, str] = {k.removeprefix(PREFIX).lower(): v for k, v in env.items() if k.startswith(PREFIX)}
    for key in ("log_level", "log_format"):
        if f"AGENTCORE_{key.upper()}" in env:
            raw.setdefault(key, env[f"AGENTCORE_{key.upper()}"])
    try:
        return msgspec.convert(raw, NameServerSettings, strict=False)
    except msgspec.ValidationError as exc:
        known = ", ".join(PREFIX + f.upper() for f in NameServerSettings.__struct_fields__)
        raise ConfigError(f"name server settings: {exc} (known: {known})") from exc
