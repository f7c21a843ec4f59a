"""Agent hooks on the receive path: ``on_gap`` before the message that reveals missed ones (and for a stream
joined late), ``Refused`` answered with the wire error kind without counting a handler failure."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import zmq
from agentcore import wire
from agentcore.errors import Refused
from agentcore.metrics import SocketStats
from agentcore.sockets import Channel, TopicHandlers


@pytest.fixture()
def ctx() -> Iterator[zmq.Context[Any]]:
    c: zmq.Context[Any] = zmq.Context()
    yield c
    c.destroy(linger=0)


def drain_until(chan: Channel, sock: zmq.Socket[Any], n: int) -> int:
    got = 0
    for _ in range(200):
        got += chan.drain()
        if got >= n:
            break
        sock.poll(50)
    return got


@pytest.mark.timeout(20)
def test_on_gap_runs_before_the_message_and_for_a_late_join(ctx: zmq.Context[Any]) -> None:
    push, pull = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
    push.bind("inproc://gap")
    pull.connect("inproc://gap")
    events: list[tuple[str, Any, Any]] = []
    out = Channel(push, "out", "PUSH", SocketStats("out", "PUSH"), "src", None, lambda *_: None)
    inp = Channel(pull, "in", "PULL", SocketStats("in", "PULL"), "dst",
                  TopicHandlers({"": lambda m: events.append(("msg", m.topic, m.seq))}), lambda *_: None,
                  on_gap=lambda alias, m, last: events.append(("gap", m.seq, last)))  # fmt: skip
    out.next_seq("late")  # the first message on "late" is number 2: joined a running stream
    out.send(1, "late")
    out.send(1, "a")
    out.next_seq("a")
    out.next_seq("a")
    out.send(2, "a")  # numbers 2 and 3 lost
    out.send(3, "a")
    assert drain_until(inp, pull, 4) == 4
    assert events == [("gap", 2, None), ("msg", "late", 2), ("msg", "a", 1), ("gap", 4, 1), ("msg", "a", 4),
                      ("msg", "a", 5)]  # fmt: skip
    assert inp.stats.gaps == 2 and inp.last_seq("src", "a") == 5 and inp.last_seq("src", "b") is None


@pytest.mark.timeout(20)
def test_refused_is_an_error_reply_not_a_handler_failure(ctx: zmq.Context[Any]) -> None:
    rep, req = ctx.socket(zmq.REP), ctx.socket(zmq.REQ)
    rep.bind("inproc://refuse")
    req.connect("inproc://refuse")
    errors: list[BaseException] = []

    def handler(msg: wire.Message) -> Any:
        if msg.data == "bad":
            raise Refused("unknown symbol 'XYZ'")
        if msg.data == "boom":
            raise RuntimeError("boom")
        return "ok"

    chan = Channel(rep, "history", "REP", SocketStats("history", "REP"), "router",
                   TopicHandlers({"": handler}), lambda where, exc: errors.append(exc))  # fmt: skip
    replies = []
    for data in ("bad", "fine", "boom"):
        req.send_multipart(wire.encode("", data, sender="client", seq=1))
        assert drain_until(chan, rep, 1) == 1
        assert req.poll(2000)
        replies.append(wire.decode(req.recv_multipart()))
    assert [(m.kind, m.data) for m in replies] == [
        (wire.KIND_ERROR, "unknown symbol 'XYZ'"), (wire.KIND_MSGPACK, "ok"), (wire.KIND_ERROR, "RuntimeError: boom")
    ]  # fmt: skip
    assert chan.stats.handler_errors == 1 and [type(e) for e in errors] == [RuntimeError]


@pytest.mark.timeout(20)
def test_a_router_handler_answers_later_and_each_peer_gets_its_own(ctx: zmq.Context[Any]) -> None:
    """``reply_later``: a ROUTER handler returns None (nothing sent), the answers go out later, in any order,
    each to the dealer that asked; outside a handler it is an error."""
    from agentcore.errors import ConfigError

    router = ctx.socket(zmq.ROUTER)
    router.bind("inproc://later")
    dealers = {}
    for who in ("d1", "d2"):
        d = dealers[who] = ctx.socket(zmq.DEALER)
        d.connect("inproc://later")
    held: list[tuple[Any, Any]] = []
    chan: Channel

    def handler(msg: wire.Message) -> Any:
        held.append((msg.data, chan.reply_later()))
        return None

    chan = Channel(router, "orders", "ROUTER", SocketStats("orders", "ROUTER"), "trader",
                   TopicHandlers({"": handler}), lambda *_: None)  # fmt: skip
    for who, d in dealers.items():
        d.send_multipart(wire.encode("", who, sender=who, seq=1))
    assert drain_until(chan, router, 2) == 2
    assert all(not d.poll(100) for d in dealers.values())  # nothing answered yet
    for data, reply in reversed(held):
        assert reply(f"ack {data}")
    for who, d in dealers.items():
        assert d.poll(2000)
        assert wire.decode(d.recv_multipart()).data == f"ack {who}"
    with pytest.raises(ConfigError):
        chan.reply_later()
