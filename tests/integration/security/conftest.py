"""A secured fabric: a keys directory from the platform's policy, a TLS name server, agents with identities.

The test process switches identity with ``as_identity`` (None = a peer without keys); Pyro5's TLS settings are
process-wide, so every fixture puts plain Pyro5 back when it ends.
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
POLICY = ROOT / "deploy" / "security" / "policy.yaml"


@pytest.fixture(scope="session")
def keydir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from agentcore import keys

    d = tmp_path_factory.mktemp("keys")
    keys.init(d, POLICY)
    return d


def as_identity(keydir: Path, identity: str | None) -> None:
    from agentcore import security

    if identity is None:
        security.deconfigure()
    else:
        security.configure_process(str(keydir), identity)


class SecureFabric:
    def __init__(self, keydir: Path, factory: Any) -> None:
        self.keydir, self.factory = keydir, factory

    def spawn(
        self, name: str, identity: str, class_path: str = "agentcore.testing:Probe", **settings: Any
    ) -> Any:
        s = {"security_dir": str(self.keydir), "identity": identity, **settings}
        return self.factory.spawn(name, class_path, settings=s)

    def as_identity(self, identity: str | None) -> None:
        as_identity(self.keydir, identity)


@pytest.fixture
def nameserver(keydir: Path) -> Iterator[Any]:
    """Overrides the plain one: a TLS name server; the test process is the operator until the test ends."""
    from agentcore import naming
    from agentcore.nameserver import NameServerProcess
    from agentcore.testing import free_port

    naming.configure_pyro(10.0)
    as_identity(keydir, "operator")
    ns = NameServerProcess("127.0.0.1", free_port(), timeout=30.0, security_dir=str(keydir))
    try:
        yield ns
    finally:
        as_identity(keydir, "operator")
        ns.stop()
        as_identity(keydir, None)


@pytest.fixture
def secure(keydir: Path, agents: Any) -> Iterator[SecureFabric]:
    """Agents that run with ``security_dir`` and an identity, on the TLS name server."""
    fabric = SecureFabric(keydir, agents)
    try:
        yield fabric
    finally:
        as_identity(keydir, "operator")  # the factory stops its agents as the operator


@pytest.fixture
def refused() -> Any:
    """``refused(metrics_url) -> {(socket, reason): count}``."""
    return refusals


def refusals(metrics_url: str) -> dict[tuple[str, str], float]:
    """``{(socket, reason): count}`` from an agent's ``agentcore_security_refused_total``."""
    with urllib.request.urlopen(metrics_url, timeout=10) as r:
        text = r.read().decode()
    out: dict[tuple[str, str], float] = {}
    for m in re.finditer(r"^agentcore_security_refused_total\{([^}]*)\} (\S+)$", text, re.M):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        out[(labels["socket"], labels["reason"])] = float(m.group(2))
    return out
