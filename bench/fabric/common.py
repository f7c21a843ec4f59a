"""Shared by every side of the fabric benchmark (imported in the project venv and in the osBrain venv).

Only the standard library and numpy here: the osBrain venv has neither agentcore nor msgpack.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

# the 40-byte tick of marketcore.schema.TICK_DTYPE (checked against it by main.py)
TICK_DTYPE = np.dtype([("ts", "<i8"), ("bid", "<f8"), ("ask", "<f8"), ("last", "<f8"), ("volume", "<f8")])
BATCH = 1000


def tick(ts: int) -> dict[str, Any]:
    """The small message: a dict the size of one quote (same keys for every system)."""
    return {"sym": "EURUSD", "ts": ts, "bid": 1.08421, "ask": 1.08423, "last": 1.08422, "volume": 1000.0}


def batch(n: int = BATCH) -> np.ndarray:
    arr = np.zeros(n, dtype=TICK_DTYPE)
    arr["bid"] = 1.08421
    arr["ask"] = 1.08423
    arr["ts"] = np.arange(n)
    return arr


def flood(send: Callable[[], Any], n: int) -> dict[str, float]:
    """Call ``send`` ``n`` times as fast as possible; the sender's own rate."""
    t0 = time.perf_counter()
    for _ in range(n):
        send()
    dt = time.perf_counter() - t0
    return {"sent": n, "seconds": dt}


def paced(send: Callable[[], Any], rate: float, n: int) -> dict[str, float]:
    """Call ``send`` at ``rate`` per second (sleep when far ahead, spin when close)."""
    period = 1.0 / rate
    perf, sleep = time.perf_counter, time.sleep
    t0 = perf()
    for i in range(n):
        target = t0 + i * period
        now = perf()
        if target - now > 0.0003:
            sleep(target - now - 0.0002)
        while perf() < target:
            pass
        send()
    dt = perf() - t0
    return {"sent": n, "seconds": dt}


class SinkState:
    """What a receiving side records: messages, rows, first/last arrival, one-way latencies (ns)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.n = 0
        self.rows = 0
        self.first = 0
        self.last = 0
        self.lat: list[int] = []

    def result(self) -> dict[str, float]:
        lat = np.asarray(self.lat, dtype=np.int64) if self.lat else None
        return {
            "received": self.n,
            "rows": self.rows,
            "seconds": (self.last - self.first) / 1e9 if self.n > 1 else 0.0,
            "p50_us": float(np.percentile(lat, 50)) / 1e3 if lat is not None else math.nan,
            "p99_us": float(np.percentile(lat, 99)) / 1e3 if lat is not None else math.nan,
        }


def pct_us(samples_ns: list[int]) -> tuple[float, float]:
    arr = np.asarray(samples_ns, dtype=np.int64)
    return float(np.percentile(arr, 50)) / 1e3, float(np.percentile(arr, 99)) / 1e3


class Adapter(Protocol):
    """One system under test: a source and a sink in two processes, driven from the benchmark process."""

    def send(self, what: str, n: int, rate: float = 0.0) -> dict[str, float]: ...  # what: tick|batch|push
    def reqrep(self, n: int) -> dict[str, float]: ...
    def sink_reset(self) -> None: ...
    def sink_result(self) -> dict[str, float]: ...


SIZES = {
    "full": {"flood": 60_000, "batches": 400, "push": 60_000, "paced_s": 0.6, "lat_n": 1500, "rtt": 2000},
    "quick": {"flood": 20_000, "batches": 150, "push": 20_000, "paced_s": 0.3, "lat_n": 600, "rtt": 600},
}


def _settle(a: Adapter, expect: int, key: str = "received", cap: float = 8.0) -> dict[str, float]:
    """Wait until the sink has everything or stops receiving for a while; return its result."""
    deadline = time.monotonic() + cap
    last, stable_since = -1, time.monotonic()
    while True:
        res = a.sink_result()
        if res[key] >= expect or time.monotonic() > deadline:
            return res
        if res[key] != last:
            last, stable_since = int(res[key]), time.monotonic()
        elif time.monotonic() - stable_since > 0.3:
            return res
        time.sleep(0.03)


def warm_up(a: Adapter, what: str = "tick", timeout: float = 10.0) -> None:
    """PUB/SUB slow joiner: publish until the subscriber sees something, then start clean."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        a.send(what, 5)
        time.sleep(0.05)
        if a.sink_result()["received"] > 0:
            break
    else:
        raise RuntimeError(f"subscriber never received a {what} message")
    time.sleep(0.1)
    a.sink_reset()


def run_suite(a: Adapter, size: str) -> dict[str, float]:
    """Every messaging measurement once; returns a flat {metric: value}."""
    z = SIZES[size]
    out: dict[str, float] = {}
    warm_up(a, "tick")
    warm_up(a, "batch")
    # PUB/SUB flood, small message
    snd = a.send("tick", z["flood"])
    res = _settle(a, z["flood"])
    out["flood_rx_msg_s"] = res["received"] / res["seconds"] if res["seconds"] else 0.0
    out["flood_tx_msg_s"] = snd["sent"] / snd["seconds"]
    out["flood_loss_pct"] = 100.0 * (1 - res["received"] / snd["sent"])
    a.sink_reset()
    # PUB/SUB flood, 1,000 ticks per numpy frame
    snd = a.send("batch", z["batches"])
    res = _settle(a, z["batches"])
    out["batch_rx_ticks_s"] = res["rows"] / res["seconds"] if res["seconds"] else 0.0
    out["batch_loss_pct"] = 100.0 * (1 - res["received"] / snd["sent"])
    a.sink_reset()
    # paced PUB/SUB
    for rate in (10_000, 40_000, 100_000):
        n = int(rate * z["paced_s"])
        snd = a.send("tick", n, rate)
        res = _settle(a, n)
        out[f"paced{rate // 1000}k_tx_msg_s"] = snd["sent"] / snd["seconds"]
        out[f"paced{rate // 1000}k_loss_pct"] = 100.0 * (1 - res["received"] / n)
        out[f"paced{rate // 1000}k_p50_us"] = res["p50_us"]
        out[f"paced{rate // 1000}k_p99_us"] = res["p99_us"]
        a.sink_reset()
    # one-way latency at 1,000 msg/s
    snd = a.send("tick", z["lat_n"], 1000)
    res = _settle(a, z["lat_n"])
    out["lat1k_p50_us"] = res["p50_us"]
    out["lat1k_p99_us"] = res["p99_us"]
    a.sink_reset()
    # PUSH/PULL flood
    snd = a.send("push", z["push"])
    res = _settle(a, z["push"])
    out["push_rx_msg_s"] = res["received"] / res["seconds"] if res["seconds"] else 0.0
    out["push_loss_pct"] = 100.0 * (1 - res["received"] / snd["sent"])
    a.sink_reset()
    # REQ/REP round trip
    rtt = a.reqrep(z["rtt"])
    out["rtt_p50_us"] = rtt["p50_us"]
    out["rtt_p99_us"] = rtt["p99_us"]
    return out


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    def med(k: str) -> float:
        vals = [r[k] for r in runs if not math.isnan(r[k])]
        return statistics.median(vals) if vals else math.nan

    return {k: med(k) for k in runs[0]}


def spread(runs: list[dict[str, float]]) -> dict[str, tuple[float, float]]:
    return {k: (min(r[k] for r in runs), max(r[k] for r in runs)) for k in runs[0]}
