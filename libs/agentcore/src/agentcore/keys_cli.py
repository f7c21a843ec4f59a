"""``agentcore keys``: make and export the key material of a secured deployment (see :mod:`agentcore.keys`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True)


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="new keys directory")],
    policy: Annotated[
        Path | None, typer.Option(help="policy YAML: roles, operators, socket allow-lists")
    ] = None,
    roles: Annotated[str, typer.Option(help="comma-separated agent roles (without --policy)")] = "",
    operators: Annotated[str, typer.Option(help="comma-separated operator identities")] = "operator",
    force: Annotated[bool, typer.Option(help="replace an existing CA (every key changes)")] = False,
) -> None:
    """A CA, a certificate and a Curve key pair for the name server, every role and every operator."""
    from agentcore import keys

    pol = keys.init(
        directory, policy, [r for r in roles.split(",") if r], [o for o in operators.split(",") if o], force
    )
    print(f"keys for {', '.join(pol.identities())} in {directory} (keep {directory}/ca.key offline)")


@app.command()
def issue(
    directory: Annotated[Path, typer.Argument(help="keys directory holding ca.crt and ca.key")],
    identity: Annotated[str, typer.Argument(help="identity to (re)issue: rotates its certificate and keys")],
) -> None:
    """(Re)issue one identity of the policy: a new certificate and a new Curve key pair (key rotation)."""
    from agentcore import keys

    pol = keys.load_policy(directory / "policy.yaml")
    if identity not in pol.identities():
        print(f"{identity!r} is not in {directory}/policy.yaml; add it there first", file=sys.stderr)
        raise typer.Exit(2)
    home = keys.issue(
        directory, identity, operator=identity in pol.operators, sans=pol.sans_of(identity), days=pol.days
    )
    print(f"issued {identity} in {home}")


@app.command("k8s-secret")
def k8s_secret(
    directory: Annotated[Path, typer.Argument(help="keys directory")],
    namespace: Annotated[str, typer.Option(help="namespace of the Secrets")] = "",
    prefix: Annotated[str, typer.Option(help="Secret name prefix: <prefix>-<identity>")] = "agentcore-keys",
    out: Annotated[Path | None, typer.Option(help="write here instead of stdout")] = None,
) -> None:
    """Kubernetes Secrets, one per identity (its own keys + CA certificate + policy + public keys; no CA key)."""
    from agentcore import keys

    text = keys.k8s_secrets(directory, namespace, prefix)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text)
        out.chmod(0o600)
