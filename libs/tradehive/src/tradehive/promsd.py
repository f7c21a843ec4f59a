"""Prometheus file-based service discovery fed by the agentcore name server.

Every agent registers a ``metrics:<url>`` tag (its ``/metrics`` address) and a ``role:<role>`` tag; this
module turns the live registrations into a ``file_sd_configs`` target file::

    [{"targets": ["127.0.0.1:40123"], "labels": {"agent": "router", "role": "router"}}, ...]

and keeps it current (``tradehive prom-sd --ns-port N --out targets.json --interval 5``). The file is replaced
atomically and only when its content changes, so Prometheus never reads half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
import Pyro5.errors
from agentcore import naming
from agentcore.errors import AgentcoreError


class PromSdError(RuntimeError):
    """The target file could not be produced (name server unreachable, unwritable path)."""


class TargetGroup(msgspec.Struct, frozen=True, order=True):
    targets: list[str]
    labels: dict[str, str]


def target_for(name: str, tags: Iterable[str], network: str | None = None) -> TargetGroup | None:
    """The scrape target of one registration, as reached from ``network`` (default ``AGENTCORE_NETWORK``: a
    Prometheus on the host of a compose stack scrapes the published ports); None without a usable metrics URL."""
    tags = list(tags)
    url = naming.metrics_url(tags, network)
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.port is None:
        return None
    labels = {"agent": name, "role": naming.tag_value(tags, naming.ROLE_PREFIX) or "unknown"}
    if parts.path and parts.path != "/metrics":
        labels["__metrics_path__"] = parts.path
    if parts.scheme == "https":
        labels["__scheme__"] = "https"
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return TargetGroup(targets=[f"{host}:{parts.port}"], labels=labels)


def discover(ns_host: str, ns_port: int) -> list[TargetGroup]:
    """Target groups of every agent registered in the name server, sorted by agent name."""
    try:
        found = naming.list_agents(naming.locate(ns_host, ns_port))
    except (AgentcoreError, Pyro5.errors.PyroError) as exc:
        raise PromSdError(f"cannot list agents at {ns_host}:{ns_port}: {exc}") from exc
    groups = (target_for(name, meta) for name, (_uri, meta) in found.items())
    return sorted((g for g in groups if g is not None), key=lambda g: g.labels["agent"])


def render(groups: list[TargetGroup]) -> str:
    return json.dumps(msgspec.to_builtins(groups), indent=2, sort_keys=True) + "\n"


def write_if_changed(path: Path, text: str) -> bool:
    """Atomically replace ``path`` with ``text`` unless it already holds exactly that; True when written."""
    try:
        if path.read_text() == text:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def sync_once(ns_host: str, ns_port: int, out: Path) -> tuple[int, bool]:
    """Discover and write; returns ``(number of targets, written)``."""
    groups = discover(ns_host, ns_port)
    return len(groups), write_if_changed(out, render(groups))


def run(
    ns_host: str,
    ns_port: int,
    out: Path,
    interval: float,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    log: Callable[[str], Any] = print,
) -> None:
    """Keep ``out`` current every ``interval`` seconds until ``should_stop()``; a name-server outage keeps the
    last file (Prometheus then sees the agents' own ``up`` drop if they are really gone)."""
    last_error = ""
    while not should_stop():
        try:
            n, written = sync_once(ns_host, ns_port, out)
            if written:
                log(f"prom-sd: {n} target(s) written to {out}")
            last_error = ""
        except PromSdError as exc:
            if str(exc) != last_error:
                log(f"prom-sd: {exc} (keeping the last file)")
            last_error = str(exc)
        deadline = time.monotonic() + interval
        while not should_stop() and time.monotonic() < deadline:
            time.sleep(min(0.2, interval))


__all__ = [
    "PromSdError",
    "TargetGroup",
    "discover",
    "render",
    "run",
    "sync_once",
    "target_for",
    "write_if_changed",
]
