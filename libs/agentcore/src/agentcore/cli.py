"""The ``agentcore`` command: nameserver, up, ps, call, stop, shell."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Any, Literal

import typer

from agentcore import naming
from agentcore.errors import AgentcoreError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Run and control agentcore agents.")

ShellUI = Literal["auto", "ipython", "ptpython", "python"]


def _keys_app() -> typer.Typer:
    from agentcore.keys_cli import app as keys_app

    return keys_app


app.add_typer(_keys_app(), name="keys", help="Key material: CA, certificates, Curve key pairs, k8s Secrets.")

NsHost = Annotated[str, typer.Option("--ns-host", envvar="AGENTCORE_NS_HOST", help="name server host")]
NsPort = Annotated[int, typer.Option("--ns-port", envvar="AGENTCORE_NS_PORT", help="name server port")]


def _proxy(name: str, ns_host: str, ns_port: int) -> Any:
    from agentcore.proxy import AgentProxy

    timeout = float(os.environ.get("AGENTCORE_COMM_TIMEOUT", "5"))
    naming.configure_pyro(timeout)
    return AgentProxy(name, ns_host, ns_port, timeout=timeout, reconnect_wait=0)


@app.command()
def nameserver(
    host: Annotated[str, typer.Option(envvar="AGENTCORE_NS_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="AGENTCORE_NS_PORT")] = 9090,
    advertise: Annotated[
        str, typer.Option(envvar="AGENTCORE_NS_ADVERTISE", help="host published in URIs")
    ] = "",
    storage: Annotated[str, typer.Option(help="persistent storage, e.g. sql:/path/ns.sqlite")] = "",
    security_dir: Annotated[
        str,
        typer.Option(envvar="AGENTCORE_SECURITY_DIR", help="keys directory: TLS with client certificates"),
    ] = "",
) -> None:
    """Start a Pyro5 name server (multiplexed, broadcast off)."""
    from agentcore.nameserver import serve

    serve(host, port, advertise, storage or None, security_dir=security_dir)


@app.command()
def up(
    topology: Annotated[str, typer.Argument(help="topology file (YAML or TOML)")],
    quiet: Annotated[bool, typer.Option(help="no live table")] = False,
) -> None:
    """Start the name server and every agent of TOPOLOGY; restart crashed agents; Ctrl-C stops all."""
    from agentcore.launcher import Launcher, load_topology

    launcher = Launcher(load_topology(topology), live=not quiet and sys.stdout.isatty())
    raise typer.Exit(launcher.run())


@app.command()
def ps(ns_host: NsHost = "127.0.0.1", ns_port: NsPort = 9090,
       as_json: Annotated[bool, typer.Option("--json")] = False) -> None:  # fmt: skip
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
    ns_host: NsHost = "127.0.0.1",
    ns_port: NsPort = 9090,
) -> None:
    """Call METHOD on agent NAME and print the JSON result."""
    try:
        with _proxy(name, ns_host, ns_port) as proxy:
            result = proxy.call(method, *[_parse_arg(a) for a in (args or [])])
    except Exception as exc:  # noqa: BLE001 - any failure is an error exit with a message
        print(f"agentcore call {name} {method}: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise typer.Exit(1) from exc
    print(json.dumps(result, default=str))


@app.command()
def stop(name: str, ns_host: NsHost = "127.0.0.1", ns_port: NsPort = 9090) -> None:
    """Ask agent NAME to stop gracefully."""
    call(name, "stop", [], ns_host, ns_port)


@app.command()
def shell(name: Annotated[str | None, typer.Argument()] = None, ns_host: NsHost = "127.0.0.1",
          ns_port: NsPort = 9090,
          ui: Annotated[ShellUI, typer.Option(help="auto: IPython or ptpython when installed")] = "auto",
          ) -> None:  # fmt: skip
    """An interactive Python with proxies to the live agents (``agents['name']``, ``a`` for NAME) that survive
    idle periods and agent restarts; readline history and Tab completion."""
    from agentcore.live import interactive_shell

    interactive_shell(name, ns_host, ns_port, ui)


def main() -> None:
    try:
        app()
    except AgentcoreError as exc:
        print(f"agentcore: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
