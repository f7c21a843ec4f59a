"""Changing a live agent's behaviour by naming an importable handler (never by shipping code)."""

from __future__ import annotations

from typing import Any

import pytest
from agentcore.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def test_set_handler_swaps_in_a_named_function(agents: Any) -> None:
    pub = agents.spawn("pub").proxy()
    sub = agents.spawn("sub").proxy()
    pub.bind_alias("PUB", "out")
    sub.connect_alias("pub.out", alias="feed", topics=["tick"])
    wait_until(lambda: pub.send_many("out", 1, topic="tick.x") and sub.summary("feed")["counts"].get("feed", 0), 30,
               message="subscription live")  # fmt: skip
    sub.set_handler("feed", "agentcore.testing:named_handler", "tick")
    sub.clear()
    pub.send_many("out", 10, topic="tick.x")
    wait_until(lambda: sub.summary("feed")["counts"].get("feed", 0) >= 10, 20, message="10 messages")
    keys = {r[1] for r in sub.summary("feed")["records"]}
    assert keys == {"named"}
    with pytest.raises(Exception, match="cannot import handler"):
        sub.set_handler("feed", "agentcore.testing:no_such_function", "tick")
    assert sub.status()["errors"] >= 0  # the agent is alive and answering after the refused swap
