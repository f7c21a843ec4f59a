"""The osBrain pipeline's twin on agentcore: four agents that only relay (no bars, risk or venue).

feeder --PUB tick--> router --PUB tick--> brain --PUSH order--> trader (+ trader SUB to the router's ticks).
Same messages as ``ob_pipeline.py`` (a small dict per tick, msgpack here, json there), same 1-ms burst pacing,
same stamps. Comparing it with osBrain isolates the fabric; comparing it with ``ac_pipeline`` shows what the
platform's own work (bars, strategy, risk, venue, events) costs per tick.
"""

from __future__ import annotations

import time
from typing import Any

from agentcore import Agent, Message, remote

BURST_S = 0.001


class RelayFeeder(Agent):
    role = "feeder"

    def on_init(self) -> None:
        self.bind("PUB", "ticks")
        self._pacing = False
        self._n = self._sent = 0
        self._rate = self._t0 = self._elapsed = 0.0

    @remote
    def pace(self, rate: float, n: int, seed: int = 0) -> None:
        self._n, self._rate, self._sent, self._pacing = int(n), float(rate), 0, True
        self._t0 = time.perf_counter()
        self._burst()

    def _burst(self) -> None:
        due = min(self._n, int((time.perf_counter() - self._t0) * self._rate) + 1)
        send, now = self.send, time.time_ns
        for i in range(self._sent, due):
            send(
                "ticks",
                {"sym": "EURUSD", "ts": now(), "bid": 1.0842, "ask": 1.0843, "i": i},
                topic="tick.EURUSD",
            )
        self._sent = due
        if due < self._n:
            self.after(BURST_S, self._burst)
        else:
            self._pacing = False
            self._elapsed = time.perf_counter() - self._t0

    @remote
    def paced_status(self) -> dict[str, Any]:
        return {"pacing": self._pacing, "sent": self._sent,
                "seconds": self._elapsed if not self._pacing else time.perf_counter() - self._t0,
                "dropped": self._channel("ticks").stats.dropped}  # fmt: skip


class RelayRouter(Agent):
    role = "router"

    def on_init(self) -> None:
        self.bind("PUB", "market")
        self.connect("feeder.ticks", handler={"tick.": self.on_tick}, alias="feed", timeout=30.0)

    def on_tick(self, msg: Message) -> None:
        self.send("market", msg.data, topic=msg.topic)

    @remote
    def status_gaps(self) -> int:
        return self._channel("feed").stats.gaps


class RelayBrain(Agent):
    role = "brain"

    def on_init(self) -> None:
        self.ticks_in = self.n_orders = 0
        self.connect("router.market", handler={"tick.": self.on_tick}, alias="market", timeout=30.0)
        self.connect("trader.orders", alias="orders", timeout=30.0)

    def on_tick(self, msg: Message) -> None:
        self.ticks_in += 1
        self.n_orders += 1
        side = "BUY" if self.n_orders % 2 else "SELL"
        self.send("orders", {"cid": f"echo-{self.n_orders}", "symbol": "EURUSD", "side": side, "qty": 1.0,
                             "origin_ns": msg.data["ts"]})  # fmt: skip

    def extra_status(self) -> dict[str, Any]:
        return {"orders_sent": self.n_orders, "ticks_in": self.ticks_in, "resends": 0}


class RelayTrader(Agent):
    role = "trader"

    def on_init(self) -> None:
        self.lat: list[int] = []
        self.quote = (0.0, 0.0)
        self.bind("PULL", "orders", handler=self.on_order)
        self.connect("router.market", handler={"tick.": self.on_tick}, alias="market", timeout=30.0)

    def on_order(self, msg: Message) -> None:
        self.lat.append(time.time_ns() - msg.data["origin_ns"])

    def on_tick(self, msg: Message) -> None:
        self.quote = (msg.data["bid"], msg.data["ask"])

    @remote
    def arrived(self) -> int:
        return len(self.lat)

    @remote
    def take_arrivals(self) -> dict[str, Any]:
        out, self.lat = self.lat, []
        return {"lat": out}


__all__ = ["RelayBrain", "RelayFeeder", "RelayRouter", "RelayTrader"]
