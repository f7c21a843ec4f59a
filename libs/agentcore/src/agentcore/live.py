"""Looking at live agents from outside: the rows of ``agentcore ps`` and the proxy shell."""

from __future__ import annotations

import atexit
import code
import contextlib
import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import Pyro5.api

from agentcore import naming
from agentcore.proxy import AgentProxy


def agent_rows(ns_host: str, ns_port: int, timeout: float = 1.0) -> list[dict[str, Any]]:
    """One row per registered agent, its address and endpoints as seen from this process's network."""
    naming.configure_pyro(timeout)
    ns = naming.locate(ns_host, ns_port)
    rows = []
    for name, (registered, meta) in sorted(naming.list_agents(ns).items()):
        uri = naming.agent_uri(registered, meta)
        row: dict[str, Any] = {
            "name": name,
            "role": naming.tag_value(meta, naming.ROLE_PREFIX) or "?",
            "address": uri.split("@", 1)[-1],
            "metrics": naming.metrics_url(meta),
            "endpoints": {a: f"{p}@{e}" for a, (p, e) in naming.endpoints_for(meta).items()},
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


class Agents(dict[str, Any]):
    """Reconnecting proxies (:class:`~agentcore.proxy.AgentProxy`) made on first use, so a shell attaches to
    hundreds of agents cheaply and keeps working across idle periods and agent restarts."""

    def __init__(self, ns_host: str, ns_port: int) -> None:
        super().__init__()
        self._ns = (ns_host, ns_port)

    def __missing__(self, name: str) -> AgentProxy:
        known = self.names()
        if name not in known:
            raise KeyError(f"no agent named {name!r}; registered: {', '.join(known) or 'none'}")
        proxy = AgentProxy(name, *self._ns)
        self[name] = proxy
        return proxy

    def names(self) -> list[str]:
        return sorted(naming.list_agents(naming.locate(*self._ns)))

    def close(self) -> None:
        for proxy in self.values():
            proxy.close()


def history_path() -> Path:
    """Where the shell keeps its history: ``$XDG_STATE_HOME/agentcore/shell_history`` (``~/.local/state``)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "agentcore" / "shell_history"


def enable_readline(scope: dict[str, Any], history: Path) -> Callable[[], None]:
    """Tab completion over ``scope`` (attributes of proxies are the agents' remote methods) and a persistent
    history; returns the function that saves the history (also registered with ``atexit``)."""
    try:
        import readline
        import rlcompleter
    except ImportError:  # a Python built without readline: the console still works, without history
        return lambda: None
    readline.set_completer(rlcompleter.Completer(scope).complete)
    readline.parse_and_bind("tab: complete")
    readline.set_history_length(10_000)
    with contextlib.suppress(OSError):
        readline.read_history_file(history)

    def save() -> None:
        with contextlib.suppress(OSError):
            history.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(history)

    atexit.register(save)
    return save


ShellKind = Literal["auto", "ipython", "ptpython", "python"]


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def interactive_shell(name: str | None, ns_host: str, ns_port: int, kind: ShellKind = "auto") -> None:
    """An interactive Python with ``agents`` (reconnecting proxies by name) and ``a`` (NAME's proxy): IPython or
    ptpython when installed (``auto``), else the standard console with readline history and completion."""
    naming.configure_pyro(10.0)
    agents = Agents(ns_host, ns_port)
    scope: dict[str, Any] = {
        "agents": agents,
        "ns": naming.locate(ns_host, ns_port),
        "AgentProxy": AgentProxy,
    }
    banner = f"agentcore shell: name server {ns_host}:{ns_port}; agents: {', '.join(agents.names())}\n"
    banner += "agents['name'].status(), .get_attr(), .set_attr(), .stop()  (Tab completes, history kept)"
    if name:
        scope["a"] = agents[name]
        banner += f"\na = proxy of {name!r}: a.status()"
    if kind == "auto":
        kind = "ipython" if _available("IPython") else "ptpython" if _available("ptpython") else "python"
    try:
        if kind == "ipython":
            from IPython.terminal.embed import InteractiveShellEmbed

            InteractiveShellEmbed(banner1=banner, user_ns=scope)()
        elif kind == "ptpython":
            from ptpython.repl import embed

            history = history_path()
            history.parent.mkdir(parents=True, exist_ok=True)
            print(banner)
            embed(globals=scope, history_filename=str(history.with_name("ptpython_history")))
        else:
            save = enable_readline(scope, history_path())
            code.interact(banner=banner, local=scope, exitmsg="")
            save()
    finally:
        agents.close()
