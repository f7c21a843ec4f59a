"""Tick->order latency through the four tradehive processes, driven from this process over Pyro.

``sweep(rates, seconds, topology)`` starts a name server and feeder/router/brain/trader (``ac_pipeline``
or ``ac_relay``), warms them up, then for each rate publishes ``rate x seconds`` ticks (one per message) and
waits until the trader has stopped receiving orders; returns one result dict per rate (``ob_pipeline.py``
gives the same keys).
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import msgspec
import numpy as np
import Pyro5.api
import serpent
from agentcore import naming
from agentcore.launcher import AgentSpec, Launcher, NameServerSpec, RestartPolicy, Topology

SETTLE_IDLE_S = 0.5  # the trader saw no new order for this long: the pipeline has drained
SETTLE_CAP_S = 10.0  # give up waiting for a backlog after this long (the rest counts as lost)


_CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc; 0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLK


def _topo(agents: dict[str, AgentSpec], ns_port: int, settings: dict[str, Any] | None = None) -> Topology:
    return Topology(agents=agents, nameserver=NameServerSpec(port=ns_port),
                    settings={"log_level": "error", "comm_timeout": 30.0, **(settings or {})},
                    restart=RestartPolicy(max_restarts=0), start_timeout=60.0)  # fmt: skip


def relay_topology(ns_port: int) -> Topology:
    """The four relay agents of ``ac_relay`` (the twin of the osBrain pipeline)."""
    return _topo({n: AgentSpec(cls=f"ac_relay:Relay{n.title()}", restart=False)
                  for n in ("feeder", "router", "trader", "brain")}, ns_port)  # fmt: skip


def topology(ns_port: int, router_config: dict[str, Any] | None = None, profile: bool = False,
             settings: dict[str, Any] | None = None) -> Topology:  # fmt: skip
    """The tradehive roles (bench feeder/trader subclasses, real router, real brain with ``tick_echo``);
    ``settings``: agentcore settings for all four (``{"busy_poll_us": 50}``)."""
    trader = {"max_orders_per_second": 1e9, "order_burst": 1_000_000_000, "max_position": 1e12,
              "max_order_qty": 1e9, "position_interval_s": 1.0}  # fmt: skip  # risk on, never the limit here
    agents = {
        "feeder": AgentSpec(cls="ac_pipeline:PacedFeeder", config={"symbols": ["EURUSD"]}, restart=False),
        "router": AgentSpec(cls="tradehive_router.agent:RouterAgent",
                            config={"feeders": ["feeder"], **(router_config or {})}, restart=False),
        "trader": AgentSpec(cls="ac_pipeline:TimedTrader", config=trader, restart=False),
        "brain": AgentSpec(cls="tradehive_brain.agent:BrainAgent", restart=False, config={
            "strategy": "tick_echo", "symbols": ["EURUSD"], "timeframe": "1m", "warmup_bars": 10}),
    }  # fmt: skip
    if profile:
        for name in agents:
            agents[name] = msgspec.structs.replace(agents[name], cls=f"ac_pipeline:Profiled{name.title()}")
    return _topo(agents, ns_port, settings)


def summarise(rate: float, published: int, seconds: float, brain: dict[str, Any], trader: dict[str, Any],
              extra: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """Latency percentiles in µs from the trader's samples (handler entry - origin stamp, ns)."""
    lat = np.asarray(trader["lat"], dtype=np.int64)
    reached = int(lat.size)  # ticks that reached the trader as an order (per tick) or orders (one per tick)
    pct = (lambda q: float(np.percentile(lat, q)) / 1e3) if reached else (lambda q: math.nan)
    return {
        "rate": rate, "published": published, "send_rate": published / seconds if seconds else 0.0,
        "brain_orders_sent": brain["orders_sent"], "orders": int(trader.get("order_count", reached)),
        "loss_pct": 100.0 * (1.0 - reached / published) if published else math.nan,
        "p50_us": pct(50), "p90_us": pct(90), "p99_us": pct(99), "max_us": pct(100), **extra,
    }  # fmt: skip


def _raw(data: Any) -> bytes:
    """Bytes from a Pyro reply (serpent sends them as a base64 dict)."""
    return data if isinstance(data, bytes) else serpent.tobytes(data)


def brain_counts(status: dict[str, Any]) -> dict[str, int]:
    """Counters of a brain's ``status()`` (the tradehive brain and the relay brain expose the same ones)."""
    market = status["sockets"]["market"]
    return {"orders_sent": int(status["orders_sent"]), "resends": int(status.get("resends", 0)),
            "gaps": int(market["sequence_gaps"]), "market_msgs": int(market["received"])}  # fmt: skip


def pin(pid: int, cpus: set[int]) -> None:
    """Every thread of process ``pid`` on ``cpus`` (threads it starts later inherit their creator's mask)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        os.sched_setaffinity(int(tid), cpus)


class Pipeline:
    def __init__(self, topo: Topology, affinity: dict[str, set[int]] | None = None) -> None:
        naming.configure_pyro(30.0)
        self.launcher = Launcher(topo, live=False)
        t0 = time.perf_counter()
        self.launcher.start_all()
        self.startup_s = time.perf_counter() - t0
        procs = {name: sup.proc for name, sup in self.launcher.agents.items()}
        self.pids = {name: proc.pid for name, proc in procs.items()}  # type: ignore[union-attr]
        for name, cpus in (affinity or {}).items():
            pin(self.pids[name], cpus)
        self.feeder, self.brain, self.trader, self.router = (
            Pyro5.api.Proxy(procs[n].uri)
            for n in ("feeder", "brain", "trader", "router")  # type: ignore[union-attr]
        )

    def warm_up(self, timeout: float = 30.0) -> None:
        """Until an order made it through (slow joiners, the brain's history warm-up); then start clean."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.feeder.pace(1000, 50)
            self._wait_paced()
            time.sleep(0.2)
            if self.trader.arrived() > 0:
                time.sleep(0.5)
                self.trader.take_arrivals()
                return
        raise RuntimeError("no order reached the trader during warm-up")

    def _gaps(self) -> int:
        """Messages missed by router, brain and trader so far, from the fabric's sequence numbers."""
        socks = [s for px in (self.router, self.brain, self.trader) for s in px.status()["sockets"].values()]
        return sum(int(s["sequence_gaps"]) for s in socks)

    def _wait_paced(self) -> dict[str, Any]:
        while True:
            st = self.feeder.paced_status()
            if not st["pacing"]:
                return st  # type: ignore[no-any-return]
            time.sleep(0.05)

    def _settle(self, expect: int, last_stamp: int = 0) -> float:
        """Until ``expect`` orders arrived (the relays: one per tick) or, the tradehive pipeline (``last_stamp``:
        its orders answer batches), an order decided on the last tick; or no order came for a while."""
        t0 = time.monotonic()
        last, since = -1, t0
        while True:
            n = self.trader.arrived()
            now = time.monotonic()
            done = self.trader.newest_data_ns() >= last_stamp if last_stamp else n >= expect
            if done or now - t0 > SETTLE_CAP_S:
                return now - t0
            if n != last:
                last, since = n, now
            elif now - since > SETTLE_IDLE_S:
                return now - t0
            time.sleep(0.05)

    def _per_tick(self, trader: dict[str, Any]) -> dict[str, Any]:
        """The tradehive pipeline: latency per tick (to the first order that saw it), not per order."""
        if "arrivals" not in trader:
            return trader
        from ac_pipeline import per_tick_latency

        stamps = np.frombuffer(_raw(self.feeder.stamps()), dtype=np.int64)
        arrivals = np.frombuffer(_raw(trader["arrivals"]), dtype=np.int64).reshape(-1, 2)
        return {**trader, "lat": per_tick_latency(stamps, arrivals), "order_count": int(arrivals.shape[0])}

    def measure(self, rate: float, seconds: float) -> dict[str, Any]:
        n = max(200, int(rate * seconds))
        b0 = brain_counts(self.brain.status())
        g0 = self._gaps()
        cpu0 = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        self.feeder.pace(rate, n)
        st = self._wait_paced()
        drain = self._settle(n, int(st.get("last_stamp", 0)))
        cpu = {f"cpu_us_per_tick_{name}": (cpu_seconds(pid) - cpu0[name]) / max(1, st["sent"]) * 1e6
               for name, pid in self.pids.items()}  # fmt: skip
        trader = self._per_tick(self.trader.take_arrivals())
        b1 = brain_counts(self.brain.status())
        brain = {k: b1[k] - b0[k] for k in b0}
        extra = {"drain_s": drain, "gaps": self._gaps() - g0, "resends": brain["resends"],
                 "feeder_dropped": st["dropped"], **cpu}  # fmt: skip
        return summarise(rate, st["sent"], st["seconds"], brain, trader, extra)

    def close(self) -> None:
        for px in (self.feeder, self.brain, self.trader, self.router):
            px._pyroRelease()
        self.launcher.stop_all(timeout=10.0)


def sweep(rates: list[float], seconds: float, topo: Topology,
          affinity: dict[str, set[int]] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Start ``topo`` (each named process pinned to its CPUs in ``affinity``), warm it up, measure each rate in
    turn (stopping after one that did not drain)."""
    pipe = Pipeline(topo, affinity)
    try:
        pipe.warm_up()
        out = []
        for rate in rates:
            res = pipe.measure(rate, seconds)
            res["startup_s"] = pipe.startup_s
            out.append(res)
            if res["drain_s"] >= SETTLE_CAP_S:  # a backlog is still in flight: later rates would inherit it
                break
        return out
    finally:
        pipe.close()


if __name__ == "__main__":  # a quick look: uv run python bench/platform/latency.py [rate ...]
    import sys

    flags = {a for a in sys.argv[1:] if a.startswith("--")}
    rates = [float(r) for r in sys.argv[1:] if not r.startswith("--")] or [1000.0, 10000.0]
    topo = relay_topology(19411) if "--relay" in flags else topology(19411, profile="--profile" in flags)
    for r in sweep(rates, 1.0, topo):
        print({k: (round(v, 1) if isinstance(v, float) else v) for k, v in r.items()})
