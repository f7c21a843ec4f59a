"""Start the chart: a Qt application, the viz agent in its own thread, the control thread, the window.

``tradehive viz`` and ``make viz`` call :func:`main`; tests build a :class:`VizApp` inside pytest-qt's
application and close it at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")  # never another binding that happens to be installed

from agentcore import logs  # noqa: E402
from agentcore.settings import FABRIC_PREFIX, AgentSettings, from_env  # noqa: E402

from tradehive_viz.agent import VizAgent, VizConfig  # noqa: E402


class VizApp:
    """The agent thread, the control thread and the window, wired through one bridge."""

    def __init__(self, config: VizConfig, settings: AgentSettings, name: str = "") -> None:
        from tradehive_viz.bridge import Bridge
        from tradehive_viz.controls import Controls
        from tradehive_viz.window import MainWindow

        self.bridge = Bridge()
        self.agent = VizAgent(name or f"viz-{os.getpid()}", settings=settings, config=config)
        self.agent.sink = self.bridge
        self.controls = Controls(settings.ns_host, settings.ns_port, self.bridge, interval_s=config.status_interval_s,
                                 comm_timeout=settings.comm_timeout, network=settings.network)  # fmt: skip
        self.window = MainWindow(self.agent, self.controls, self.bridge, stale_after_s=config.stale_after_s)
        self.exit_code: int | None = None
        self._thread = threading.Thread(target=self._run_agent, name="viz-agent", daemon=True)

    def _run_agent(self) -> None:
        self.exit_code = self.agent.run()

    def start(self) -> VizApp:
        self._thread.start()
        self.controls.start()
        self.window.show()
        return self

    def close(self) -> None:
        self.window.timer.stop()
        self.window.health_timer.stop()
        self.agent.request_stop()
        self.controls.stop()
        self._thread.join(timeout=10)
        self.window.close()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="tradehive viz", description="Live chart of a running Tradehive platform."
    )
    ap.add_argument("--symbol", default="", help="symbol to show first (default: the router's first)")
    ap.add_argument("--timeframe", default="1m")
    ap.add_argument("--price", default="mid", help="bid | ask | mid | last")
    ap.add_argument("--router", default="", help="router agent name (default: the first found)")
    ap.add_argument("--history-bars", type=int, default=20_000)
    ap.add_argument("--ns-host", default=None, help="name server host (AGENTCORE_NS_HOST)")
    ap.add_argument("--ns-port", type=int, default=None, help="name server port (AGENTCORE_NS_PORT)")
    ap.add_argument(
        "--screenshot", default="", help="save a PNG of the window after --after seconds, then quit"
    )
    ap.add_argument("--after", type=float, default=5.0)
    ap.add_argument("--shots", type=int, default=1, help="with --screenshot: this many PNGs, --every s apart")
    ap.add_argument("--every", type=float, default=1.5)
    return ap.parse_args(argv)


def build_settings(
    args: argparse.Namespace, environ: dict[str, str] | None = None
) -> tuple[VizConfig, AgentSettings]:
    env = dict(os.environ if environ is None else environ)
    settings = from_env(AgentSettings, FABRIC_PREFIX, env)
    changes: dict[str, Any] = {}
    if args.ns_host:
        changes["ns_host"] = args.ns_host
    if args.ns_port:
        changes["ns_port"] = args.ns_port
    import msgspec

    settings = msgspec.structs.replace(settings, **changes)
    config = from_env(VizConfig, VizAgent.config_prefix, env)
    config = msgspec.structs.replace(config, history_bars=args.history_bars, timeframe=args.timeframe,
                                     price=args.price, **({"symbol": args.symbol} if args.symbol else {}),
                                     **({"router": args.router} if args.router else {}))  # fmt: skip
    return config, settings


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    config, settings = build_settings(args)
    logs.configure(settings.log_level if settings.log_level != "info" else "warning", settings.log_format)
    from pyqtgraph.Qt import QtCore, QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("Tradehive chart")
    viz = VizApp(config, settings).start()
    if args.screenshot:
        shots = {"n": 0}

        def shoot() -> None:
            k = shots["n"]
            path = args.screenshot if args.shots == 1 else args.screenshot.replace(".png", f"-{k}.png")
            viz.window.chart.refresh()
            viz.window.grab().save(path)
            with open(path + ".json", "w") as fh:
                json.dump(viz.window.candle_geometry(), fh)
            shots["n"] += 1
            if shots["n"] >= args.shots:
                app.quit()
            else:
                QtCore.QTimer.singleShot(int(args.every * 1000), shoot)

        QtCore.QTimer.singleShot(int(args.after * 1000), shoot)
    try:
        code = app.exec()
    finally:
        viz.close()
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
