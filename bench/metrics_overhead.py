"""What the role instrumentation costs: the real pipeline (feeder -> router -> brain -> trader, one process each)
with role metrics on and off (``TRADEHIVE_METRICS=off`` makes every role observe/inc/set a no-op; the agentcore
built-in counters stay on in both runs), reported as medians and on/off ratios.

Two measurements per run, on real FXCM EURUSD ticks (``$TRADEHIVE_DATA/fxcm/tick``):

* throughput — replay one day at max speed; ticks / (last tick at the trader - first tick at the router);
* tick -> order — replay 12:00 UTC on at 100x (20 ms batches), a ``tick_echo`` brain sends one order per tick batch; the
  trader notes ``arrival - Message.origin_ns`` per order (the origin stamp the feeder set), p50/p99.

    uv run python bench/metrics_overhead.py [--rounds 3] [--quick]

Target: <= 5 % throughput loss and p50/p99 within noise with metrics on.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # agents below are spawned as metrics_overhead:Class

from agentcore import CommunicationError, Message, batch_handler, remote  # noqa: E402
from tradehive_router.agent import RouterAgent  # noqa: E402
from tradehive_trader.agent import TraderAgent  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TRADEHIVE_DATA", ROOT.parent / "shared" / "data")) / "fxcm" / "tick"


class TimedRouter(RouterAgent):
    """The real router; notes when the first tick batch arrived."""

    def on_init(self) -> None:
        super().on_init()
        self.first_ns = 0

    @batch_handler  # as the router's own: the tick messages drained in one loop turn
    def on_ticks(self, msgs: list[Message]) -> None:
        if not self.first_ns:
            self.first_ns = time.time_ns()
        super().on_ticks(msgs)

    @remote
    def first_tick_ns(self) -> int:
        return self.first_ns


class TimedTrader(TraderAgent):
    """The real trader; notes tick->order per intent (from the wire origin) and its last quote's arrival."""

    def on_init(self) -> None:
        super().on_init()
        self.lat_ns: list[int] = []
        self.last_quote_ns = 0
        self.quotes_seen = 0

    def on_ticks(self, msgs: list[Message]) -> None:  # a batch of tick messages (natural batching)
        super().on_ticks(msgs)
        self.quotes_seen += sum(int(m.data.size) for m in msgs)
        self.last_quote_ns = time.time_ns()

    def on_intent(self, msg: Message) -> Any:
        if msg.origin_ns:
            self.lat_ns.append(time.time_ns() - msg.origin_ns)
        return super().on_intent(msg)

    @remote
    def bench_state(self) -> dict[str, Any]:
        return {"lat_ns": list(self.lat_ns), "last_quote_ns": self.last_quote_ns, "quotes": self.quotes_seen}


def topology(ns_port: int, speed: str, day: str, start: str) -> Any:
    from agentcore.launcher import AgentSpec, NameServerSpec, RestartPolicy, Topology

    nxt = f"{day[:-2]}{int(day[-2:]) + 1:02d}"
    trader = {"max_orders_per_second": 1e9, "order_burst": 1_000_000_000, "max_position": 1e12,
              "max_order_qty": 1e9, "position_interval_s": 1.0}  # fmt: skip
    agents = {
        "feeder": AgentSpec(cls="tradehive_feeder.agent:FeederAgent", restart=False, config={
            "data_dir": str(DATA), "symbols": ["EURUSD"], "speed": speed, "start": start, "end": nxt}),
        "router": AgentSpec(cls="metrics_overhead:TimedRouter", restart=False,
                            config={"feeders": ["feeder"], "session": "-05:00"}),
        "trader": AgentSpec(cls="metrics_overhead:TimedTrader", config=trader, restart=False),
        "brain": AgentSpec(cls="tradehive_brain.agent:BrainAgent", restart=False, config={
            "strategy": "tick_echo", "symbols": ["EURUSD"], "timeframe": "1m", "warmup_bars": 10}),
    }  # fmt: skip
    return Topology(agents=agents, nameserver=NameServerSpec(port=ns_port), settings={"log_level": "error"},
                    restart=RestartPolicy(max_restarts=0), start_timeout=60.0)  # fmt: skip


def one_run(metrics: bool, speed: str, day: str, seconds: float, start: str = "") -> dict[str, Any]:
    """Start the pipeline with metrics on/off, replay, return the trader's and router's stamps."""
    import Pyro5.api
    from agentcore import naming
    from agentcore.launcher import Launcher
    from agentcore.testing import free_port

    os.environ["TRADEHIVE_METRICS"] = "on" if metrics else "off"  # inherited by the agent processes
    port = free_port()
    launcher = Launcher(topology(port, speed, day, start or day), live=False)
    naming.configure_pyro(30.0)
    try:
        launcher.start_all()
        ns = naming.locate("127.0.0.1", port)
        proxies = {n: Pyro5.api.Proxy(ns.lookup(n)) for n in ("feeder", "router", "trader")}
        t_end = time.monotonic() + seconds
        seen, still_since = -1, time.monotonic()
        while time.monotonic() < t_end:
            f = proxies["feeder"].status()
            if f["finished"]:
                t = proxies["trader"].bench_state()
                if t["quotes"] >= f["published_ticks"]:
                    break
                if t["quotes"] != seen:  # a free run at max speed may lose quotes at a high-water mark:
                    seen, still_since = t["quotes"], time.monotonic()  # stop once none came for 2 s
                elif time.monotonic() - still_since > 2.0:
                    break
            time.sleep(0.1)
        time.sleep(0.3)
        t = proxies["trader"].bench_state()
        return {"published": f["published_ticks"], "first_ns": proxies["router"].first_tick_ns(), **t}
    finally:
        os.environ.pop("TRADEHIVE_METRICS", None)
        launcher.stop_all()


def _offline_router(metrics: bool) -> Any:
    """A real RouterAgent with its sockets replaced by no-ops (sends dropped): the handler's CPU cost only."""
    os.environ["TRADEHIVE_METRICS"] = "on" if metrics else "off"
    try:
        r: Any = RouterAgent("router", config=RouterAgent.Config(feeders=["feeder"], session="-05:00"))
        r.send = lambda *a, **k: True
        r.bind = lambda *a, **k: "inproc://x"
        r.connect = lambda address, handler=None, alias=None, **k: alias or address
        r.every = r.after = lambda *a, **k: 0

        def offline(*_a: Any, **_k: Any) -> Any:  # no feeder to ask: every request site handles this
            raise CommunicationError("offline router (bench)")

        r.request = offline
        r.on_init()
    finally:
        os.environ.pop("TRADEHIVE_METRICS", None)
    return r


def handler_cost(day: str, batch: int = 50, reps: int = 5) -> dict[bool, float]:
    """Best-of-``reps`` µs per router tick batch (real ticks, bars built, metrics on/off), interleaved: the
    minimum is the intrinsic cost; medians on a shared 2-core host mostly measure the neighbours."""
    from marketcore.io import discover
    from marketcore.sources.replay import ReplaySource

    src = ReplaySource(discover(str(DATA)), symbols=["EURUSD"], start=day)
    ticks = src.next_batch(max_ticks=200_000, max_span_ns=None).runs[0][1]
    batches = [ticks[i : i + batch] for i in range(0, min(ticks.size, 100_000), batch)]
    out: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(reps):
        for on in (True, False) if len(out[True]) % 2 == 0 else (False, True):
            r = _offline_router(on)
            t0 = time.perf_counter()
            for seq, b in enumerate(batches, 1):
                r.on_ticks(  # the router's handler takes the batch of messages one loop turn drained
                    [Message("tick.EURUSD", "n", "ticks", "feeder", seq, time.time_ns(), b, b.nbytes, 1)]
                )
            out[on].append((time.perf_counter() - t0) / len(batches) * 1e6)
    return {on: min(v) for on, v in out.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="on/off pairs per measurement (alternating)")
    ap.add_argument("--quick", action="store_true", help="one round, shorter latency runs")
    ap.add_argument("--day", default="2014-05-08", help="replayed day (EURUSD)")
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"metrics_overhead: no data at {DATA} (set TRADEHIVE_DATA)", file=sys.stderr)
        return 2
    rounds = 1 if args.quick else args.rounds
    lat_s = 6.0 if args.quick else 10.0
    thr: dict[bool, list[float]] = {True: [], False: []}
    lat: dict[bool, list[np.ndarray]] = {True: [], False: []}
    for r in range(rounds):
        for on in (True, False) if r % 2 == 0 else (False, True):
            res = one_run(on, "max", args.day, 120.0)
            span = (res["last_quote_ns"] - res["first_ns"]) / 1e9
            thr[on].append(res["quotes"] / span if span > 0 else float("nan"))
            print(f"  throughput  metrics={'on ' if on else 'off'} {res['quotes']:>7} ticks in {span:6.2f} s "
                  f"= {thr[on][-1]:>9,.0f} ticks/s", flush=True)  # fmt: skip
            res = one_run(
                on, "100", args.day, lat_s, f"{args.day}T12:00:00+00:00"
            )  # the busy London/NY hours
            arr = np.asarray(res["lat_ns"][20:], dtype=np.int64) / 1e3  # µs; the first orders pay warm-up
            lat[on].append(arr)
            p50, p99 = np.percentile(arr, 50), np.percentile(arr, 99)
            state = "on " if on else "off"
            print(
                f"  tick->order metrics={state} {arr.size:>5} orders  p50 {p50:8.0f} µs  p99 {p99:8.0f} µs",
                flush=True,
            )
    cost = handler_cost(args.day, reps=3 if args.quick else 7)
    t_on, t_off = statistics.median(thr[True]), statistics.median(thr[False])
    l_on, l_off = np.concatenate(lat[True]), np.concatenate(lat[False])
    p = {(on, q): float(np.percentile(a, q)) for on, a in ((True, l_on), (False, l_off)) for q in (50, 99)}
    print("\nmetrics_overhead (median of rounds; ratio = on / off)")
    print(f"  throughput   on {t_on:>10,.0f} ticks/s   off {t_off:>10,.0f} ticks/s   ratio {t_on / t_off:5.3f}"
          f"   loss {100 * (1 - t_on / t_off):+5.1f} %")  # fmt: skip
    b_on, b_off = max(thr[True]), max(thr[False])
    print(
        f"  throughput (best of rounds) on {b_on:>10,.0f}   off {b_off:>10,.0f}   ratio {b_on / b_off:5.3f}"
    )
    print(f"  router handler per 50-tick batch (in-process, best of N): on {cost[True]:7.1f} µs   "
          f"off {cost[False]:7.1f} µs   ratio {cost[True] / cost[False]:5.3f}")  # fmt: skip
    for q in (50, 99):
        print(f"  tick->order p{q:<2} on {p[(True, q)]:>8.0f} µs   off {p[(False, q)]:>8.0f} µs   "
              f"ratio {p[(True, q)] / p[(False, q)]:5.3f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
