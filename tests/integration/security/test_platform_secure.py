"""The whole platform with security on replays a real FXCM day to fills; nothing legitimate is refused, and a
peer without keys gets nothing out of it (Pyro refused, ticks/executions/orders refused), each counted."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import Pyro5.api
import pytest
import zmq
from agentcore import naming, security, wire
from agentcore.client import request
from agentcore.launcher import Launcher
from agentcore.testing import free_port, wait_until
from tradehive import protocol as p
from tradehive.platform import build_topology

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]


def _one_day(data_dir: Path, tmp_path: Path) -> Path:
    day = tmp_path / "fxcm" / "tick" / "eurusd"
    day.mkdir(parents=True)
    (day / "20140508_quote.zip").symlink_to(data_dir / "fxcm" / "tick" / "eurusd" / "20140508_quote.zip")
    return tmp_path / "fxcm" / "tick"


def _call(port: int, name: str, method: str, *args: Any) -> Any:
    with Pyro5.api.Proxy(naming.locate("127.0.0.1", port).lookup(name)) as proxy:
        return getattr(proxy, method)(*args)


def test_secured_platform_replays_real_data_to_fills(keydir: Path, data_dir: Path, tmp_path: Path,
                                                     refused: Any) -> None:  # fmt: skip
    naming.configure_pyro(30.0)
    port = free_port()
    topo = build_topology(data=str(_one_day(data_dir, tmp_path)), tz="-05:00", speed="2500", ns_port=port,
                          trend_params={"fast": 5, "slow": 13}, security_dir=str(keydir))  # fmt: skip
    launcher = Launcher(topo, live=False)
    try:
        launcher.start_all()  # the launcher (this process) is the operator
        done = wait_until(lambda: (f := _call(port, "feeder", "status")).get("finished") and f, 300, interval=0.5,
                          message="replay finished")  # fmt: skip
        assert done["published_ticks"] > 100_000
        wait_until(lambda: _call(port, "trader", "status")["fills"] >= 10, 60, message="fills")
        trader = _call(port, "trader", "status")
        brain = _call(port, "brain-trend", "status")
        assert trader["errors"] == 0 and brain["errors"] == 0, (trader["last_errors"], brain["last_errors"])
        assert brain["duplicates"] == 0 and trader["duplicates"] == 0
        # an operator reads history over CURVE (router.history admits operators)
        bars = request(
            f"router.{p.ROUTER_HISTORY}",
            p.encode(
                p.BarHistoryRequest(symbol="EURUSD", timeframe="1m", price="bid", start_ns=0, end_ns=2**62)
            ),
            ns_port=port,
            timeout=30,
        )
        assert len(bars) > 1000
        # nothing legitimate was refused anywhere
        urls = {n: _call(port, n, "status")["metrics_url"] for n in topo.agents}
        assert {n: refused(u) for n, u in urls.items()} == {n: {} for n in topo.agents}
        # a peer without keys: the router's market data and the trader's executions and orders
        ns = naming.locate("127.0.0.1", port)
        eps = {
            n: naming.parse_endpoint_tags(ns.lookup(n, return_metadata=True)[1]) for n in ("router", "trader")
        }
        security.deconfigure()
        with pytest.raises(Exception):  # noqa: B017 - no certificate: the name server refuses the handshake
            naming.locate("127.0.0.1", port).lookup("trader")
        ctx = zmq.Context()
        socks = []
        for name, alias, kind in (("router", "market", zmq.SUB), ("trader", "events", zmq.SUB),
                                  ("trader", "orders", zmq.DEALER)):  # fmt: skip
            s = ctx.socket(kind)
            s.linger = 0
            if kind == zmq.SUB:
                s.setsockopt(zmq.SUBSCRIBE, b"")
            s.connect(eps[name][alias][1])
            socks.append(s)
        socks[2].send_multipart(
            wire.encode("", {"symbol": "EURUSD", "side": "BUY", "qty": 100000}, sender="x", seq=1)
        )
        time.sleep(1.0)
        assert [s for s in socks if s.poll(100)] == []
        for s in socks:
            s.close(linger=0)
        ctx.term()
        security.configure_process(str(keydir), "operator")
        nokey = ("no_curve", "handshake")  # libzmq reports a peer without CURVE with or without detail

        def have(c: dict[tuple[str, str], float], sock: str) -> bool:
            return any(c.get((sock, r), 0) >= 1 for r in nokey)

        wait_until(lambda: have(refused(urls["router"]), "market"), 20, message="router refusals")
        wait_until(lambda: (c := refused(urls["trader"])) and have(c, "orders") and have(c, "events"), 20,
                   message="trader refusals")  # fmt: skip
    finally:
        security.configure_process(str(keydir), "operator")
        launcher.stop_all()
        security.deconfigure()
