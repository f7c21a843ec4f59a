"""A real platform (name server, feeder replaying recorded FXCM ticks, router, trader, a trading brain) shared by
the chart's tests of one module, and the chart itself built inside pytest-qt's QApplication (offscreen)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import Pyro5.api  # noqa: E402
import pytest  # noqa: E402
from agentcore import naming, process  # noqa: E402
from agentcore.client import request  # noqa: E402
from agentcore.nameserver import NameServerProcess  # noqa: E402
from agentcore.settings import AgentSettings  # noqa: E402
from agentcore.testing import free_port, wait_until  # noqa: E402
from tradehive import protocol as p  # noqa: E402
from tradehive.platform import BRAIN, FEEDER, ROUTER, TRADER  # noqa: E402

ROUTER_CONFIG = {"timeframes": ["1m", "1h"], "prices": ["mid", "bid"], "session": "-05:00"}


class Stack:
    """The running agents plus helpers: status, remote calls, the router's bars, kill/restart of the router."""

    def __init__(self, ns: NameServerProcess, settings: dict[str, Any]) -> None:
        self.ns, self.settings = ns, settings
        self.procs: dict[str, Any] = {}

    def spawn(self, name: str, cls: str, config: dict[str, Any]) -> Any:
        self.procs[name] = process.spawn(cls, name, settings=self.settings, config=config, timeout=60)
        return self.procs[name]

    def call(self, name: str, method: str, *args: Any) -> Any:
        ns = naming.locate(self.ns.host, self.ns.port)
        with Pyro5.api.Proxy(ns.lookup(name)) as proxy:
            return getattr(proxy, method)(*args)

    def status(self, name: str) -> dict[str, Any]:
        return dict(self.call(name, "status"))

    def bars(self, symbol: str = "EURUSD", timeframe: str = "1m", price: str = "mid", **kw: Any) -> Any:
        req = p.BarHistoryRequest(symbol=symbol, timeframe=timeframe, price=price, **kw)
        reply = request(f"router.{p.ROUTER_HISTORY}", p.encode(req), ns_host=self.ns.host, ns_port=self.ns.port,
                        timeout=20.0)  # fmt: skip
        assert not isinstance(reply, bytes), p.decode(reply)
        return reply

    def restart_nameserver(self) -> None:
        """Stop the name server and start a new one on the same port (agents re-register by themselves)."""
        self.ns.stop()
        self.ns = NameServerProcess(self.ns.host, self.ns.port, timeout=30.0)

    def restart_router(self) -> None:
        self.spawn("router", ROUTER, ROUTER_CONFIG)

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            try:
                proc.stop()
            except Exception:  # noqa: BLE001 - teardown goes on
                proc.kill()


@pytest.fixture(scope="module")
def stack(data_dir: Path) -> Iterator[Stack]:
    naming.configure_pyro(10.0)
    ns = NameServerProcess("127.0.0.1", free_port(), timeout=30.0)
    st = Stack(ns, {"ns_host": ns.host, "ns_port": ns.port, "log_level": "warning"})
    try:
        st.spawn(
            "feeder",
            FEEDER,
            {
                "data_dir": str(data_dir / "fxcm" / "tick"),
                "symbols": ["EURUSD"],
                "speed": "300",
                "start": "2014-05-08T05:00:00",
                "end": "2014-05-09T05:00:00",
            },
        )
        st.spawn("router", ROUTER, ROUTER_CONFIG)
        st.spawn("trader", TRADER, {})
        st.spawn("brain-trend", BRAIN, {"strategy": "ema_cross", "symbols": ["EURUSD"], "timeframe": "1m",
                                        "price": "mid", "params": {"fast": 5, "slow": 13}})  # fmt: skip
        # a fast start (history and some trades), then slow enough (a 1m bar per second) that a test sees single
        # ticks and bars
        # (what the router recovers at its join is history, not live: the brain trades on the live bars after it)
        wait_until(lambda: st.status("brain-trend")["bars"] >= 60, 120, message="brain trading on live bars")
        st.call("feeder", "set_speed", "60")
        yield st
    finally:
        st.stop()
        st.ns.stop()


@pytest.fixture
def viz(qtbot: Any, stack: Stack) -> Iterator[Any]:
    from tradehive_viz.agent import VizConfig
    from tradehive_viz.app import VizApp

    settings = AgentSettings(ns_host=stack.ns.host, ns_port=stack.ns.port, log_level="warning")
    app = VizApp(
        VizConfig(symbol="EURUSD", timeframe="1m", price="mid", stale_after_s=4.0), settings, name="viz-test"
    )
    qtbot.addWidget(app.window)
    app.start()
    try:
        qtbot.waitUntil(
            lambda: app.window.loaded_view is not None and len(app.window.chart.series) > 0, timeout=30_000
        )
        yield app
    finally:
        app.close()
