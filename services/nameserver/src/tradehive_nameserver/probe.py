"""Readiness probe of the name server (image HEALTHCHECK, k8s readinessProbe): a Pyro ping on its port.

``python -m tradehive_nameserver.probe`` exits 0 when the name server on ``127.0.0.1:$AGENTCORE_NS_PORT``
answers within ``--timeout`` seconds, 1 otherwise (with the reason on stderr).
"""

from __future__ import annotations

import argparse
import os
import sys

from agentcore import naming


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tradehive_nameserver.probe", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("AGENTCORE_NS_PORT", "9090")))
    parser.add_argument("--timeout", type=float, default=2.0)
    args = parser.parse_args(argv)
    naming.configure_pyro(args.timeout)
    try:
        naming.locate(args.host, args.port).ping()
    except Exception as exc:  # noqa: BLE001 - any failure is "not ready", reported plainly
        print(f"name server {args.host}:{args.port} not ready: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
