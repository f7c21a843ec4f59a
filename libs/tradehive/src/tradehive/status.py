"""The live status line of ``tradehive run`` and the end-of-replay summary, read through ``status()``."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import Pyro5.api
from agentcore import naming
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text


class StatusBoard:
    def __init__(self, ns_host: str, ns_port: int, replay: bool, live: bool = True) -> None:
        self.ns_host, self.ns_port, self.replay = ns_host, ns_port, replay
        self.console = Console()
        self.interactive = live
        self.summarised = False
        self._prev: tuple[float, int] | None = None
        self.rate = 0.0
        self.t0 = time.monotonic()

    def _status(self, name: str) -> dict[str, Any]:
        try:
            ns = naming.locate(self.ns_host, self.ns_port)
            with Pyro5.api.Proxy(ns.lookup(name)) as proxy:
                proxy._pyroTimeout = 2.0
                return dict(proxy.status())
        except Exception:  # noqa: BLE001 - an agent restarting shows as unknown for a moment
            return {}

    def poll(self) -> dict[str, dict[str, Any]]:
        naming.configure_pyro(2.0)
        snap = {n: self._status(n) for n in ("feeder", "router", "trader", "brain-trend", "brain-regime")}
        ticks = int(snap["feeder"].get("published_ticks", 0))
        now = time.monotonic()
        if self._prev is not None and now > self._prev[0]:
            self.rate = (ticks - self._prev[1]) / (now - self._prev[0])
        self._prev = (now, ticks)
        return snap

    def finished(self, snap: dict[str, dict[str, Any]]) -> bool:
        return self.replay and bool(snap["feeder"].get("finished"))

    def line(self, snap: dict[str, dict[str, Any]]) -> Text:
        f, r, t = snap["feeder"], snap["router"], snap["trader"]
        prog = f.get("progress", {})
        parts = [f"{'replay' if self.replay else 'simulator'}"]
        if prog:
            parts.append(f"{100 * prog.get('fraction', 0):5.1f}% of {prog.get('ticks_total', 0):,} ticks")
        parts.append(f"ticks {f.get('published_ticks', 0):,} ({self.rate:,.0f}/s)")
        bars = sum(sum(s.get("bars", {}).values()) for s in r.get("symbols", {}).values())
        parts.append(f"bars {bars:,}")
        orders = t.get("orders", {})
        parts.append(f"orders {orders.get('total', 0)} fills {t.get('fills', 0)}")
        pnl = t.get("pnl", {})
        if pnl:
            parts.append("PnL " + ", ".join(f"{(v.get('net') or 0):+.2f} {c}" for c, v in pnl.items()))
        if t.get("kill_switch"):
            parts.append("[KILL SWITCH]")
        return Text(" | ".join(parts))

    def render(self, snap: dict[str, dict[str, Any]], rows: list[dict[str, Any]]) -> Group:
        table = Table("agent", "pid", "state", "restarts", box=None, pad_edge=False)
        for row in rows:
            table.add_row(row["name"], str(row["pid"] or ""), row["state"], str(row["restarts"]))
        return Group(table, self.line(snap))

    @contextlib.contextmanager
    def live(self) -> Iterator[Live | PlainStatus]:
        """A live display on a terminal; off a TTY or with ``--quiet``, a plain status line every 10 s."""
        if not self.interactive:
            yield PlainStatus(self.console)
            return
        with Live(Text("starting..."), console=self.console, refresh_per_second=2, transient=False) as live:
            yield live

    def print_summary(self, snap: dict[str, dict[str, Any]]) -> None:
        self.summarised = True
        f, r, t = snap["feeder"], snap["router"], snap["trader"]
        table = Table(title="Replay summary", show_header=False)
        table.add_row("wall time", f"{time.monotonic() - self.t0:.1f} s")
        table.add_row("ticks published", f"{f.get('published_ticks', 0):,}")
        table.add_row("ticks skipped (bad rows)", str(f.get("progress", {}).get("skipped", {})))
        for sym, s in r.get("symbols", {}).items():
            table.add_row(f"bars {sym}", ", ".join(f"{tf}: {n:,}" for tf, n in s.get("bars", {}).items()))
        table.add_row(
            "router gaps / backfilled", f"{r.get('sequence_gaps', 0)} / {r.get('backfilled_ticks', 0)}"
        )
        table.add_row("orders", str(t.get("orders", {})))
        table.add_row("fills", str(t.get("fills", 0)))
        table.add_row("positions", str({k: v.get("qty") for k, v in t.get("positions", {}).items()}))
        for cur, v in t.get("pnl", {}).items():
            table.add_row(
                f"PnL {cur}", ", ".join(f"{k} {val:+.2f}" for k, val in v.items() if val is not None)
            )
        table.add_row("risk rejections", str({k: n for k, n in t.get("risk_rejections", {}).items() if n}))
        self.console.print(table)


class PlainStatus:
    """The quiet/non-TTY stand-in for :class:`rich.live.Live`: prints the status line (the last part of what it
    is given) at most every ``interval`` seconds, no cursor movement, so logs and pipes stay readable."""

    def __init__(self, console: Console, interval: float = 10.0) -> None:
        self.console, self.interval = console, interval
        self._last = 0.0

    def update(self, renderable: Any) -> None:
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        self._last = now
        line = renderable.renderables[-1] if isinstance(renderable, Group) else renderable
        self.console.print(line, soft_wrap=True)

    def start(self) -> None:
        self._last = 0.0

    def stop(self) -> None:
        pass
