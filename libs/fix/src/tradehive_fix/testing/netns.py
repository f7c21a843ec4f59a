"""Run a command in a fresh network namespace with only loopback up (the QuickFIX examples bind every
interface; inside the namespace "every interface" is loopback, so nothing listens on the host's network).

``unshare --net`` needs root (CI runs as root) or unprivileged user namespaces (``unshare -r --net``).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence

from tradehive_fix.errors import FixError

INSIDE_ENV = "TRADEHIVE_NETNS_FIX"  # not under TRADEHIVE_FIX_: that prefix is the session settings'


class NetnsUnavailable(FixError):
    """Neither ``unshare --net`` nor ``unshare -r --net`` works here."""


def _prefix() -> list[str]:
    unshare, ip = shutil.which("unshare"), shutil.which("ip") or "/usr/sbin/ip"
    if unshare is None:
        raise NetnsUnavailable("unshare(1) not found (util-linux)")
    for flags in (["--net"], ["-r", "--net"]):
        probe = subprocess.run(
            [unshare, *flags, ip, "link", "set", "lo", "up"], capture_output=True, text=True
        )
        if probe.returncode == 0:
            return [unshare, *flags]
    raise NetnsUnavailable(f"cannot create a network namespace: {probe.stderr.strip()}")


def run_isolated(
    argv: Sequence[str], env: Mapping[str, str], timeout: float, cwd: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``argv`` in a new network namespace (loopback only), ``INSIDE_ENV=1`` set; output captured."""
    ip = shutil.which("ip") or "/usr/sbin/ip"
    script = f'{ip} link set lo up && exec "$@"'
    cmd = [*_prefix(), "sh", "-c", script, "sh", *argv]
    return subprocess.run(
        cmd, env={**env, INSIDE_ENV: "1"}, capture_output=True, text=True, timeout=timeout, cwd=cwd
    )


__all__ = ["INSIDE_ENV", "NetnsUnavailable", "run_isolated"]
