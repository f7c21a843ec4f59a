"""``make soak``: the whole platform on the simulator at a fixed tick rate for a set time, sampled over time.

Run: ``uv run python bench/soak/run.py [--rate 10000] [--duration 300] [--interval 10] [--security-dir DIR]
[--out bench/results/soak]``. Every ``interval`` seconds it records, per agent, resident memory (VmRSS) and open
file descriptors (``/proc``), the router's buffer fill, the feeder's published ticks (the achieved rate), the
trader's orders/fills, and the p99 of every hop latency over the interval (from the
``tradehive_hop_latency_seconds`` histograms). Writes ``<out>.csv``, ``<out>.md`` (first/last/max and the drift)
and ``<out>.png`` (pyqtgraph, offscreen). Nothing asserted: read the drift.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import time
import urllib.request
from pathlib import Path
from typing import Any

import msgspec
import Pyro5.api
import Pyro5.errors
from agentcore import naming
from agentcore.launcher import Launcher
from agentcore.testing import free_port
from tradehive.platform import SIM_SYMBOLS, build_topology

BUCKET = re.compile(r"^tradehive_hop_latency_seconds_bucket\{([^}]*)\} (\S+)$", re.M)


def _proc(pid: int) -> tuple[float, int]:
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return rss / 1024.0, len(os.listdir(f"/proc/{pid}/fd"))


def _buckets(url: str) -> dict[str, dict[float, float]]:
    with urllib.request.urlopen(url, timeout=5) as r:
        text = r.read().decode()
    out: dict[str, dict[float, float]] = {}
    for m in BUCKET.finditer(text):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        le = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
        out.setdefault(labels["hop"], {})[le] = float(m.group(2))
    return out


def _p99(now: dict[float, float], before: dict[float, float]) -> float:
    """p99 (upper bucket bound, seconds) of the observations between two cumulative snapshots; NaN if none."""
    bounds = sorted(now)
    counts = [now[b] - before.get(b, 0.0) for b in bounds]
    total = counts[-1] if counts else 0.0
    if total <= 0:
        return float("nan")
    return next((b for b, c in zip(bounds, counts, strict=True) if c >= 0.99 * total), float("inf"))


def _call(port: int, name: str, method: str, tries: int = 5) -> Any:
    for attempt in range(tries):  # a loop busy with a burst answers late: retry rather than abort the soak
        try:
            with Pyro5.api.Proxy(naming.locate("127.0.0.1", port).lookup(name)) as proxy:
                return getattr(proxy, method)()
        except Pyro5.errors.TimeoutError:
            if attempt == tries - 1:
                raise
    return None


def soak(rate: float, duration: float, interval: float, security_dir: str) -> list[dict[str, Any]]:
    naming.configure_pyro(10.0)
    port = free_port()
    topo = build_topology(ns_port=port, security_dir=security_dir, log_level="warning")
    # the rate split over the simulator's symbols; warm-up history kept short (6 h at 10k ticks/s is 216M ticks)
    feeder, router = topo.agents["feeder"], topo.agents["router"]
    fcfg = {**feeder.config, "sim_rate_hz": rate / len(SIM_SYMBOLS), "sim_history_s": 600.0}
    rcfg = {**router.config, "initial_history_s": 300.0}
    agents = {**topo.agents, "feeder": msgspec.structs.replace(feeder, config=fcfg),
              "router": msgspec.structs.replace(router, config=rcfg)}  # fmt: skip
    topo = msgspec.structs.replace(topo, agents=agents)
    launcher = Launcher(topo, live=False)
    launcher.start_all()
    rows: list[dict[str, Any]] = []
    try:
        urls = {n: _call(port, n, "status")["metrics_url"] for n in topo.agents}
        prev_hops = {n: _buckets(u) for n, u in urls.items()}
        prev_pub, t_prev = _call(port, "feeder", "status")["published_ticks"], time.monotonic()
        t0 = t_prev
        while time.monotonic() - t0 < duration:
            time.sleep(interval)
            now = time.monotonic()
            row: dict[str, Any] = {"t_s": round(now - t0, 1)}
            for sup in launcher.agents.values():
                if sup.proc is not None and sup.proc.alive():
                    row[f"rss_mb.{sup.name}"], row[f"fds.{sup.name}"] = _proc(sup.proc.pid)
                row[f"restarts.{sup.name}"] = len(sup.restarts)
            launcher.check()
            f = _call(port, "feeder", "status")
            row["ticks_per_s"] = round((f["published_ticks"] - prev_pub) / (now - t_prev))
            prev_pub, t_prev = f["published_ticks"], now
            r = _call(port, "router", "status")
            row["buffer_fill_max"] = max(
                (v for s in r["buffer_fill"].values() for v in s.values()), default=0.0
            )
            tr = _call(port, "trader", "status")
            row["orders"], row["fills"] = tr["orders"]["total"], tr["fills"]
            for name, url in urls.items():
                hops = _buckets(url)
                for hop, b in hops.items():  # a hop two agents observe (both brains): the worse of the two
                    p99 = round(_p99(b, prev_hops[name].get(hop, {})) * 1e6, 1)
                    seen = row.get(f"p99_us.{hop}", float("nan"))
                    row[f"p99_us.{hop}"] = p99 if seen != seen or p99 > seen else seen
                prev_hops[name] = hops
            rows.append(row)
            print(" ".join(f"{k}={v}" for k, v in row.items() if not k.startswith("restarts")), flush=True)
    finally:
        launcher.stop_all()
    return rows


def _summary(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    keys = [k for k in rows[0] if k != "t_s" and not k.startswith("restarts")]
    lines = [
        f"# Soak: simulator at {args.rate:.0f} ticks/s for {args.duration:.0f} s (sampled every {args.interval:.0f} s)",
        "",
        f"Command: `uv run python bench/soak/run.py --rate {args.rate:.0f} --duration {args.duration:.0f} "
        f"--interval {args.interval:.0f}{' --security-dir DIR' if args.security_dir else ''}`; security "
        f"{'on' if args.security_dir else 'off'}; {len(rows)} samples; machine load at the end "
        f"{os.getloadavg()[0]:.1f} (2 cores, shared).",
        "",
        "| series | first | last | max | last - first |",
        "|---|---|---|---|---|",
    ]
    for k in keys:
        vals = [r[k] for r in rows if isinstance(r.get(k), int | float) and r[k] == r[k]]
        if vals:
            lines.append(f"| {k} | {vals[0]:g} | {vals[-1]:g} | {max(vals):g} | {vals[-1] - vals[0]:+g} |")
    restarts = {k: rows[-1][k] for k in rows[-1] if k.startswith("restarts") and rows[-1][k]}
    lines += ["", f"Agent restarts during the run: {restarts or 'none'}."]
    return "\n".join(lines) + "\n"


def _plot(rows: list[dict[str, Any]], path: Path) -> bool:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        import pyqtgraph as pg
        import pyqtgraph.exporters
    except Exception as exc:  # noqa: BLE001 - the plot is optional; the CSV and summary are the record
        print(f"no plot: {exc}")
        return False
    app = pg.mkQApp()
    win = pg.GraphicsLayoutWidget(size=(1200, 900))
    win.setBackground("w")
    t = [r["t_s"] for r in rows]
    panels = [("RSS (MB)", "rss_mb."), ("open fds", "fds."), ("hop p99 (us)", "p99_us."),
              ("ticks/s, buffer fill x 10k", "ticks_per_s")]  # fmt: skip
    for i, (title, prefix) in enumerate(panels):
        plot = win.addPlot(row=i, col=0, title=title)
        plot.addLegend(offset=(-5, 5), labelTextColor="k", colCount=4)
        plot.showGrid(x=True, y=True, alpha=0.3)
        plot.getAxis("left").setWidth(70)  # five-digit labels (ticks/s, RSS) are dropped by a narrower axis
        keys = sorted({k for r in rows for k in r if k.startswith(prefix)})
        log = prefix == "p99_us."  # bucket bounds from 100 us to 10 s: only a log axis shows them all
        if log:
            plot.setLogMode(y=True)
            plot.setLabel("left", "us (log)")
        for j, k in enumerate(keys):
            ys = [float(r.get(k, float("nan"))) for r in rows]
            if log:  # an interval without observations (NaN) or past the last bucket (inf) is a gap
                ys = [y if 0 < y < float("inf") else float("nan") for y in ys]
                if all(y != y for y in ys):
                    continue
            plot.plot(t, ys, pen=pg.mkPen(pg.intColor(j, len(keys) + 1), width=2), name=k.split(".", 1)[-1],
                      connect="finite")  # fmt: skip
        if prefix == "ticks_per_s":
            plot.plot(
                t, [r["buffer_fill_max"] * 10_000 for r in rows], pen=pg.mkPen("b", width=2), name="fill"
            )
    win.show()  # offscreen: the layout is computed only once shown
    app.processEvents()
    exporter = pyqtgraph.exporters.ImageExporter(win.scene())
    exporter.parameters()["width"] = 1200
    exporter.export(str(path))
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=10_000.0, help="simulated ticks per second, all symbols")
    ap.add_argument("--duration", type=float, default=float(os.environ.get("SOAK_DURATION", "300")))
    ap.add_argument("--interval", type=float, default=10.0)
    ap.add_argument("--security-dir", default="")
    ap.add_argument("--out", default="bench/results/soak")
    ap.add_argument("--replot", action="store_true", help="only redraw <out>.png from <out>.csv")
    args = ap.parse_args()
    if args.replot:
        with open(Path(args.out).with_suffix(".csv")) as f:
            rows = [
                {k: float(v) if v not in ("", None) else float("nan") for k, v in r.items()}
                for r in csv.DictReader(f)
            ]
        return 0 if _plot(rows, Path(args.out).with_suffix(".png")) else 1
    rows = soak(args.rate, args.duration, args.interval, args.security_dir)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    keys = sorted({k for r in rows for k in r}, key=lambda k: (k != "t_s", k))
    with open(out.with_suffix(".csv"), "w", newline="") as f:
        w = csv.DictWriter(f, keys)
        w.writeheader()
        w.writerows(rows)
    out.with_suffix(".md").write_text(_summary(rows, args))
    plotted = _plot(rows, out.with_suffix(".png"))
    print(
        f"wrote {out.with_suffix('.csv')}, {out.with_suffix('.md')}{', ' + str(out.with_suffix('.png')) if plotted else ''}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
