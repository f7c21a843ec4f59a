"""agentcore messaging vs raw pyzmq (the ceiling) vs osBrain 0.6.5, two processes on one machine.

Run: ``uv run python bench/fabric/main.py [--quick] [--runs N] [--no-osbrain]``
Every system is measured in the same run with the same messages; the table shows medians of the runs (with
the min-max spread of agentcore) and the ratios agentcore/raw and agentcore/osBrain. Nothing is asserted.
osBrain runs in its own venv (.bench/osbrain-venv, created on first use with ``uv venv`` + ``uv pip install
osbrain==0.6.5``); it is skipped with a message when that fails. The table is also written to
bench/results/fabric.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import common  # noqa: E402
import zmq  # noqa: E402
from agentcore import process  # noqa: E402
from agentcore.nameserver import NameServerProcess  # noqa: E402

OB_VENV = ROOT / ".bench" / "osbrain-venv"
OB_PY = OB_VENV / "bin" / "python"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), *filter(None, [env.get("PYTHONPATH")])])
    return env


# -- raw pyzmq -----------------------------------------------------------------------------------------------
class RawAdapter:
    def __init__(self) -> None:
        ports = [free_port() for _ in range(5)]
        self.ctx = zmq.Context()
        args = [str(p) for p in ports[2:]]
        self.procs = [
            subprocess.Popen(
                [sys.executable, str(HERE / "raw_peer.py"), role, str(port), *args], env=child_env()
            )
            for role, port in (("sink", ports[1]), ("source", ports[0]))
        ]
        self.src, self.sink = self._ctrl(ports[0]), self._ctrl(ports[1])

    def _ctrl(self, port: int) -> zmq.Socket[Any]:
        s = self.ctx.socket(zmq.REQ)
        s.linger = 0
        s.connect(f"tcp://127.0.0.1:{port}")
        return s

    @staticmethod
    def _call(s: zmq.Socket[Any], **cmd: Any) -> dict[str, float]:
        s.send(json.dumps(cmd).encode())
        if not s.poll(60_000):
            raise RuntimeError(f"raw peer did not answer {cmd}")
        return json.loads(s.recv())  # type: ignore[no-any-return]

    def send(self, what: str, n: int, rate: float = 0.0) -> dict[str, float]:
        return self._call(self.src, op="send", what=what, n=n, rate=rate)

    def reqrep(self, n: int) -> dict[str, float]:
        return self._call(self.src, op="reqrep", n=n)

    def sink_reset(self) -> None:
        self._call(self.sink, op="reset")

    def sink_result(self) -> dict[str, float]:
        return self._call(self.sink, op="result")

    def close(self) -> None:
        for s in (self.src, self.sink):
            try:
                self._call(s, op="quit")
            except (RuntimeError, zmq.ZMQError):
                pass
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        self.ctx.destroy(linger=0)


# -- agentcore -----------------------------------------------------------------------------------------------
def _settings(ns_port: int) -> dict[str, Any]:
    return {"ns_port": ns_port, "log_level": "warning"}


class AgentcoreAdapter:
    def __init__(self, method: str) -> None:
        port = free_port()
        os.environ["PYTHONPATH"] = child_env()["PYTHONPATH"]
        self.ns = NameServerProcess(port=port, method=method)
        kw: dict[str, Any] = {"method": method} if method != "exec" else {}
        pend = [process.start(f"ac_agents:{cls}", name, _settings(port), **kw)
                for cls, name in (("Source", "bsrc"), ("Sink", "bsink"))]  # fmt: skip
        self.procs = [p.wait_ready(30) for p in pend]
        self.src, self.sink = (p.proxy() for p in self.procs)
        self.sink.setup()
        self.src.setup()

    def send(self, what: str, n: int, rate: float = 0.0) -> dict[str, float]:
        return self.src.send_many(what, n, rate)  # type: ignore[no-any-return]

    def reqrep(self, n: int) -> dict[str, float]:
        return self.src.reqrep(n)  # type: ignore[no-any-return]

    def sink_reset(self) -> None:
        self.sink.sink_reset()

    def sink_result(self) -> dict[str, float]:
        return self.sink.sink_result()  # type: ignore[no-any-return]

    def close(self) -> None:
        for p in (self.src, self.sink):
            p._pyroRelease()
        for proc in self.procs:
            proc.stop(5)
        self.ns.stop()


def agentcore_startup(runs: int, method: str) -> list[float]:
    out = []
    os.environ["PYTHONPATH"] = child_env()["PYTHONPATH"]
    kw: dict[str, Any] = {"method": method} if method != "exec" else {}
    for _ in range(runs):
        port = free_port()
        t0 = time.perf_counter()
        ns = NameServerProcess(port=port, method=method)
        pend = [process.start("ac_agents:Idle", f"idle{i}", _settings(port), **kw) for i in range(8)]
        procs = [p.wait_ready(30) for p in pend]
        out.append(time.perf_counter() - t0)
        for p in procs:
            p.proc.terminate() if hasattr(p.proc, "terminate") else None
        for p in procs:
            p.stop(5)
        ns.stop()
    return out


# -- osBrain -------------------------------------------------------------------------------------------------
def ensure_osbrain() -> str | None:
    """Path of the osBrain venv's python, or None (with the reason printed) when it cannot be had."""
    if (
        OB_PY.exists()
        and subprocess.run([str(OB_PY), "-c", "import osbrain"], capture_output=True).returncode == 0
    ):
        return str(OB_PY)
    print("osBrain: creating .bench/osbrain-venv (uv venv + uv pip install osbrain==0.6.5) ...", flush=True)
    try:
        subprocess.run(["uv", "venv", "-q", "-p", "3.11", str(OB_VENV)], check=True, capture_output=True)
        subprocess.run(["uv", "pip", "install", "-q", "--python", str(OB_PY), "osbrain==0.6.5", "numpy"],
                       check=True, capture_output=True)  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        err = getattr(exc, "stderr", b"") or b""
        print(f"osBrain SKIPPED: install failed: {exc} {err.decode(errors='replace')[-300:]}")
        return None
    return str(OB_PY)


def osbrain_runs(size: str, runs: int, startup_runs: int) -> dict[str, Any] | None:
    py = ensure_osbrain()
    if py is None:
        return None
    cmd = [py, str(HERE / "ob_bench.py"), size, str(runs), str(startup_runs)]
    proc = subprocess.run(cmd, env=child_env(),
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    for line in proc.stdout.splitlines():
        if line.startswith("@@RESULT@@"):
            return json.loads(line[len("@@RESULT@@") :])  # type: ignore[no-any-return]
    print(f"osBrain SKIPPED: benchmark failed (exit {proc.returncode}): {proc.stderr[-600:]}")
    return None


# -- report --------------------------------------------------------------------------------------------------
ROWS: list[tuple[str, str, str, str]] = [
    # key, label, better (hi/lo), target text
    ("flood_rx_msg_s", "PUB/SUB flood, small dict: received msg/s", "hi", ">= 0.7x raw, >= 10x osBrain"),
    ("flood_tx_msg_s", "PUB/SUB flood, small dict: sent msg/s", "hi", ""),
    ("flood_loss_pct", "PUB/SUB flood: loss %", "lo", ""),
    ("batch_rx_ticks_s", "PUB/SUB flood, 1,000 ticks/frame: ticks/s", "hi", ">= 5M ticks/s"),
    ("batch_loss_pct", "PUB/SUB batches: loss %", "lo", ""),
    ("paced10k_loss_pct", "paced 10k msg/s: loss %", "lo", ""),
    ("paced10k_p50_us", "paced 10k msg/s: one-way p50 µs", "lo", ""),
    ("paced10k_p99_us", "paced 10k msg/s: one-way p99 µs", "lo", ""),
    ("paced40k_tx_msg_s", "paced 40k msg/s: achieved send rate", "hi", ""),
    ("paced40k_loss_pct", "paced 40k msg/s: loss %", "lo", "0 %"),
    ("paced40k_p50_us", "paced 40k msg/s: one-way p50 µs", "lo", ""),
    ("paced40k_p99_us", "paced 40k msg/s: one-way p99 µs", "lo", ""),
    ("paced100k_tx_msg_s", "paced 100k msg/s: achieved send rate", "hi", ""),
    ("paced100k_loss_pct", "paced 100k msg/s: loss %", "lo", ""),
    ("paced100k_p50_us", "paced 100k msg/s: one-way p50 µs", "lo", ""),
    ("paced100k_p99_us", "paced 100k msg/s: one-way p99 µs", "lo", ""),
    ("lat1k_p50_us", "1k msg/s: one-way PUB->handler p50 µs", "lo", "<= 1.2x raw"),
    ("lat1k_p99_us", "1k msg/s: one-way PUB->handler p99 µs", "lo", "<= 0.5x osBrain"),
    ("push_rx_msg_s", "PUSH/PULL flood: received msg/s", "hi", ""),
    ("rtt_p50_us", "REQ/REP round trip p50 µs", "lo", ""),
    ("rtt_p99_us", "REQ/REP round trip p99 µs", "lo", ""),
    ("startup_ms", "name server + 8 agents ready, ms", "lo", "<= 250 ms"),
]


def fmt(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if abs(v) >= 100_000:
        return f"{v / 1e6:.2f}M"
    if abs(v) >= 1000:
        return f"{v / 1e3:.1f}k"
    return f"{v:.3g}" if abs(v) < 10 else f"{v:.0f}"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or math.isnan(a) or math.isnan(b) or b == 0:
        return "–"
    return f"{a / b:.2f}"


def table(cols: dict[str, dict[str, float]], spreads: dict[str, tuple[float, float]]) -> str:
    names = list(cols)
    head = ["metric", *names, "agentcore min–max", "ac/raw", "ac/osBrain", "target"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, label, _better, target in ROWS:
        vals = [cols[n].get(key) for n in names]
        ac, raw, ob = (
            cols.get("agentcore", {}).get(key),
            cols.get("raw pyzmq", {}).get(key),
            cols.get("osBrain", {}).get(key),
        )
        lo_hi = spreads.get(key)
        spread_txt = f"{fmt(lo_hi[0])}–{fmt(lo_hi[1])}" if lo_hi else ""
        lines.append(
            "| "
            + " | ".join([label, *map(fmt, vals), spread_txt, ratio(ac, raw), ratio(ac, ob), target])
            + " |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller counts, one run")
    ap.add_argument("--runs", type=int, default=0, help="runs per system (default 3, quick 1)")
    ap.add_argument("--startup-runs", type=int, default=0, help="start-up measurements (default 3, quick 1)")
    ap.add_argument("--no-osbrain", action="store_true")
    ap.add_argument(
        "--method", default="fork", choices=["fork", "exec"], help="agentcore process start method"
    )
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "fabric.md"))
    args = ap.parse_args()
    size = "quick" if args.quick else "full"
    runs = args.runs or (1 if args.quick else 3)
    srun = args.startup_runs or (1 if args.quick else 3)
    try:
        from marketcore.schema import TICK_DTYPE

        assert TICK_DTYPE == common.TICK_DTYPE, "bench tick dtype drifted from marketcore.schema"
    except ImportError:
        pass
    t_start = time.monotonic()
    cols: dict[str, dict[str, float]] = {}
    all_runs: dict[str, list[dict[str, float]]] = {}

    print(f"raw pyzmq: {runs} run(s) ...", flush=True)
    raw = RawAdapter()
    try:
        all_runs["raw pyzmq"] = [common.run_suite(raw, size) for _ in range(runs)]
    finally:
        raw.close()

    print(f"agentcore ({args.method} start): {runs} run(s) ...", flush=True)
    ac = AgentcoreAdapter(args.method)
    try:
        all_runs["agentcore"] = [common.run_suite(ac, size) for _ in range(runs)]
    finally:
        ac.close()
    ac_start = agentcore_startup(srun, args.method)
    for r, s in zip(all_runs["agentcore"], ac_start * runs, strict=False):
        r["startup_ms"] = s * 1000

    ob = None
    if not args.no_osbrain:
        print(f"osBrain {runs} run(s) ...", flush=True)
        ob = osbrain_runs(size, runs, srun)
    if ob is not None:
        all_runs["osBrain"] = ob["runs"]
        for r, s in zip(all_runs["osBrain"], ob["startup_s"] * runs, strict=False):
            r["startup_ms"] = s * 1000
    for name, rs in all_runs.items():
        cols[name] = common.median_of(rs)
    # start-up medians over their own runs (there may be more start-up runs than suite runs)
    cols["agentcore"]["startup_ms"] = sorted(ac_start)[len(ac_start) // 2] * 1000
    if ob is not None:
        cols["osBrain"]["startup_ms"] = sorted(ob["startup_s"])[len(ob["startup_s"]) // 2] * 1000
    spreads = common.spread(all_runs["agentcore"])
    spreads["startup_ms"] = (min(ac_start) * 1000, max(ac_start) * 1000)
    elapsed = time.monotonic() - t_start

    cmd = "uv run python bench/fabric/main.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    load = os.getloadavg()
    header = (
        f"# agentcore fabric benchmark\n\n`{cmd.strip()}` — "
        f"{dt.datetime.now().isoformat(timespec='seconds')}, {platform.node()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, pyzmq {zmq.__version__} "
        f"(libzmq {zmq.zmq_version()}), load average {load[0]:.2f}/{load[1]:.2f} at the end, "
        f"{runs} run(s) per system (median shown), {srun} start-up run(s), agentcore start method "
        f"{args.method!r}, {elapsed:.0f} s in all.\n\n"
        "Two processes on one machine, tcp on 127.0.0.1. Small message: a 6-key tick dict (msgpack for raw "
        "and agentcore, json for osBrain: never pickle); batches: 1,000 × 40-byte ticks as one numpy frame. "
        "Received rate = messages / (last - first arrival). One-way latency = arrival time.time_ns() - the "
        "send timestamp inside the message, measured in the handler.\n"
    )
    text = header + "\n" + table(cols, spreads) + "\n"
    if ob is None and not args.no_osbrain:
        text += "\nosBrain skipped (see the message above).\n"
    print("\n" + text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    (ROOT / ".bench").mkdir(exist_ok=True)
    (ROOT / ".bench" / "fabric-runs.json").write_text(json.dumps(all_runs, indent=1))


if __name__ == "__main__":
    main()
