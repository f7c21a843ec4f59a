"""Full replay: every FXCM tick of both symbols through the whole platform at max speed; where the time goes.

``end_to_end(data, ns_port)`` starts what ``tradehive run --data DATA --speed max`` starts (name server,
feeder, router, two brains, trader: ``build_topology``) and times from before the start to the router having
ingested the feeder's last batch (every tick in, so every bar built), with event time on (the default) or
off. ``stages(data)`` times the same work in
this one process without messaging: the feeder's read/merge (``ReplaySource``), and the router's per-batch
work (``clean_ticks`` + ``SymbolBook.add``: tick buffer, bars at 1s/1m/5m/1h/1d x bid/ask/mid, bar buffers).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import msgspec
import Pyro5.api
import Pyro5.errors
from agentcore import naming
from agentcore.launcher import Launcher
from latency import cpu_seconds
from tradehive.platform import build_topology

POLL_S = 0.05


def _router_received(status: dict[str, Any]) -> int:
    return sum(s["received"] for alias, s in status["sockets"].items() if alias.endswith(".ticks"))


def end_to_end(data: str, ns_port: int, cap_s: float = 120.0, event_time: bool = True) -> dict[str, Any]:
    """``event_time`` as ``tradehive run`` (default on: brains and venue in data-time order under flow control);
    off, every agent runs free (the pre-event-time platform: results may depend on speed and scheduling)."""
    naming.configure_pyro(30.0)
    topo = build_topology(data=data, speed="max", ns_port=ns_port, log_level="error", event_time=event_time)
    topo = msgspec.structs.replace(topo, settings={**topo.settings, "comm_timeout": 30.0})
    launcher = Launcher(topo, live=False)
    t0 = time.perf_counter()
    launcher.start_all()
    t_up = time.perf_counter() - t0
    procs = {n: s.proc for n, s in launcher.agents.items()}
    pids = {n: p.pid for n, p in procs.items() if p is not None}
    cpu0 = {n: cpu_seconds(pid) for n, pid in pids.items()}
    feeder = Pyro5.api.Proxy(procs["feeder"].uri)  # type: ignore[union-attr]
    router = Pyro5.api.Proxy(procs["router"].uri)  # type: ignore[union-attr]
    out: dict[str, Any] = {"startup_s": t_up}
    try:
        _follow(out, t0, cap_s, feeder, router, pids, cpu0)
    except Pyro5.errors.PyroError as exc:  # an agent died or hung: report it, do not abort the whole bench
        exits = {n: p.poll() for n, p in procs.items() if p is not None and p.poll() is not None}
        out["error"] = f"{type(exc).__name__}: {exc}; exited agents: {exits or 'none'}"
    finally:
        feeder._pyroRelease()
        router._pyroRelease()
        launcher.stop_all(timeout=10.0)
    return out


def _follow(out: dict[str, Any], t0: float, cap_s: float, feeder: Any, router: Any, pids: dict[str, int],
            cpu0: dict[str, float]) -> None:  # fmt: skip
    """Poll feeder and router until the router has every batch; fill ``out``."""
    t_fed = None
    while time.perf_counter() - t0 < cap_s:
        f = feeder.status()
        if f["finished"] and t_fed is None:
            t_fed = time.perf_counter() - t0
        if f["finished"]:
            r = router.status()
            if _router_received(r) >= f["batches"]:
                out["done_s"] = time.perf_counter() - t0
                out["cpu_s"] = {n: cpu_seconds(pid) - cpu0[n] for n, pid in pids.items()}
                break
        time.sleep(POLL_S)
    else:
        out["done_s"] = float("nan")
        r = router.status()
    out["feeder_finished_s"] = t_fed
    out["ticks"] = f["published_ticks"]
    out["batches"] = f["batches"]
    out["skipped"] = f.get("progress", {}).get("skipped")
    syms = r["symbols"]
    out["router_ticks_held"] = {s: v["ticks_held"] for s, v in syms.items()}
    out["bars_1m"] = {s: v["bars"].get("1m") for s, v in syms.items()}
    out["router_gaps"] = r["sequence_gaps"]
    out["router_rejected"] = r["rejected"]


def stages(data: str) -> dict[str, float]:
    """Seconds for the feeder's read/merge and the router's bar work over the whole data, in one process."""
    from marketcore.io import discover
    from marketcore.sources import ReplaySource
    from tradehive.platform import data_profile
    from tradehive.routing.book import SymbolBook
    from tradehive.routing.validate import clean_ticks

    sets = discover(str(Path(data)), format="auto", tz_offset=None)
    t = time.perf_counter()
    src = ReplaySource(sets)
    runs: list[tuple[str, Any]] = []
    while (batch := src.next_batch(max_ticks=10_000)) is not None:
        runs.extend(batch.runs)
    read_s = time.perf_counter() - t

    prof = data_profile(data, "auto", "")
    books: dict[str, SymbolBook] = {}
    tfs = ["1s", "1m", "5m", "1h", "1d"]
    warm = SymbolBook("W", runs[0][1], tfs, [], prof["empty"], prof["session"], 1000, 1000)
    warm.add(
        runs[0][1][:10]
    )  # numba kernels compiled/loaded before timing (the router does it on its 1st tick)
    t = time.perf_counter()
    for sym, ticks in runs:
        book = books.get(sym)
        if book is None:
            book = books[sym] = SymbolBook(
                sym, ticks, tfs, [], prof["empty"], prof["session"], 2_000_000, 200_000
            )
        good, _ = clean_ticks(ticks, book.last_ts, book.kind)
        if good.size:
            book.add(good)
    router_s = time.perf_counter() - t
    return {"read_s": read_s, "router_work_s": router_s, "ticks": float(sum(r[1].size for r in runs)),
            "messages": float(len(runs))}  # fmt: skip
