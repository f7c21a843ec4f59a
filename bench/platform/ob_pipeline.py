"""The same four-stage pipeline on osBrain 0.6.5; run inside .bench/osbrain-venv by main.py.

``python ob_pipeline.py SECONDS RUNS RATE [RATE ...]`` prints ``@@RESULT@@{json}`` on stdout.

feeder --PUB tick--> router --PUB tick--> brain --PUSH order--> trader (which also SUBscribes to the router's
ticks, as the tradehive trader does). One tick per message, osBrain's ``json`` serializer (its default is
pickle: nothing in this repository unpickles). The feeder publishes in 1-ms bursts at the asked rate with each
tick stamped ``time.time_ns()`` just before its send; the brain copies the stamp into the order; the trader
notes arrival - stamp. The stages only relay (no bars, risk or venue): this is osBrain's fabric cost, a lower
bound of an osBrain platform. Standard library, numpy and osBrain only (no project code in this venv).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from typing import Any

import numpy as np
import osbrain
from osbrain import Agent, run_agent, run_nameserver

osbrain.config["TRANSPORT"] = "tcp"
BURST_S = 0.001


class Feeder(Agent):
    def on_init(self) -> None:
        self.bind("PUB", alias="ticks", serializer="json")

    def pace(self, rate: float, n: int) -> dict[str, float]:
        send, now, perf = self.send, time.time_ns, time.perf_counter
        sent, t0 = 0, perf()
        while sent < n:
            due = min(n, int((perf() - t0) * rate) + 1)
            for i in range(sent, due):
                send(
                    "ticks",
                    {"sym": "EURUSD", "ts": now(), "bid": 1.0842, "ask": 1.0843, "i": i},
                    topic="tick.EURUSD",
                )
            sent = due
            if sent < n:
                time.sleep(BURST_S)
        return {"sent": sent, "seconds": perf() - t0}


def router_on_tick(agent: Any, msg: Any) -> None:
    agent.send("market", msg, topic="tick.EURUSD")


def brain_on_tick(agent: Any, msg: Any) -> None:
    agent.ticks_in += 1
    agent.n_orders += 1
    side = "BUY" if agent.n_orders % 2 else "SELL"
    agent.send("orders", {"cid": f"echo-{agent.n_orders}", "symbol": "EURUSD", "side": side, "qty": 1.0,
                          "origin_ns": msg["ts"]})  # fmt: skip


def trader_on_order(agent: Any, msg: Any) -> None:
    agent.lat.append(time.time_ns() - msg["origin_ns"])


def trader_on_tick(agent: Any, msg: Any) -> None:
    agent.quote = (msg["bid"], msg["ask"])


class Brain(Agent):
    def on_init(self) -> None:
        self.ticks_in = 0
        self.n_orders = 0
        self.bind("PUSH", alias="orders", serializer="json")

    def take(self) -> int:
        n, self.ticks_in = self.ticks_in, 0
        return n


class Trader(Agent):
    def on_init(self) -> None:
        self.lat: list[int] = []
        self.quote = (math.nan, math.nan)

    def arrived(self) -> int:
        return len(self.lat)

    def take(self) -> list[int]:
        out, self.lat = self.lat, []
        return out


def build() -> tuple[Any, Any, Any, Any]:
    feeder = run_agent("feeder", base=Feeder)
    router = run_agent("router")
    brain = run_agent("brain", base=Brain)
    trader = run_agent("trader", base=Trader)
    addr = router.bind("PUB", alias="market", serializer="json")
    router.connect(feeder.addr("ticks"), handler={"tick.": router_on_tick})
    brain.connect(addr, handler={"tick.": brain_on_tick})
    trader.connect(addr, handler={"tick.": trader_on_tick})
    trader.bind("PULL", alias="orders", handler=trader_on_order, serializer="json")
    brain.connect(trader.addr("orders"), alias="orders")
    return feeder, router, brain, trader


def settle(trader: Any, expect: int, idle: float = 0.5, cap: float = 10.0) -> float:
    t0 = time.monotonic()
    last, since = -1, t0
    while True:
        n = trader.arrived()
        now = time.monotonic()
        if n >= expect or now - t0 > cap:
            return now - t0
        if n != last:
            last, since = n, now
        elif now - since > idle:
            return now - t0
        time.sleep(0.05)


def measure(feeder: Any, brain: Any, trader: Any, rate: float, seconds: float) -> dict[str, Any]:
    n = max(200, int(rate * seconds))
    snd = feeder.pace(rate, n)
    drain = settle(trader, n)
    lat = np.asarray(trader.take(), dtype=np.int64)
    pct = (lambda q: float(np.percentile(lat, q)) / 1e3) if lat.size else (lambda q: math.nan)
    sent = snd["sent"]
    return {
        "rate": rate, "published": sent, "send_rate": sent / snd["seconds"],
        "brain_orders_sent": brain.take(), "orders": int(lat.size), "loss_pct": 100.0 * (1 - lat.size / sent),
        "p50_us": pct(50), "p90_us": pct(90), "p99_us": pct(99), "max_us": pct(100), "drain_s": drain,
    }  # fmt: skip


def sweep(rates: list[float], seconds: float) -> list[dict[str, Any]]:
    ns = run_nameserver()
    try:
        t0 = time.perf_counter()
        feeder, _router, brain, trader = build()
        startup = time.perf_counter() - t0
        for _ in range(100):  # slow joiners: until a tick made it to an order
            feeder.pace(1000, 20)
            time.sleep(0.1)
            if trader.arrived():
                break
        time.sleep(0.3)
        trader.take()
        brain.take()
        out = []
        for rate in rates:
            res = measure(feeder, brain, trader, rate, seconds)
            res["startup_s"] = startup
            out.append(res)
            if res["drain_s"] >= 10.0:
                break
        return out
    finally:
        ns.shutdown()


def main() -> None:
    seconds, runs = float(sys.argv[1]), int(sys.argv[2])
    rates = [float(r) for r in sys.argv[3:]]
    out = {
        "pid": os.getpid(),
        "version": osbrain.__version__,
        "runs": [sweep(rates, seconds) for _ in range(runs)],
    }
    print("@@RESULT@@" + json.dumps(out))


if __name__ == "__main__":
    main()
