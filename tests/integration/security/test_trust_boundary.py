"""Who may talk to whom, with security on: real TLS name server, real agent processes, real CURVE handshakes."""

from __future__ import annotations

import time
from typing import Any

import pytest
import zmq
from agentcore import naming, security, wire
from agentcore.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def _proxy(uri: str) -> Any:
    import Pyro5.api

    p = Pyro5.api.Proxy(uri)
    p._pyroTimeout = 5.0
    return p


def test_pyro_without_certificate_is_refused_and_counted(secure: Any, refused: Any) -> None:
    trader = secure.spawn("trader", "trader")
    secure.as_identity(None)  # a peer without keys
    with pytest.raises(Exception):  # noqa: B017 - TLS refuses the handshake (ssl or Pyro error)
        _proxy(trader.uri).status()
    with pytest.raises(Exception):  # noqa: B017
        naming.locate(secure.factory.ns.host, secure.factory.ns.port).ping()
    secure.as_identity("operator")
    url = _proxy(trader.uri).status()["metrics_url"]
    counts = wait_until(lambda: refused(url), 10, message="refusal counted")
    assert sum(n for (sock, _r), n in counts.items() if sock == "pyro") >= 1


def test_agent_certificate_cannot_steer_operator_can(secure: Any, refused: Any) -> None:
    trader = secure.spawn("trader", "trader")
    secure.as_identity("brain")  # an agent's certificate
    p = _proxy(trader.uri)
    assert p.status()["name"] == "trader"  # reading is allowed
    assert p.ping() == "pong"
    for method, args in (("stop", ()), ("set_attr", ("x", 1)), ("set_handler", ("a", "b")),
                         ("bind_alias", ("PUB", "evil"))):  # fmt: skip
        with pytest.raises(Exception, match="needs an operator certificate"):
            getattr(_proxy(trader.uri), method)(*args)
    secure.as_identity("operator")
    p = _proxy(trader.uri)
    st = p.status()
    assert "evil" not in st["sockets"]  # nothing the agent certificate asked for happened
    counts = refused(st["metrics_url"])
    assert counts[("pyro", "not_operator")] == 4
    assert p.bind_alias("PUB", "ok").startswith("tcp://")  # an operator steers
    p.stop()
    wait_until(lambda: not trader.alive(), 15, message="stopped by the operator")


def _raw(
    ctx: zmq.Context[Any], kind: int, endpoint: str, keys: tuple[bytes, bytes] | None, server: bytes
) -> Any:
    sock = ctx.socket(kind)
    sock.linger = 0
    if keys is not None:
        sock.curve_publickey, sock.curve_secretkey = keys
        sock.curve_serverkey = server
    if kind == zmq.SUB:
        sock.setsockopt(zmq.SUBSCRIBE, b"")
    sock.connect(endpoint)
    return sock


def _endpoint_and_key(name: str, alias: str) -> tuple[str, bytes]:
    ns = naming.locate("127.0.0.1", security_ns_port())
    _uri, meta = ns.lookup(name, return_metadata=True)
    _pattern, endpoint = naming.parse_endpoint_tags(meta)[alias]
    key = next(t for t in meta if t.startswith(security.CURVE_TAG))[len(security.CURVE_TAG) :]
    return endpoint, key.encode()


_NS_PORT: list[int] = []


def security_ns_port() -> int:
    return _NS_PORT[-1]


def test_zeromq_allow_lists(secure: Any, refused: Any) -> None:
    """Roles the policy lists get data; no keys, unknown keys and other roles' keys are refused and counted."""
    _NS_PORT.append(secure.factory.ns.port)
    feeder = secure.spawn("feeder", "feeder").proxy()
    trader = secure.spawn("trader", "trader").proxy()
    router = secure.spawn("router", "router").proxy()
    feeder.bind_alias("PUB", "ticks")
    trader.bind_alias("ROUTER", "orders")
    trader.bind_alias("PUB", "events")
    router.connect_alias("feeder.ticks", alias="ticks")  # allowed: routers read feeders' ticks
    wait_until(lambda: feeder.send_data("ticks", {"p": 1}, "tick.EURUSD") and
               router.summary("ticks")["counts"].get("ticks", 0) > 0, 20, message="router gets ticks")  # fmt: skip
    # a router may not send orders: the handshake is refused by the trader's ZAP handler
    router.connect_alias("trader.orders", alias="orders")
    ticks_ep, feeder_key = _endpoint_and_key("feeder", "ticks")
    orders_ep, trader_key = _endpoint_and_key("trader", "orders")
    events_ep, _ = _endpoint_and_key("trader", "events")
    stranger = zmq.curve_keypair()
    ctx = zmq.Context()
    try:
        socks = [
            _raw(ctx, zmq.SUB, ticks_ep, None, feeder_key),  # no keys: market data
            _raw(ctx, zmq.SUB, events_ep, None, trader_key),  # no keys: executions
            _raw(ctx, zmq.DEALER, orders_ep, None, trader_key),  # no keys: orders
            _raw(ctx, zmq.DEALER, orders_ep, stranger, trader_key),  # unknown key: orders
            _raw(ctx, zmq.SUB, ticks_ep, stranger, feeder_key),  # unknown key: ticks
        ]
        for s in socks[2:4]:
            s.send_multipart(wire.encode("", {"intent": "buy"}, sender="evil", seq=1))
        deadline = time.monotonic() + 3
        got = []
        while time.monotonic() < deadline:
            feeder.send_data("ticks", {"p": 2}, "tick.EURUSD")
            trader.send_data("events", {"e": 1}, "exec.trader")
            got += [s for s in socks if s.poll(50)]
        assert got == []  # nothing reached a peer without an admitted key
        router = secure.factory.procs[-1].proxy()  # Pyro closes connections idle for comm_timeout
        trader = secure.factory.procs[1].proxy()
        feeder = secure.factory.procs[0].proxy()
        router.send_data("orders", {"intent": "buy"})
        time.sleep(0.5)
        assert trader.summary("orders")["counts"].get("orders", 0) == 0  # no order arrived from anyone
        f_url, t_url = feeder.status()["metrics_url"], trader.status()["metrics_url"]
        nokey = ("no_curve", "handshake")  # a peer without CURVE: libzmq reports it with or without detail

        def have(counts: dict[tuple[str, str], float], sock: str, reasons: tuple[str, ...]) -> bool:
            return any(counts.get((sock, r), 0) >= 1 for r in reasons)

        f = wait_until(lambda: (c := refused(f_url)) and have(c, "ticks", nokey) and
                       have(c, "ticks", ("unknown_key",)) and c, 20, message="feeder refusals")  # fmt: skip
        wait_until(lambda: (c := refused(t_url)) and have(c, "orders", nokey) and have(c, "events", nokey)
                   and have(c, "orders", ("unknown_key",)) and have(c, "orders", ("role_not_allowed",)),
                   20, message="trader refusals")  # fmt: skip
        assert f
    finally:
        for s in socks:
            s.close(linger=0)
        ctx.term()
