"""Every socket pattern between real agent processes, over tcp and ipc, found through a real name server."""

from __future__ import annotations

from typing import Any

import pytest
from agentcore.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

TRANSPORTS = ["tcp", "ipc"]


def _settings(transport: str, ipc_dir: str) -> dict[str, Any]:
    return {"transport": transport, "ipc_dir": ipc_dir}


def _count(proxy: Any, alias: str) -> int:
    return int(proxy.summary(alias)["counts"].get(alias, 0))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pub_sub_per_topic_handlers(agents: Any, ipc_dir: str, transport: str) -> None:
    pub = agents.spawn("pub", settings=_settings(transport, ipc_dir)).proxy()
    sub = agents.spawn("sub", settings=_settings(transport, ipc_dir)).proxy()
    endpoint = pub.bind_alias("PUB", "out")
    assert endpoint.startswith(f"{transport}://")
    sub.connect_alias("pub.out", alias="feed", topics=["tick", "tick.eur", "bar"])
    # slow joiner: publish a warm-up topic until the subscription has reached the publisher
    wait_until(lambda: pub.send_many("out", 1, topic="bar.warmup") and _count(sub, "feed") > 0, 30,
               message="subscription live")  # fmt: skip
    sub.clear()
    pub.send_many("out", 50, topic="tick.gbpusd")
    pub.send_many("out", 30, topic="tick.eurusd")
    pub.send_many("out", 20, topic="bar.1m")
    pub.send_many("out", 40, topic="news")  # not subscribed: never delivered
    wait_until(lambda: _count(sub, "feed") >= 100, 20, message="100 messages")
    summary = sub.summary("feed")
    handled: dict[tuple[str, str], int] = {}
    for _alias, key, topic, sender, _seq, data in summary["records"]:
        assert sender == "pub"
        assert isinstance(data, dict) and "i" in data
        handled[(key, topic)] = handled.get((key, topic), 0) + 1
    assert handled == {("tick", "tick.gbpusd"): 50, ("tick.eur", "tick.eurusd"): 30, ("bar", "bar.1m"): 20}
    # order and sequence numbers per topic are intact
    gbp = [r for r in summary["records"] if r[2] == "tick.gbpusd"]
    assert [r[5]["i"] for r in gbp] == list(range(50))
    assert [r[4] for r in gbp] == sorted(r[4] for r in gbp)
    st = sub.status()["sockets"]["feed"]
    assert st["sequence_gaps"] == 0 and st["malformed"] == {}
    assert pub.status()["sockets"]["out"]["sent"] >= 140


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_push_pull_with_numpy(agents: Any, ipc_dir: str, transport: str) -> None:
    sink = agents.spawn("sink", settings=_settings(transport, ipc_dir)).proxy()
    src = agents.spawn("src", settings=_settings(transport, ipc_dir)).proxy()
    sink.bind_alias("PULL", "in")
    src.connect_alias("sink.in", alias="out")
    assert src.send_many("out", 200) == 200
    sent = [src.send_array("out", kind, 1000) for kind in ("f8", "i4x2", "ticks", "be")]
    wait_until(lambda: _count(sink, "in") >= 204, 20, message="204 messages")
    records = sink.summary("in")["records"]
    assert [r[5]["i"] for r in records[:200]] == list(range(200))  # PUSH/PULL keeps order from one sender
    arrays = [r[5] for r in records[200:]]
    for got, want in zip(arrays, sent, strict=True):
        assert got["ndarray"]
        assert (got["dtype"], got["descr"], got["shape"], got["sum"]) == (
            want["dtype"], want["descr"], want["shape"], want["sum"])  # fmt: skip
    assert arrays[1]["shape"] == [1000, 2]
    assert arrays[2]["sum"]["ts"] == float(sum(range(1000)) * 1_000_000)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_req_rep(agents: Any, ipc_dir: str, transport: str) -> None:
    server = agents.spawn("server", settings=_settings(transport, ipc_dir)).proxy()
    client = agents.spawn("client", settings=_settings(transport, ipc_dir)).proxy()
    server.bind_alias("REP", "api")
    client.connect_alias("server.api", alias="api")
    for i in range(20):
        assert client.ask("api", {"q": i}, 10.0) == {"reply": {"echo": {"q": i}, "by": "server"}}
    bad = client.ask("api", {"raise": "no such order"}, 10.0)
    assert bad["error"] == "RemoteError" and "ValueError: no such order" in bad["detail"]
    assert client.ask("api", {"q": "after"}, 10.0)["reply"]["echo"] == {"q": "after"}
    st = server.status()
    assert st["sockets"]["api"]["handler_errors"] == 1 and st["sockets"]["api"]["received"] == 22
    assert st["sockets"]["api"]["sent"] == 22


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_dealer_router(agents: Any, ipc_dir: str, transport: str) -> None:
    router = agents.spawn("router", settings=_settings(transport, ipc_dir)).proxy()
    d1 = agents.spawn("d1", settings=_settings(transport, ipc_dir)).proxy()
    d2 = agents.spawn("d2", settings=_settings(transport, ipc_dir)).proxy()
    router.bind_alias("ROUTER", "rpc")
    for d in (d1, d2):
        d.connect_alias("router.rpc", alias="rpc")
    d1.send_many("rpc", 30, extra={"who": "d1"})
    d2.send_many("rpc", 20, extra={"who": "d2"})
    wait_until(lambda: _count(d1, "rpc") >= 30 and _count(d2, "rpc") >= 20, 20, message="replies")
    for d, who, n in ((d1, "d1", 30), (d2, "d2", 20)):
        recs = d.summary("rpc")["records"]
        assert len(recs) == n  # each dealer gets exactly its own replies
        assert all(r[5]["by"] == "router" and r[5]["echo"]["who"] == who for r in recs)
        assert [r[5]["echo"]["i"] for r in recs] == list(range(n))
    assert _count(router, "rpc") == 50
