"""An agent that fails before its registrar started (e.g. no name server) stops without a second error: stopping
a registrar that never ran used to raise ``RuntimeError: cannot join thread before it is started``, which replaced
the agent's real failure with exit code 70."""

from __future__ import annotations

import structlog
from agentcore.registrar import Registrar
from agentcore.settings import AgentSettings
from agentcore.testing import free_port


def test_stop_without_start_is_quiet() -> None:
    settings = AgentSettings(ns_host="127.0.0.1", ns_port=free_port(), comm_timeout=0.5)
    reg = Registrar("a1", "PYRO:a1@127.0.0.1:1", settings, structlog.get_logger(), lambda ok: None,
                    lambda alias, ep: None)  # fmt: skip
    reg.stop(unregister=True)  # no name server there either: nothing to remove, nothing raised
    assert not reg.registered
