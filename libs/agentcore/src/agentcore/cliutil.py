"""Command-line conventions shared by ``agentcore`` and the commands built on it (``tradehive``).

- ``--version`` (the installed distribution's version: the one place it is set is the workspace's ``VERSION``);
- shell completion (``--install-completion``, ``--show-completion``);
- ``--ns-host/--ns-port`` with the environment variables ``AGENTCORE_NS_HOST/PORT``;
- ``--json`` where the output is data;
- exit status: 0 success, 1 a failure at run time, 2 a usage or configuration error (one line, no traceback).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Annotated, NoReturn

import typer

from agentcore.errors import AgentcoreError, ConfigError

NsHost = Annotated[str, typer.Option("--ns-host", envvar="AGENTCORE_NS_HOST", help="name server host")]
NsPort = Annotated[int, typer.Option("--ns-port", envvar="AGENTCORE_NS_PORT", help="name server port")]
# old spellings kept working (CONTRACTS.md), hidden from help
HiddenHost = Annotated[str | None, typer.Option("--host", hidden=True, help="old spelling of --ns-host")]
HiddenPort = Annotated[int | None, typer.Option("--port", hidden=True, help="old spelling of --ns-port")]
JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable JSON on stdout")]


class UsageError(AgentcoreError):
    """A command was given arguments it cannot use: exit 2 with a one-line message."""


def version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


def make_app(prog: str, help: str, distribution: str | None = None) -> typer.Typer:
    """A Typer app with the shared conventions: completion on, ``-h``, ``--version``."""
    app = typer.Typer(
        name=prog,
        help=help,
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    def show_version(value: bool) -> None:
        if value:
            print(f"{prog} {version(distribution or prog)}")
            raise typer.Exit(0)

    @app.callback()
    def _root(
        _version: bool = typer.Option(  # noqa: B008 - Typer's default style: the callback is a local function
            False, "--version", "-V", callback=show_version, is_eager=True, help="print the version and exit"
        ),
    ) -> None:
        pass

    _root.__doc__ = help
    return app


def fail(prog: str, message: str, code: int = 1) -> NoReturn:
    print(f"{prog}: {message}", file=sys.stderr)
    raise SystemExit(code)


def run(
    app: Callable[..., object], prog: str, errors: Sequence[type[BaseException]] = (AgentcoreError,)
) -> None:
    """Run ``app``; known errors become one line on stderr: exit 2 for usage/config errors, 1 otherwise."""
    try:
        app(prog_name=prog)
    except (UsageError, ConfigError, typer.BadParameter) as exc:
        fail(prog, str(exc), 2)
    except tuple(errors) as exc:
        fail(prog, str(exc), 1)
