"""Small demo agents exercising every pattern (what ``make run`` shows before the trading roles exist).

``Clock`` publishes counters and numpy batches (PUB), answers questions (REP) and hands out work (PUSH);
``Worker`` pulls work and pushes results (PULL/PUSH); ``Collector`` subscribes, asks and collects results
(SUB, REQ, PULL) and serves an async ROUTER; ``Client`` talks to it over DEALER.
"""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np

from agentcore import Agent, Message, remote


class ClockConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    interval: float = 0.5
    batch: int = 1000


class Clock(Agent):
    role = "clock"
    Config = ClockConfig
    config_prefix = "DEMO_CLOCK_"
    remote_attributes = ("interval",)

    def on_init(self) -> None:
        self.interval = float(self.config.interval)
        self.n = 0
        self.bind("PUB", "out")
        self.bind("REP", "ask", handler=self.answer)
        self.bind("PUSH", "work")
        self._timer = self.every(self.interval, self.tick)

    def tick(self) -> None:
        self.n += 1
        self.send("out", {"n": self.n}, topic="count")
        self.send("out", np.arange(self.config.batch, dtype="<f8") + self.n, topic="batch")
        self.send("work", {"job": self.n})

    @remote
    def set_interval(self, seconds: float) -> None:
        """Change the publishing rate live."""
        self.interval = float(seconds)
        self.cancel_timer(self._timer)
        self._timer = self.every(self.interval, self.tick)

    def answer(self, msg: Message) -> Any:
        return {"n": self.n, "echo": msg.data}

    def extra_status(self) -> dict[str, Any]:
        return {"published": self.n, "interval": self.interval}


class Worker(Agent):
    role = "worker"

    def on_init(self) -> None:
        self.done = 0
        self.connect("clock.work", handler=self.work)
        self.connect("collector.results", alias="results")

    def work(self, msg: Message) -> None:
        self.done += 1
        self.send("results", {"job": msg.data["job"], "square": msg.data["job"] ** 2})

    def extra_status(self) -> dict[str, Any]:
        return {"done": self.done}


class Collector(Agent):
    role = "collector"

    def on_init(self) -> None:
        self.counts = 0
        self.batches = 0
        self.results = 0
        self.answers = 0
        self.connect("clock.out", handler={"count": self.on_count, "batch": self.on_batch})
        self.connect("clock.ask", alias="ask")
        self.bind("ROUTER", "rpc", handler=self.on_rpc)
        self.bind("PULL", "results", handler=self.on_result)
        self.every(2.0, self.ask)

    def on_count(self, msg: Message) -> None:
        self.counts += 1

    def on_batch(self, msg: Message) -> None:
        self.batches += 1
        self.last_sum = float(msg.data.sum())

    def on_result(self, msg: Message) -> None:
        self.results += 1

    def on_rpc(self, msg: Message) -> Any:
        return {"counts": self.counts, "you_said": msg.data}

    def ask(self) -> None:
        self.request("ask", "how far?", timeout=1.0)
        self.answers += 1

    def extra_status(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "batches": self.batches,
            "results": self.results,
            "answers": self.answers,
        }


class Client(Agent):
    role = "client"

    def on_init(self) -> None:
        self.replies = 0
        self.connect("collector.rpc", handler=self.on_reply, alias="rpc")
        self.every(1.0, lambda: self.send("rpc", {"hello": self.name}))

    def on_reply(self, msg: Message) -> None:
        self.replies += 1

    def extra_status(self) -> dict[str, Any]:
        return {"replies": self.replies}


class Listener(Agent):
    """Connected only through the topology file (``connect:``), handler named by method."""

    role = "listener"

    def on_init(self) -> None:
        self.heard = 0

    def on_message(self, msg: Message) -> None:
        self.heard += 1

    def extra_status(self) -> dict[str, Any]:
        return {"heard": self.heard}
