"""The agentcore side of the benchmark: a Source and a Sink agent (started as processes by main.py)."""

from __future__ import annotations

import time
from typing import Any

import common
from agentcore import Agent, Message, remote


class Source(Agent):
    role = "bench-source"

    def on_init(self) -> None:
        self.bind("PUB", "pub")
        self.bind("PUSH", "push")
        self._batch = common.batch()

    @remote
    def setup(self) -> None:
        self.connect("bsink.rep", alias="req")

    @remote
    def send_many(self, what: str, n: int, rate: float = 0.0) -> dict[str, float]:
        chan_send = self._channels["push" if what == "push" else "pub"].send
        now, tick = time.time_ns, common.tick
        if what == "batch":
            arr = self._batch

            def one() -> Any:
                arr["ts"][0] = now()
                return chan_send(arr, "batch")
        else:
            topic = "" if what == "push" else "tick"

            def one() -> Any:
                return chan_send(tick(now()), topic)

        return common.paced(one, rate, n) if rate else common.flood(one, n)

    @remote
    def reqrep(self, n: int) -> dict[str, float]:
        out = []
        for i in range(n):
            t0 = time.perf_counter_ns()
            self.request("req", common.tick(i), timeout=2.0)
            out.append(time.perf_counter_ns() - t0)
        p50, p99 = common.pct_us(out)
        return {"p50_us": p50, "p99_us": p99}


class Sink(Agent):
    role = "bench-sink"

    def on_init(self) -> None:
        self.state = common.SinkState()
        self.bind("REP", "rep", handler=self.on_request)

    @remote
    def setup(self) -> None:
        self.connect("bsrc.pub", handler={"tick": self.on_tick, "batch": self.on_batch})
        self.connect("bsrc.push", handler=self.on_tick)

    def on_tick(self, msg: Message) -> None:
        s = self.state
        now = time.time_ns()
        if not s.n:
            s.first = now
        s.n += 1
        s.last = now
        s.lat.append(now - msg.data["ts"])

    def on_batch(self, msg: Message) -> None:
        s = self.state
        now = time.time_ns()
        if not s.n:
            s.first = now
        s.n += 1
        s.rows += len(msg.data)
        s.last = now

    def on_request(self, msg: Message) -> Any:
        return msg.data

    @remote
    def sink_reset(self) -> None:
        self.state.reset()

    @remote
    def sink_result(self) -> dict[str, float]:
        return self.state.result()


class Idle(Agent):
    """For the start-up measurement: one PUB socket, nothing else."""

    role = "bench-idle"

    def on_init(self) -> None:
        self.bind("PUB", "out")
