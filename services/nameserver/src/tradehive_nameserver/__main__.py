"""``python -m tradehive_nameserver``: the name server of a container or pod, configured from ``AGENTCORE_NS_*``."""

from __future__ import annotations

import sys

from agentcore import logs
from agentcore.errors import ConfigError
from agentcore.nameserver import serve

from tradehive_nameserver.settings import from_env


def main() -> int:
    try:
        settings = from_env()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level, settings.log_format)
    logs.bind_agent("nameserver", "nameserver")
    try:
        serve(
            settings.host,
            settings.port,
            settings.advertise,
            settings.storage or None,
            settings.comm_timeout,
            security_dir=settings.security_dir,
        )
    except KeyboardInterrupt:  # SIGTERM (serve turns it into an interrupt) or Ctrl-C: a clean stop
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
