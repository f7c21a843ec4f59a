"""The live status line of ``tradehive run`` and the end-of-replay summary, read through ``status()``.

Agents are discovered by role in the name server (no names are assumed) and each ``status()`` is read back into
its role's record (:mod:`tradehive.records`); several agents of one role are summed.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import Pyro5.api
from agentcore import naming
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from tradehive.records import FeederStatus, RouterStatus, StatusError, TraderStatus, read_status


@dataclass(frozen=True)
class Snapshot:
    """One poll: the records of every reachable agent of the roles the board shows, by agent name."""

    feeders: dict[str, FeederStatus] = field(default_factory=dict)
    routers: dict[str, RouterStatus] = field(default_factory=dict)
    traders: dict[str, TraderStatus] = field(default_factory=dict)

    @property
    def published_ticks(self) -> int:
        return sum(f.published_ticks for f in self.feeders.values())

    @property
    def finished(self) -> bool:
        """Every feeder finished its replay (and there is one)."""
        return bool(self.feeders) and all(f.finished for f in self.feeders.values())


class StatusBoard:
    def __init__(self, ns_host: str, ns_port: int, replay: bool, live: bool = True) -> None:
        self.ns_host, self.ns_port, self.replay = ns_host, ns_port, replay
        self.console = Console()
        self.interactive = live
        self.summarised = False
        self._prev: tuple[float, int] | None = None
        self.rate = 0.0
        self.t0 = time.monotonic()

    def _statuses(self, ns: Any, role: str) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name, (uri, meta) in sorted(naming.list_agents(ns, role).items()):
            try:
                with Pyro5.api.Proxy(naming.agent_uri(uri, meta)) as proxy:
                    proxy._pyroTimeout = 2.0
                    out[name] = dict(proxy.status())
            except Exception:  # noqa: BLE001 - an agent restarting is left out for a moment
                continue
        return out

    def poll(self) -> Snapshot:
        naming.configure_pyro(2.0)
        try:
            ns = naming.locate(self.ns_host, self.ns_port)
            raw = {role: self._statuses(ns, role) for role in ("feeder", "router", "trader")}
        except Exception:  # noqa: BLE001 - the name server restarting: an empty line for a moment
            raw = {}
        try:
            snap = Snapshot(
                feeders={n: read_status(d, FeederStatus) for n, d in raw.get("feeder", {}).items()},
                routers={n: read_status(d, RouterStatus) for n, d in raw.get("router", {}).items()},
                traders={n: read_status(d, TraderStatus) for n, d in raw.get("trader", {}).items()},
            )
        except StatusError as exc:
            self.console.print(f"[red]status of an unexpected shape:[/] {exc}")
            snap = Snapshot()
        ticks, now = snap.published_ticks, time.monotonic()
        if self._prev is not None and now > self._prev[0]:
            self.rate = (ticks - self._prev[1]) / (now - self._prev[0])
        self._prev = (now, ticks)
        return snap

    def finished(self, snap: Snapshot) -> bool:
        return self.replay and snap.finished

    def line(self, snap: Snapshot) -> Text:
        parts = [f"{'replay' if self.replay else 'simulator'}"]
        progress = [f.progress for f in snap.feeders.values() if f.progress is not None]
        if progress:
            total = sum(p.ticks_total for p in progress)
            done = sum(p.ticks_done for p in progress)
            parts.append(f"{100 * done / total if total else 0:5.1f}% of {total:,} ticks")
        parts.append(f"ticks {snap.published_ticks:,} ({self.rate:,.0f}/s)")
        bars = sum(sum(s.bars.values()) for r in snap.routers.values() for s in r.symbols.values())
        parts.append(f"bars {bars:,}")
        orders = sum(t.orders.total for t in snap.traders.values())
        parts.append(f"orders {orders} fills {sum(t.fills for t in snap.traders.values())}")
        pnl = _net_pnl(snap)
        if pnl:
            parts.append("PnL " + ", ".join(f"{v:+.2f} {c}" for c, v in pnl.items()))
        if any(t.kill_switch for t in snap.traders.values()):
            parts.append("[KILL SWITCH]")
        return Text(" | ".join(parts))

    def render(self, snap: Snapshot, rows: list[dict[str, Any]]) -> Group:
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

    def print_summary(self, snap: Snapshot) -> None:
        self.summarised = True
        table = Table(title="Replay summary", show_header=False)
        table.add_row("wall time", f"{time.monotonic() - self.t0:.1f} s")
        table.add_row("ticks published", f"{snap.published_ticks:,}")
        skipped: dict[str, int] = {}
        for f in snap.feeders.values():
            for reason, n in (f.progress.skipped if f.progress else {}).items():
                skipped[reason] = skipped.get(reason, 0) + n
        table.add_row("ticks skipped (bad rows)", str(skipped))
        for rname, r in snap.routers.items():
            where = f" ({rname})" if len(snap.routers) > 1 else ""
            for sym, s in r.symbols.items():
                table.add_row(f"bars {sym}{where}", ", ".join(f"{tf}: {n:,}" for tf, n in s.bars.items()))
            table.add_row(f"router gaps / backfilled{where}", f"{r.sequence_gaps} / {r.backfilled_ticks}")
        for tname, t in snap.traders.items():
            where = f" ({tname})" if len(snap.traders) > 1 else ""
            table.add_row(f"orders{where}", str(_orders(t)))
            table.add_row(f"fills{where}", str(t.fills))
            table.add_row(f"positions{where}", str({k: v.get("qty") for k, v in t.positions.items()}))
            for cur, v in t.pnl.items():
                table.add_row(
                    f"PnL {cur}{where}",
                    ", ".join(f"{k} {val:+.2f}" for k, val in v.items() if val is not None),
                )
            table.add_row(f"risk rejections{where}", str({k: n for k, n in t.risk_rejections.items() if n}))
        self.console.print(table)


def _orders(t: TraderStatus) -> dict[str, Any]:
    return {"total": t.orders.total, "by_status": dict(t.orders.by_status), "open": t.orders.open}


def _net_pnl(snap: Snapshot) -> dict[str, float]:
    out: dict[str, float] = {}
    for t in snap.traders.values():
        for cur, v in t.pnl.items():
            out[cur] = out.get(cur, 0.0) + (v.get("net") or 0.0)
    return out


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
