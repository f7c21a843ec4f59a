"""Looking at live agents from outside: the rows of ``agentcore ps`` and the proxy shell."""

from __future__ import annotations

import code
from typing import Any

import Pyro5.api

from agentcore import naming


def agent_rows(ns_host: str, ns_port: int, timeout: float = 1.0) -> list[dict[str, Any]]:
    naming.configure_pyro(timeout)
    ns = naming.locate(ns_host, ns_port)
    rows = []
    for name, (uri, meta) in sorted(naming.list_agents(ns).items()):
        row: dict[str, Any] = {
            "name": name,
            "role": naming.tag_value(meta, naming.ROLE_PREFIX) or "?",
            "address": uri.split("@", 1)[-1],
            "metrics": naming.tag_value(meta, naming.METRICS_PREFIX) or "",
            "endpoints": {a: f"{p}@{e}" for a, (p, e) in naming.parse_endpoint_tags(meta).items()},
        }
        try:
            with Pyro5.api.Proxy(uri) as proxy:
                st = proxy.status()
            row.update(state="ready" if st.get("ready") else "starting", uptime_s=st.get("uptime_s"),
                       errors=st.get("errors"))  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - a stale entry or a dead agent shows as unreachable
            row.update(state=f"unreachable ({type(exc).__name__})")
        rows.append(row)
    return rows


class _Agents(dict[str, Any]):
    """Proxies made on first use, so a shell attaches to hundreds of agents cheaply."""

    def __init__(self, ns: Any) -> None:
        super().__init__()
        self._ns = ns

    def __missing__(self, name: str) -> Any:
        proxy = Pyro5.api.Proxy(self._ns.lookup(name))
        self[name] = proxy
        return proxy

    def names(self) -> list[str]:
        return sorted(naming.list_agents(self._ns))


def interactive_shell(name: str | None, ns_host: str, ns_port: int) -> None:
    naming.configure_pyro(10.0)
    ns = naming.locate(ns_host, ns_port)
    agents = _Agents(ns)
    scope: dict[str, Any] = {"ns": ns, "agents": agents}
    banner = f"agentcore shell: name server {ns_host}:{ns_port}; agents: {', '.join(agents.names())}\n"
    banner += "agents['name'].status(), .get_attr(), .set_attr(), .stop()"
    if name:
        scope["a"] = agents[name]
        banner += f"\na = proxy of {name!r}: a.status()"
    code.interact(banner=banner, local=scope, exitmsg="")
