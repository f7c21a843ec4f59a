"""Scheduling the four tradehive processes on a small machine (issue 11): blocking poll vs busy poll, and process
affinity, measured against the raw pyzmq relay in the same run.

    uv run python bench/platform/scheduling.py [--runs 3] [--rates 1000,10000,20000] [--ns-port 19760]

Variants of the tradehive pipeline (``latency.topology``: the real router, brain with ``tick_echo``, trader):

* **blocking** — the default: each agent's loop sleeps in ``zmq.Poller.poll`` until a socket or timer is due;
* **busy poll N µs** — ``AGENTCORE_BUSY_POLL_US=N``: after a pass that had work the loop polls without blocking
  for N µs before it sleeps again (no wake-up on the next message, a core burnt meanwhile);
* **pinned, stages alternate** — feeder and brain on CPU 0, router and trader on CPU 1 (every hop crosses cores,
  so neighbouring stages run at the same time);
* **pinned, stage pairs** — feeder and router on CPU 0, brain and trader on CPU 1 (two hops share a core: no
  cross-core hand-off there, but the pair takes turns).

Every thread of a process is pinned (``/proc/<pid>/task``), ZeroMQ's I/O thread included. The variants and the raw
relay are interleaved, run after run. Prints a Markdown table (medians, min-max, ratios to the raw relay's p50 and
CPU per tick summed over the four processes); nothing is asserted.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ["PYTHONPATH"] = os.pathsep.join([str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])])

import latency  # noqa: E402
import raw_relay  # noqa: E402
from main import RAW, by_rate, fmt, med, span  # noqa: E402

ROLES = ("feeder", "router", "brain", "trader")


def variants(busy_us: list[int]) -> dict[str, tuple[dict[str, Any], dict[str, set[int]] | None]]:
    """name -> (agentcore settings, affinity)."""
    out: dict[str, tuple[dict[str, Any], dict[str, set[int]] | None]] = {"blocking": ({}, None)}
    for us in busy_us:
        out[f"busy poll {us} µs"] = ({"busy_poll_us": us}, None)
    if (os.cpu_count() or 1) >= 2:
        out["pinned, stages alternate"] = ({}, {"feeder": {0}, "brain": {0}, "router": {1}, "trader": {1}})
        out["pinned, stage pairs"] = ({}, {"feeder": {0}, "router": {0}, "brain": {1}, "trader": {1}})
    return out


def cpu_sum(r: dict[str, Any]) -> float:
    return sum(r[f"cpu_us_per_tick_{role}"] for role in ROLES)


def table(results: dict[str, list[list[dict[str, Any]]]], rates: list[float]) -> str:
    head = ["rate (ticks/s)", "variant", "runs", "p50", "p50 min–max", "p99", "p99 min–max", "loss",
            "p50 / raw", "p99 / raw", "CPU µs/tick (4 processes)", "CPU / blocking"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for rate in rates:
        raw = by_rate(results[RAW], rate)
        raw50, raw99 = med([r["p50_us"] for r in raw]), med([r["p99_us"] for r in raw])
        base_cpu = med([cpu_sum(r) for r in by_rate(results["blocking"], rate)])
        for name, sweeps in results.items():
            rs = by_rate(sweeps, rate)
            if not rs:
                lines.append(f"| {rate:,.0f} | {name} | 0 | not run: saturated at a lower rate |" + " |" * 8)
                continue
            p50s, p99s = [r["p50_us"] for r in rs], [r["p99_us"] for r in rs]
            p50, p99 = med(p50s), med(p99s)
            cpu = med([cpu_sum(r) for r in rs]) if name != RAW else math.nan
            cells = [
                f"{rate:,.0f}", name, str(len(rs)), fmt(p50, "us"), span(p50s), fmt(p99, "us"), span(p99s),
                fmt(med([r["loss_pct"] for r in rs]), "%"),
                "" if name == RAW else f"{p50 / raw50:.2f}", "" if name == RAW else f"{p99 / raw99:.2f}",
                "–" if math.isnan(cpu) else f"{cpu:.0f}",
                "–" if math.isnan(cpu) or not base_cpu else f"{cpu / base_cpu:.2f}",
            ]  # fmt: skip
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=1.0, help="seconds of ticks per rate")
    ap.add_argument("--rates", default="1000,10000,20000")
    ap.add_argument("--busy-us", default="50,500", help="busy-poll windows to try, µs (comma-separated)")
    ap.add_argument("--ns-port", type=int, default=19760)
    args = ap.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    var = variants([int(u) for u in args.busy_us.split(",") if u])
    results: dict[str, list[list[dict[str, Any]]]] = {RAW: [], **{name: [] for name in var}}
    t0, load0 = time.monotonic(), os.getloadavg()[0]
    for i in range(args.runs):
        print(f"run {i + 1}/{args.runs}: {RAW} ...", flush=True)
        results[RAW].append(raw_relay.sweep(rates, args.seconds, args.ns_port + 10))
        for k, (name, (settings, affinity)) in enumerate(var.items()):
            print(f"run {i + 1}/{args.runs}: {name} ...", flush=True)
            topo = latency.topology(args.ns_port + k, settings=settings)
            results[name].append(latency.sweep(rates, args.seconds, topo, affinity))
    print(f"\n{args.runs} run(s) per variant, {args.seconds:g} s of ticks per rate, load average {load0:.2f} at the "
          f"start, {os.getloadavg()[0]:.2f} at the end, {time.monotonic() - t0:.0f} s in all.\n")  # fmt: skip
    print(table(results, rates))


if __name__ == "__main__":
    main()
