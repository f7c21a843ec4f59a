"""The ``agentcore`` command: nameserver, up, ps, call, stop, shell, config.

Conventions shared with ``tradehive`` (see :mod:`agentcore.cliutil`): choices are literals (a typo exits 2 listing
the valid values), ``--version``, shell completion, ``--ns-host/--ns-port`` everywhere, ``--json`` where the
output is data, exit status 0 only on success.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Any, Literal

import typer

from agentcore import cliutil, naming
from agentcore.errors import AgentcoreError

app = cliutil.make_app("agentcore", help="Run and control agentcore agents.")

ShellUI = Literal["auto", "ipython", "ptpython", "python"]


def _keys_app() -> typer.Typer:
    from agentcore.keys_cli import app as keys_app

    return keys_app


app.add_typer(_keys_app(), name="keys", help="Key material: CA, certificates, Curve key pairs, k8s Secrets.")


def _proxy(name: str, ns_host: str, ns_port: int) -> Any:
    from agentcore.proxy import AgentProxy

    timeout = float(os.environ.get("AGENTCORE_COMM_TIMEOUT", "5"))
    naming.configure_pyro(timeout)
    return AgentProxy(name, ns_host, ns_port, timeout=timeout, reconnect_wait=0)


@app.command()
def nameserver(
    ns_host: cliutil.NsHost = "127.0.0.1",
    ns_port: cliutil.NsPort = 9090,
    advertise: Annotated[
        str, typer.Option(envvar="AGENTCORE_NS_ADVERTISE", help="host published in URIs")
    ] = "",
    storage: Annotated[str, typer.Option(help="persistent storage, e.g. sql:/path/ns.sqlite")] = "",
    security_dir: Annotated[
        str,
        typer.Option(envvar="AGENTCORE_SECURITY_DIR", help="keys directory: TLS with client certificates"),
    ] = "",
    host: cliutil.HiddenHost = None,
    port: cliutil.HiddenPort = None,
) -> None:
    """Start a Pyro5 name server (multiplexed, broadcast off) listening on --ns-host:--ns-port."""
    from agentcore.nameserver import serve

    serve(host or ns_host, port or ns_port, advertise, storage or None, security_dir=security_dir)


@app.command()
def up(
    topology: Annotated[str, typer.Argument(help="topology file (YAML or TOML)")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no live table (also when not a TTY)")] = False,
) -> None:
    """Start the name server and every agent of TOPOLOGY; restart crashed agents.

    Ctrl-C stops all (exit 0). Exits 1 when an agent gave up (crashed more often than the restart policy allows)
    and nothing is left running, or when the start-up failed.
    """
    from agentcore.launcher import Launcher, load_topology

    launcher = Launcher(load_topology(topology), live=not quiet and sys.stdout.isatty())
    raise typer.Exit(launcher.run())


@app.command()
def ps(
    ns_host: cliutil.NsHost = "127.0.0.1",
    ns_port: cliutil.NsPort = 9090,
    as_json: cliutil.JsonFlag = False,
) -> None:
    """List agents registered in the name server with role, address and state."""
    from agentcore.live import agent_rows

    rows = agent_rows(ns_host, ns_port)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "role", "address", "state", "uptime_s", "errors")
    for r in rows:
        table.add_row(
            r["name"],
            r["role"],
            r["address"],
            r["state"],
            str(r.get("uptime_s", "")),
            str(r.get("errors", "")),
        )
    Console().print(table)


def _parse_arg(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


@app.command()
def call(
    name: str,
    method: str,
    args: Annotated[list[str] | None, typer.Argument(help="arguments, JSON where they parse")] = None,
    ns_host: cliutil.NsHost = "127.0.0.1",
    ns_port: cliutil.NsPort = 9090,
    as_json: Annotated[
        bool, typer.Option("--json", help="one compact JSON line (default: indented on a TTY)")
    ] = False,
) -> None:
    """Call METHOD on agent NAME and print the JSON result (exit 1 on any error)."""
    try:
        with _proxy(name, ns_host, ns_port) as proxy:
            result = proxy.call(method, *[_parse_arg(a) for a in (args or [])])
    except Exception as exc:  # noqa: BLE001 - any failure is an error exit with a message
        print(f"agentcore call {name} {method}: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise typer.Exit(1) from exc
    indent = 2 if sys.stdout.isatty() and not as_json else None
    print(json.dumps(result, default=str, indent=indent))


@app.command()
def stop(name: str, ns_host: cliutil.NsHost = "127.0.0.1", ns_port: cliutil.NsPort = 9090) -> None:
    """Ask agent NAME to stop gracefully."""
    call(name, "stop", [], ns_host, ns_port, True)


@app.command()
def shell(
    name: Annotated[str | None, typer.Argument(help="bind this agent's proxy to `a`")] = None,
    ns_host: cliutil.NsHost = "127.0.0.1",
    ns_port: cliutil.NsPort = 9090,
    ui: Annotated[ShellUI, typer.Option(help="auto: IPython or ptpython when installed")] = "auto",
) -> None:
    """An interactive Python with proxies to the live agents (``agents['name']``, ``a`` for NAME) that survive
    idle periods and agent restarts; readline history and Tab completion."""
    from agentcore.live import interactive_shell

    interactive_shell(name, ns_host, ns_port, ui)


@app.command()
def config(
    agent_class: Annotated[
        str | None, typer.Argument(help="module:Class of an agent: also show its role config")
    ] = None,
    as_json: cliutil.JsonFlag = False,
) -> None:
    """Print the effective settings of an agent started from this environment: each setting, its value and
    where it came from (default or environment variable)."""
    from agentcore import settings as settings_mod

    rows = settings_mod.explain(settings_mod.AgentSettings, settings_mod.FABRIC_PREFIX)
    if agent_class:
        from agentcore.remoting import import_object

        try:
            cls = import_object(agent_class)
        except (ImportError, AttributeError, ValueError) as exc:
            raise cliutil.UsageError(f"cannot import {agent_class!r}: {exc}") from exc
        if getattr(cls, "config_prefix", ""):
            rows += settings_mod.explain(cls.Config, cls.config_prefix)
    if as_json:
        print(json.dumps(rows, indent=2, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("setting", "value", "source")
    for r in rows:
        table.add_row(r["env"], json.dumps(r["value"], default=str), r["source"])
    Console().print(table)


def main() -> None:
    cliutil.run(app, "agentcore", (AgentcoreError,))


if __name__ == "__main__":
    main()
