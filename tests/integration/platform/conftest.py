"""Fixtures that run the trading platform's real agents as local processes on a private name server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tradehive.testing import PlatformStarter


@pytest.fixture
def platform() -> Iterator[PlatformStarter]:
    """``platform({name: AgentSpec}, later={...})`` starts a name server and the agents (tradehive.testing);
    all are stopped at teardown."""
    starter = PlatformStarter()
    yield starter
    starter.stop()
