"""The osBrain 0.6.5 side, run inside .bench/osbrain-venv by main.py; prints one JSON object on stdout.

``python ob_bench.py SIZE RUNS STARTUP_RUNS``. Same messages as the other systems: ticks as a dict (osBrain's
``json`` serializer, not its pickle default: nothing in this repository unpickles), batches as the raw numpy
buffer (osBrain's ``raw`` serializer). Transport tcp, like the others.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import common
import numpy as np
import osbrain
from osbrain import Agent, run_agent, run_nameserver

osbrain.config["TRANSPORT"] = "tcp"


def on_tick(agent: Any, msg: Any) -> None:
    s = agent.state
    now = time.time_ns()
    if not s.n:
        s.first = now
    s.n += 1
    s.last = now
    s.lat.append(now - msg["ts"])


def on_batch(agent: Any, msg: Any) -> None:
    s = agent.state
    now = time.time_ns()
    if not s.n:
        s.first = now
    s.n += 1
    s.rows += len(np.frombuffer(msg, dtype=common.TICK_DTYPE))
    s.last = now


def on_request(agent: Any, msg: Any) -> Any:
    return msg


class Source(Agent):
    def on_init(self) -> None:
        self.bind("PUB", alias="pub", serializer="json")
        self.bind("PUB", alias="pubraw", serializer="raw")
        self.bind("PUSH", alias="push", serializer="json")
        self.arr = common.batch()

    def send_many(self, what: str, n: int, rate: float = 0.0) -> dict[str, float]:
        now, tick, send = time.time_ns, common.tick, self.send
        arr = self.arr
        if what == "batch":

            def one() -> None:
                arr["ts"][0] = now()
                send("pubraw", arr.tobytes())
        elif what == "push":

            def one() -> None:
                send("push", tick(now()))
        else:

            def one() -> None:
                send("pub", tick(now()), topic="tick")

        return common.paced(one, rate, n) if rate else common.flood(one, n)

    def reqrep(self, n: int) -> dict[str, float]:
        out = []
        for i in range(n):
            t0 = time.perf_counter_ns()
            self.send("req", common.tick(i))
            self.recv("req")
            out.append(time.perf_counter_ns() - t0)
        p50, p99 = common.pct_us(out)
        return {"p50_us": p50, "p99_us": p99}


class Sink(Agent):
    def on_init(self) -> None:
        self.state = common.SinkState()

    def sink_reset(self) -> None:
        self.state.reset()

    def sink_result(self) -> dict[str, float]:
        return self.state.result()


class OsbrainAdapter:
    def __init__(self, src: Any, sink: Any) -> None:
        self.src, self.sink = src, sink

    def send(self, what: str, n: int, rate: float = 0.0) -> dict[str, float]:
        return self.src.send_many(what, n, rate)

    def reqrep(self, n: int) -> dict[str, float]:
        return self.src.reqrep(n)

    def sink_reset(self) -> None:
        self.sink.sink_reset()

    def sink_result(self) -> dict[str, float]:
        return self.sink.sink_result()


def suite(size: str, runs: int) -> list[dict[str, float]]:
    ns = run_nameserver()
    try:
        src = run_agent("bsrc", base=Source)
        sink = run_agent("bsink", base=Sink)
        rep_addr = sink.bind("REP", alias="rep", handler=on_request, serializer="json")
        src.connect(rep_addr, alias="req")
        sink.connect(src.addr("pub"), handler={"tick": on_tick})
        sink.connect(src.addr("pubraw"), handler=on_batch)
        sink.connect(src.addr("push"), handler=on_tick)
        a = OsbrainAdapter(src, sink)
        return [common.run_suite(a, size) for _ in range(runs)]
    finally:
        ns.shutdown()


def startup(runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        ns = run_nameserver()
        for i in range(8):
            run_agent(f"idle{i}")
        out.append(time.perf_counter() - t0)
        ns.shutdown()
    return out


def main() -> None:
    size, runs, startup_runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    out: dict[str, Any] = {"pid": os.getpid(), "version": osbrain.__version__}
    out["runs"] = suite(size, runs) if runs else []
    out["startup_s"] = startup(startup_runs)
    print("@@RESULT@@" + json.dumps(out))


if __name__ == "__main__":
    main()
