"""A message over ``ZMQ_MAXMSGSIZE`` (``AGENTCORE_MAX_MSG_SIZE``) is refused by libzmq before it is allocated:
the peer is dropped, the loop never sees it, and the drop is counted as a lost peer of that socket
(``agentcore_peer_disconnects_total{alias}``): libzmq 4.3 reports an oversized message as a plain disconnect,
nothing more specific (agentcore.monitor, docs/security.md). The peer reconnects and its next message arrives."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest
import zmq
from agentcore import wire
from agentcore.testing import wait_until
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def _scraped(url: str, name: str, alias: str) -> float:
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback test URL
        body = resp.read().decode()
    return sum(
        s.value
        for fam in text_string_to_metric_families(body)
        for s in fam.samples
        if s.name == name and s.labels.get("alias") == alias
    )


def test_oversized_message_is_dropped_counted_and_the_loop_lives(agents: Any) -> None:
    sink = agents.spawn("sink", settings={"max_msg_size": 4096}).proxy()
    endpoint = sink.bind_alias("PULL", "in")
    peer = zmq.Context.instance().socket(zmq.PUSH)
    peer.linger = 0
    try:
        peer.connect(endpoint)
        peer.send_multipart(wire.encode("", b"x" * 100_000, sender="big", seq=1))
        wait_until(
            lambda: sink.status()["sockets"]["in"]["peer_disconnects"] >= 1, 20, message="the drop counted"
        )
        peer.send_multipart(wire.encode("", {"i": 1}, sender="big", seq=2))  # after its reconnect
        wait_until(lambda: sink.summary("in")["counts"].get("in", 0) >= 1, 20, message="the next message")
        st = sink.status()
        assert st["sockets"]["in"]["received"] == 1 and st["errors"] == 0
        assert st["sockets"]["in"]["malformed"] == {}  # never reached the decoder
        assert _scraped(st["metrics_url"], "agentcore_peer_disconnects_total", "in") >= 1
    finally:
        peer.close()
