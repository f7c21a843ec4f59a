#!/usr/bin/env python3
"""Render services/<role>/Dockerfile from deploy/docker/Dockerfile.in.

One template keeps the five images identical up to the role-specific lines, so
they share every layer before the application code.

usage: python3 deploy/docker/render-dockerfiles.py [--check]
  --check  exit 1 if a rendered file differs from the committed one
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "docker" / "Dockerfile.in"

# Readiness of an agent: its /readyz answers 2xx (urlopen raises otherwise).
AGENT_HEALTHCHECK = (
    "import os, urllib.request; "
    "urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ['AGENTCORE_HTTP_PORT'], timeout=2)"
)
# Readiness of the name server: it answers a ping on its port.
NS_HEALTHCHECK = (
    "import os; from Pyro5.api import locate_ns; "
    "locate_ns('127.0.0.1', int(os.environ['AGENTCORE_NS_PORT']), broadcast=False).ping()"
)

AGENT_ENV = {
    "AGENTCORE_BIND_HOST": "0.0.0.0",
    "AGENTCORE_HTTP_PORT": "9100",
    "AGENTCORE_PYRO_PORT": "9901",
    "AGENTCORE_PORT_BASE": "5550",
}


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    agent_class: str | None  # None: the name server
    env: dict[str, str]
    expose: str


ROLES = [
    Role(
        "nameserver",
        "the Pyro5 name server (discovery) of the agent fabric.",
        None,
        {"AGENTCORE_NS_HOST": "0.0.0.0", "AGENTCORE_NS_PORT": "9090"},
        "9090",
    ),
    Role(
        "feeder",
        "market data in (replay, simulator, brokers), ticks out.",
        "tradehive_feeder.agent:FeederAgent",
        AGENT_ENV,
        "9100 9901 5550-5553",
    ),
    Role(
        "router",
        "bars and history from ticks, fanned out to the brains.",
        "tradehive_router.agent:RouterAgent",
        AGENT_ENV,
        "9100 9901 5550-5553",
    ),
    Role(
        "brain",
        "strategies: signals and order intents.",
        "tradehive_brain.agent:BrainAgent",
        AGENT_ENV,
        "9100 9901 5550-5553",
    ),
    Role(
        "trader",
        "pre-trade risk, orders, fills and positions.",
        "tradehive_trader.agent:TraderAgent",
        AGENT_ENV,
        "9100 9901 5550-5553",
    ),
]


def _exec_list(items: list[str]) -> str:
    return ", ".join(json.dumps(item) for item in items)


def render(role: Role, template: str, path: Path) -> str:
    if role.agent_class is None:
        app_role = ""
        entrypoint, cmd = ["agentcore"], ["nameserver"]
        healthcheck = NS_HEALTHCHECK
    else:
        app_role = (
            f"# The role's own package: the only layer that differs between the images.\n"
            f"COPY services/{role.name} /src/services/{role.name}\n"
            f"# hadolint ignore=DL3013\n"
            f"RUN pip install --no-deps --no-build-isolation --target /tmp/role \\\n"
            f"        /src/services/{role.name} \\\n"
            f" && cp -a /tmp/role/. /opt/tradehive/\n"
        )
        entrypoint = ["python", "-m", "agentcore.agent", role.agent_class]
        cmd = ["--name", role.name]
        healthcheck = AGENT_HEALTHCHECK
    env = " \\\n    ".join(f"{key}={value}" for key, value in role.env.items())
    replacements = {
        "@DOCKERFILE@": str(path.relative_to(ROOT)),
        "@ROLE@": role.name,
        "@ENV_DOC@": "AGENTCORE_NS_*"
        if role.agent_class is None
        else f"AGENTCORE_* and TRADEHIVE_{role.name.upper()}_*",
        "@DESCRIPTION@": role.description,
        "@APP_ROLE@\n": app_role + "\n",
        "@ENV@": env,
        "@EXPOSE@": role.expose,
        "@HEALTHCHECK@": healthcheck,
        "@ENTRYPOINT@": _exec_list(entrypoint),
        "@CMD@": _exec_list(cmd),
    }
    text = template
    for key, value in replacements.items():
        text = text.replace(key, value)
    if re.search(r"@[A-Z_]+@", text):
        raise ValueError(f"unreplaced placeholder in the {role.name} Dockerfile")
    return text


def dockerfile_path(role: Role) -> Path | None:
    """Where a role's Dockerfile lives; None while the role has no code yet.

    services/* are uv workspace members: a directory there without a
    pyproject.toml breaks `uv sync`, so a role's Dockerfile appears only with its
    package, and the name server (no package of its own) lives in deploy/docker/.
    """
    if role.agent_class is None:
        return ROOT / "deploy" / "docker" / role.name / "Dockerfile"
    service = ROOT / "services" / role.name
    return service / "Dockerfile" if (service / "pyproject.toml").exists() else None


def main(argv: list[str]) -> int:
    check = "--check" in argv
    template = TEMPLATE.read_text()
    stale = []
    for role in ROLES:
        path = dockerfile_path(role)
        if path is None:
            continue
        text = render(role, template, path)
        if path.exists() and path.read_text() == text:
            continue
        if check:
            stale.append(str(path.relative_to(ROOT)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print("stale (run python3 deploy/docker/render-dockerfiles.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
