"""Platform benchmarks (issues 3, 11): tick->order latency through the four processes vs a raw pyzmq relay,
the agentcore relay and osBrain; full-replay time.

Run: ``uv run python bench/platform/main.py [--quick] [--runs N] [--seconds S] [--rates 1000,5000,...]
[--no-osbrain] [--no-replay] [--ns-port P]``; writes the tables to bench/results/platform.md too.

1. Latency. Three pipelines, each feeder -> router -> brain -> trader as four processes on tcp/127.0.0.1, fed
   one tick per message at each rate (1-ms bursts), ``rate x seconds`` ticks per rate:
   * **tradehive** — the real roles: router (bars 1s..1d x bid/ask/mid, partial bars, buffers), brain running
     ``tick_echo`` (one market order per tick batch, DEALER with acks), trader (risk, paper venue, portfolio,
     events); only the feeder (paced, stamps) and the trader (notes arrival) are bench subclasses;
   * **agentcore relay** — four bare agentcore agents that only relay (the fabric's share);
   * **raw pyzmq relay** — the same relay as four plain pyzmq processes (``raw_relay.py``): the floor;
   * **osBrain relay** — the same relay on osBrain 0.6.5 (.bench/osbrain-venv).
   Latency = trader arrival - feeder stamp of the tick (same clock, one machine); loss = 1 - orders/ticks.
   A rate whose backlog does not drain within 10 s ends that pipeline's sweep (higher rates: not run).
2. Full replay: every FXCM tick (13 days x EURUSD, NZDUSD) through ``tradehive run``'s topology at max speed,
   start to the router having ingested the last batch; plus the same work staged in one process.
3. Headline rows of the other results files in bench/results (never re-run here).
Nothing is asserted: medians, min-max over runs, ratios against the raw relay (and osBrain) measured in the
same run, the systems interleaved run after run. CPU per tick is summed over the four processes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
os.environ["PYTHONPATH"] = os.pathsep.join([str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])])

import latency  # noqa: E402
import pingpong  # noqa: E402
import raw_relay  # noqa: E402
import replay  # noqa: E402

OB_VENV = ROOT / ".bench" / "osbrain-venv"
OB_PY = OB_VENV / "bin" / "python"
DATA = Path(os.environ.get("TRADEHIVE_DATA", ROOT.parent / "shared" / "data"))
NO_PARTIALS = "tradehive, no partial bars"
RAW = "raw pyzmq relay"
SYSTEMS = ("tradehive", NO_PARTIALS, "agentcore relay", RAW, "osBrain relay")


# -- osBrain -------------------------------------------------------------------------------------------------
def ensure_osbrain() -> str | None:
    """The osBrain venv's python (shared with bench/fabric; created if missing), or None with the reason."""
    ok = (
        OB_PY.exists()
        and subprocess.run([str(OB_PY), "-c", "import osbrain"], capture_output=True).returncode == 0
    )
    if ok:
        return str(OB_PY)
    print("osBrain: creating .bench/osbrain-venv (uv venv + uv pip install osbrain==0.6.5) ...", flush=True)
    try:
        subprocess.run(["uv", "venv", "-q", "-p", "3.11", str(OB_VENV)], check=True, capture_output=True)
        subprocess.run(["uv", "pip", "install", "-q", "--python", str(OB_PY), "osbrain==0.6.5", "numpy"],
                       check=True, capture_output=True)  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"osBrain SKIPPED: install failed: {exc}")
        return None
    return str(OB_PY)


def osbrain_sweeps(rates: list[float], seconds: float, runs: int) -> list[list[dict[str, Any]]] | None:
    py = ensure_osbrain()
    if py is None:
        return None
    cmd = [py, str(HERE / "ob_pipeline.py"), str(seconds), str(runs), *map(str, rates)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYRO_", "AGENTCORE_"))}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("@@RESULT@@"):
            return json.loads(line[len("@@RESULT@@") :])["runs"]  # type: ignore[no-any-return]
    print(f"osBrain SKIPPED: pipeline failed (exit {proc.returncode}): {proc.stderr[-800:]}")
    return None


# -- formatting ----------------------------------------------------------------------------------------------
def fmt(v: float | None, unit: str = "") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if unit == "us":  # latencies: µs below 10 ms, ms above, s above 10 s
        if v >= 10_000_000:
            return f"{v / 1e6:.1f} s"
        if v >= 10_000:
            return f"{v / 1e3:.0f} ms"
        return f"{v:.0f} µs"
    if unit == "%":
        return f"{v:.1f} %" if v else "0"
    return f"{v:.3g}" if abs(v) < 100 else f"{v:,.0f}"


def med(vals: list[float]) -> float:
    vals = [v for v in vals if not (isinstance(v, float) and math.isnan(v))]
    return statistics.median(vals) if vals else math.nan


def span(vals: list[float]) -> str:
    return f"{fmt(min(vals), 'us')}–{fmt(max(vals), 'us')}"


def by_rate(sweeps: list[list[dict[str, Any]]], rate: float) -> list[dict[str, Any]]:
    return [r for sw in sweeps for r in sw if r["rate"] == rate]


def latency_table(results: dict[str, list[list[dict[str, Any]]]], rates: list[float]) -> str:
    head = ["rate (ticks/s)", "system", "runs", "p50", "p50 min–max", "p99", "p99 min–max", "loss", "drain",
            "p50 / raw", "p99 / raw", "p50 / osBrain"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for rate in rates:
        ob = by_rate(results.get("osBrain relay", []), rate)
        ob_p50 = med([r["p50_us"] for r in ob])
        raw = by_rate(results.get(RAW, []), rate)
        raw_p50, raw_p99 = med([r["p50_us"] for r in raw]), med([r["p99_us"] for r in raw])
        for system in SYSTEMS:
            rs = by_rate(results.get(system, []), rate)
            if system not in results:
                continue
            if not rs:
                lines.append(
                    f"| {rate:,.0f} | {system} | 0 | not run: saturated at a lower rate | | | | | | | | |"
                )
                continue
            p50s, p99s = [r["p50_us"] for r in rs], [r["p99_us"] for r in rs]
            p50, p99 = med(p50s), med(p99s)
            r50 = f"{p50 / raw_p50:.2f}" if raw and system != RAW and not math.isnan(raw_p50) else ""
            r99 = f"{p99 / raw_p99:.2f}" if raw and system != RAW and not math.isnan(raw_p99) else ""
            ratio = f"{p50 / ob_p50:.2g}" if ob and ob_p50 and not math.isnan(ob_p50) else "–"
            drain = max(r["drain_s"] for r in rs)
            loss = fmt(med([r["loss_pct"] for r in rs]), "%")
            if system not in (
                "osBrain relay",
                RAW,
            ):  # sequence numbers tell drops from a backlog still in flight
                gaps = sum(r["gaps"] + r["feeder_dropped"] for r in rs)
                loss += f" ({gaps} gaps)" if drain >= 10 or gaps else ""
            drained = f"{drain:.1f} s" + (" (cap)" if drain >= 10 else "")
            cells = [
                f"{rate:,.0f}", system, str(len(rs)), fmt(p50, "us"), span(p50s), fmt(med(p99s), "us"),
                span(p99s), loss, drained, r50, r99, ratio if system != "osBrain relay" else "",
            ]  # fmt: skip
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def saturation(results: dict[str, list[list[dict[str, Any]]]], rates: list[float]) -> str:
    """Per system: the highest rate it kept up with (zero loss, drained, median p50 under 10 ms)."""
    out = ["Where each system saturates (keeps up = zero loss, backlog drained, median p50 < 10 ms):", ""]
    for system in SYSTEMS:
        if system not in results:
            continue
        ok = None
        for rate in rates:
            rs = by_rate(results[system], rate)
            if not rs or med([r["loss_pct"] for r in rs]) > 0 or med([r["p50_us"] for r in rs]) >= 10_000:
                break
            ok = rate
        bad = next((r for r in rates if ok is None or r > ok), None)
        keeps = f"keeps up to {ok:,.0f} ticks/s" if ok else "saturated at the lowest rate"
        out.append(f"- {system}: {keeps}" + (f", saturated at {bad:,.0f}" if bad else " (every rate run)"))
    return "\n".join(out)


def cpu_table(results: dict[str, list[list[dict[str, Any]]]], rates: list[float]) -> str:
    roles = ("feeder", "router", "brain", "trader")
    head = ["rate", "system", *[f"{r} µs/tick" for r in roles], "sum µs/tick", "sum / agentcore relay",
            "sum / raw"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def total(system: str, rate: float) -> float:
        rs = by_rate(results.get(system, []), rate)
        return sum(med([r[f"cpu_us_per_tick_{role}"] for r in rs]) for role in roles) if rs else math.nan

    for rate in rates:
        relay, raw = total("agentcore relay", rate), total(RAW, rate)
        for system in ("tradehive", NO_PARTIALS, "agentcore relay", RAW):
            rs = by_rate(results.get(system, []), rate)
            if not rs:
                continue
            vals = [med([r[f"cpu_us_per_tick_{role}"] for r in rs]) for role in roles]
            ratios = [
                f"{sum(vals) / base:.2f}" if base and not math.isnan(base) else "–" for base in (relay, raw)
            ]
            lines.append(
                "| "
                + " | ".join(
                    [f"{rate:,.0f}", system, *[f"{v:.0f}" for v in vals], f"{sum(vals):.0f}", *ratios]
                )
                + " |"
            )
    return "\n".join(lines)


def minute_bars(data: Path, symbol: str, days: list[str]) -> int:
    """Rows of FXCM's own minute files over the replayed days (the router must build exactly these)."""
    n = 0
    for day in days:
        with zipfile.ZipFile(data / "fxcm" / "minute" / symbol.lower() / day) as z:
            text = z.read(z.namelist()[0])
        n += len([ln for ln in text.splitlines() if ln.strip()])
    return n


def replay_section(runs: int, ns_port: int) -> str:
    tick_dir = DATA / "fxcm" / "tick"
    if not tick_dir.is_dir():
        return f"## 2. Full replay\n\nSKIPPED: no FXCM ticks at {tick_dir} (set TRADEHIVE_DATA).\n"
    e2e: list[dict[str, Any]] = []
    free: list[dict[str, Any]] = []  # event time off: agents run free (issue 11's target)
    failed: list[dict[str, Any]] = []
    for i in range(runs):  # the two modes interleaved, run after run
        for event_time, into in ((True, e2e), (False, free)):
            print(f"replay: end-to-end run {i + 1}/{runs}, event time {'on' if event_time else 'off'} ...",
                  flush=True)  # fmt: skip
            res = replay.end_to_end(str(tick_dir), ns_port, event_time=event_time)
            (failed if "error" in res else into).append(res)
    if not e2e:
        return "## 2. Full replay\n\nEvery run FAILED: " + "; ".join(r["error"] for r in failed) + "\n"
    print("replay: staged in one process ...", flush=True)
    st = replay.stages(str(tick_dir))
    print("replay: raw pyzmq round trips (the event-time floor) ...", flush=True)
    rt = pingpong.round_trips()
    last = e2e[-1]
    checks = []
    for sym in sorted(last["bars_1m"]):
        days = sorted(p.name for p in (tick_dir / sym.lower()).glob("*.zip"))
        want, got = minute_bars(DATA, sym, days), last["bars_1m"][sym]
        verdict = "equal" if got + 1 == want else "DIFFERENT"
        checks.append(f"{sym} {got:,} closed 1m bars + 1 forming vs {want:,} in FXCM minute files: {verdict}")

    def row(label: str, key: str, target: str = "", of: list[dict[str, Any]] = e2e) -> str:
        vals = [r[key] if r[key] is not None else math.nan for r in of] or [math.nan]
        return f"| {label} | {med(vals):.2f} s | {min(vals):.2f}–{max(vals):.2f} s | {target} |"

    ticks, done, up = last["ticks"], med([r["done_s"] for r in e2e]), med([r["startup_s"] for r in e2e])
    read, work = st["read_s"], st["router_work_s"]
    rest = done - up - max(read, work)
    cpu = sorted(last.get("cpu_s", {}))
    # event time: one brain -> trader -> brain round trip per 1m bar and symbol, in series (pingpong.py)
    bars_max = max(v or 0 for v in last["bars_1m"].values())
    bars_all = sum(v or 0 for v in last["bars_1m"].values())
    floor = bars_max * rt["p50_us"] / 1e6
    lines = [
        "## 2. Full replay (all FXCM ticks, both symbols, max speed, whole platform)", "",
        "| measure | median | min–max | target |", "|---|---|---|---|",
        row("start to router done (every tick in, every bar built), event time on (the default)", "done_s",
            "≤ 10 s"),
        row("of which start-up (name server + 5 agents ready)", "startup_s"),
        row("start to feeder finished", "feeder_finished_s"),
        row("start to router done, event time off (agents run free)", "done_s", "≤ 2 s (issue 11)", free),
        row("of which start-up", "startup_s", "", free),
        f"| ticks / messages | {ticks:,} / {last['batches']:,} | | |",
        f"| end-to-end rate | {ticks / done / 1e6:.2f}M ticks/s "
        f"({ticks / (done - up) / 1e6:.2f}M after start-up) | | |",
        "", "Where the time goes (the same work in one process, no messaging, kernels warm):", "",
        "| stage | seconds | M ticks/s |", "|---|---|---|",
        "| feeder read + merge (ReplaySource, 26 zip files, 10k-tick batches) | "
        f"{read:.2f} | {ticks / read / 1e6:.2f} |",
        "| router work (clean_ticks + SymbolBook.add: tick buffer, 5 timeframes x 3 prices, bar buffers) | "
        f"{work:.2f} | {ticks / work / 1e6:.2f} |",
        f"| sum of the two (if they ran one after the other) | {read + work:.2f} | |",
        f"| rest after start-up: messaging, fan-out to brains and trader, less overlap | {rest:.2f} | |",
        "", "The event-time floor: a trading brain decides a bar once the trader has every fill before it out, "
        "and the trader matches quotes up to a bar once the brain has decided the one before, so each closed 1m "
        "bar costs one brain -> trader -> brain round trip per symbol, in series, unless the trader has said it "
        "is idle on the symbol since the brain's last order (`idle.<SYMBOL>`: nothing of the brain's can fill). "
        "The floor below is without that:", "",
        "| measure | value |", "|---|---|",
        f"| closed 1m bars (both symbols / the larger symbol) | {bars_all:,} / {bars_max:,} |",
        f"| raw pyzmq round trip, two processes, tcp 127.0.0.1 (p50 / p99 of 20,000) | {rt['p50_us']:.0f} / "
        f"{rt['p99_us']:.0f} µs |",
        f"| floor after start-up: larger symbol's bars x round trip p50 (the symbols' chains overlapping) | "
        f"{floor:.2f} s |",
        f"| event time on, after start-up, per bar of the larger symbol | "
        f"{(done - up) / max(bars_max, 1) * 1e6:.0f} µs ({(done - up) / max(floor, 1e-9):.1f}x the floor) |",
        "", "CPU seconds of each process from its start to router done (median; 2 cores shared by all):",
        "", "| event time | " + " | ".join(cpu) + " |", "|---|" + "---|" * len(cpu),
        *(f"| {mode} | " + " | ".join(f"{med([r['cpu_s'][n] for r in of if 'cpu_s' in r] or [math.nan]):.2f}"
                                      for n in cpu) + " |"
          for mode, of in (("on", e2e), ("off", free))),
        *(["", f"{len(failed)} run(s) FAILED and are left out: " + "; ".join(r["error"] for r in failed)]
          if failed else []),
        "", "Correctness: " + "; ".join(checks) + f"; router sequence gaps {last['router_gaps']}, "
        f"rejected {last['router_rejected'] or 'none'}.",
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def other_results(out: Path) -> str:
    lines = ["## 3. Other benchmarks (headline rows of their own results files; not re-run here)", ""]
    found = False
    for path in sorted((ROOT / "bench" / "results").glob("*.md")):
        if path.resolve() == out.resolve():
            continue
        text = path.read_text().splitlines()
        rows = [ln for ln in text if ln.startswith("|")][:8]
        first = next((ln for ln in text if ln.startswith("`")), "")
        lines += [f"### {path.name}", "", first, "", *rows, ""]
        found = True
    if not found:
        lines.append("None yet.")
    lines.append("bench/bars.py, bench/indicators.py and bench/replay_read.py print to stdout only "
                 "(no results file yet): run them directly.")  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="0.5 s per rate, one run")
    ap.add_argument("--runs", type=int, default=0, help="runs per pipeline (default 3, quick 1)")
    ap.add_argument(
        "--seconds", type=float, default=0.0, help="seconds of ticks per rate (default 1, quick 0.5)"
    )
    ap.add_argument("--rates", default="1000,10000,20000,50000,100000")
    ap.add_argument("--variant-runs", type=int, default=1, help="runs without partial bars (0: skip)")
    ap.add_argument("--no-osbrain", action="store_true")
    ap.add_argument("--no-replay", action="store_true")
    ap.add_argument(
        "--ns-port", type=int, default=19440, help="name-server ports used: this and the next two"
    )
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "platform.md"))
    args = ap.parse_args()
    runs = args.runs or (1 if args.quick else 3)
    seconds = args.seconds or (0.5 if args.quick else 1.0)
    rates = [float(r) for r in args.rates.split(",")]
    t_start = time.monotonic()
    load0 = os.getloadavg()

    results: dict[str, list[list[dict[str, Any]]]] = {"tradehive": [], "agentcore relay": [], RAW: []}
    for i in range(runs):  # interleaved: every system sees the same machine load, run after run
        print(f"latency run {i + 1}/{runs}: {RAW} ...", flush=True)
        results[RAW].append(raw_relay.sweep(rates, seconds, args.ns_port + 10))
        print(f"latency run {i + 1}/{runs}: tradehive ...", flush=True)
        results["tradehive"].append(latency.sweep(rates, seconds, latency.topology(args.ns_port)))
        print(f"latency run {i + 1}/{runs}: agentcore relay ...", flush=True)
        results["agentcore relay"].append(
            latency.sweep(rates, seconds, latency.relay_topology(args.ns_port + 1))
        )
    if args.variant_runs:
        results[NO_PARTIALS] = []
        for i in range(args.variant_runs):
            print(f"latency run {i + 1}/{args.variant_runs}: {NO_PARTIALS} ...", flush=True)
            topo = latency.topology(args.ns_port, {"publish_partial": False})
            results[NO_PARTIALS].append(latency.sweep(rates, seconds, topo))
    if not args.no_osbrain:
        print(f"latency: osBrain relay, {runs} run(s) ...", flush=True)
        ob = osbrain_sweeps(rates, seconds, runs)
        if ob is not None:
            results["osBrain relay"] = ob
    rep = replay_section(runs, args.ns_port + 2) if not args.no_replay else ""
    elapsed = time.monotonic() - t_start

    out = Path(args.out)
    cmd = "uv run python bench/platform/main.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    load = os.getloadavg()
    th = results["tradehive"]
    startup = med([sw[0]["startup_s"] for sw in th if sw])
    text = "\n".join([
        "# Platform benchmarks (issues 3, 11)", "",
        f"`{cmd.strip()}` — {dt.datetime.now().isoformat(timespec='seconds')}, {platform.node()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {load0[0]:.2f} at the start, "
        f"{load[0]:.2f} at the end (the machine is shared: expect 30-50 % run-to-run noise, see min–max), "
        f"{runs} run(s) per pipeline, {seconds:g} s of ticks per rate, {elapsed:.0f} s in all.", "",
        "## 1. Tick->order latency, feeder -> router -> brain -> trader (four processes, tcp 127.0.0.1)", "",
        "One tick per message at each rate (1-ms bursts); latency = trader handler entry - feeder stamp "
        "of the tick that caused the order; loss = 1 - orders at the trader / ticks published. "
        "*tradehive*: the real router/brain (tick_echo)/trader; the router and brain batch what they drain "
        "together (one order may answer several ticks), so its latency is read per tick: from each tick's "
        "feeder stamp to the trader's entry of the first order whose data time (SubmitOrder.data_ts_ns) "
        "reached it, and its loss = ticks no order reached (the same figures as the relays' when orders "
        "are one per tick); *no partial bars*: the same with the router's publish_partial off (forming bars "
        "otherwise go out every 0.1 s per symbol: 5 timeframes x 3 prices); *relay*: four agents that only "
        "forward (the fabric's share), on agentcore and on osBrain 0.6.5. "
        "Drain = wait after the last tick until the trader went quiet (tradehive: an order decided on the "
        "last tick); "
        "\"(cap)\" = a backlog still in flight after 10 s (the sweep stops there; loss then counts orders "
        "not yet delivered; \"gaps\" = messages really dropped, from sequence numbers). "
        "*raw pyzmq relay*: the agentcore relay's four stages as plain pyzmq processes (same messages, "
        "pacing and transport): the floor every ratio is read against. "
        "Targets (issue 11, tradehive): p50 ≤ 2x raw and p99 ≤ 1 ms at 1k and 10k ticks/s; zero loss and "
        "p99 ≤ 20 ms at 50k; CPU per tick summed over the four processes ≤ 1.5x the agentcore relay's at 10k.",
        "", latency_table(results, rates), "", saturation(results, rates), "",
        "CPU time per tick of each process (user+sys from /proc, median of runs; includes idle wake-ups, so "
        "low rates cost more per tick):", "", cpu_table(results, rates), "",
        f"tradehive pipeline start-up (name server + 4 agents ready, fork): {startup:.2f} s.", "",
        rep, other_results(out),
    ])  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    (ROOT / ".bench").mkdir(exist_ok=True)
    (ROOT / ".bench" / "platform-runs.json").write_text(json.dumps(results, indent=1))
    print(text)
    print(f"written to {out} (raw runs: .bench/platform-runs.json)")


if __name__ == "__main__":
    main()
