"""The floor: the agentcore relay's four stages as four plain pyzmq processes (no framework, no header).

feeder --PUB tick--> router --PUB tick--> brain --PUSH order--> trader (+ trader SUB to the router's ticks).
Same messages as ``ac_relay`` (the same small dict per tick and per order, msgpack through msgspec), same
1-ms burst pacing, same stamps, same transport (tcp 127.0.0.1), each stage a blocking ``zmq.Poller`` loop that
decodes what it receives and encodes what it sends, as a hand-written pyzmq program would. Every ratio of
``bench/platform`` is read against this.

``sweep(rates, seconds, port_base)`` starts the four processes (``python raw_relay.py ROLE PORT_BASE``),
warms them up and measures each rate like ``latency.sweep`` (same result keys). The feeder and the trader
answer JSON commands on a REP control socket.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgspec
import zmq

BURST_S = 0.001
HWM = 100_000
# ports from PORT_BASE: feeder PUB, router PUB, trader PULL, feeder control, trader control
FEED, MARKET, ORDERS, FEEDER_CTL, TRADER_CTL = range(5)


def _sock(ctx: zmq.Context[Any], kind: int) -> zmq.Socket[Any]:
    s = ctx.socket(kind)
    s.linger = 0
    s.sndhwm = HWM
    s.rcvhwm = HWM
    return s


def _ep(base: int, off: int) -> str:
    return f"tcp://127.0.0.1:{base + off}"


def feeder(ctx: zmq.Context[Any], base: int) -> None:
    pub, ctl = _sock(ctx, zmq.PUB), _sock(ctx, zmq.REP)
    pub.bind(_ep(base, FEED))
    ctl.bind(_ep(base, FEEDER_CTL))
    enc, now, perf, NB = msgspec.msgpack.Encoder().encode, time.time_ns, time.perf_counter, zmq.NOBLOCK
    topic = b"tick.EURUSD"
    while True:
        cmd = json.loads(ctl.recv())
        if cmd["op"] == "quit":
            ctl.send(b"{}")
            return
        rate, n = float(cmd["rate"]), int(cmd["n"])
        sent = dropped = 0
        t0 = perf()
        while sent < n:
            due = min(n, int((perf() - t0) * rate) + 1)
            for i in range(sent, due):
                try:
                    pub.send_multipart(
                        [topic, enc({"sym": "EURUSD", "ts": now(), "bid": 1.0842, "ask": 1.0843, "i": i})], NB
                    )
                except zmq.Again:
                    dropped += 1
            sent = due
            if sent < n:
                time.sleep(BURST_S)
        ctl.send(json.dumps({"sent": sent, "seconds": perf() - t0, "dropped": dropped}).encode())


def router(ctx: zmq.Context[Any], base: int) -> None:
    sub, pub = _sock(ctx, zmq.SUB), _sock(ctx, zmq.PUB)
    pub.bind(_ep(base, MARKET))
    sub.setsockopt(zmq.SUBSCRIBE, b"tick.")
    sub.connect(_ep(base, FEED))
    enc, dec = msgspec.msgpack.Encoder().encode, msgspec.msgpack.Decoder().decode
    while True:
        topic, payload = sub.recv_multipart()
        pub.send_multipart([topic, enc(dec(payload))], zmq.NOBLOCK)


def brain(ctx: zmq.Context[Any], base: int) -> None:
    sub, push = _sock(ctx, zmq.SUB), _sock(ctx, zmq.PUSH)
    sub.setsockopt(zmq.SUBSCRIBE, b"tick.")
    sub.connect(_ep(base, MARKET))
    push.connect(_ep(base, ORDERS))
    enc, dec = msgspec.msgpack.Encoder().encode, msgspec.msgpack.Decoder().decode
    n_orders = 0
    while True:
        _topic, payload = sub.recv_multipart()
        tick = dec(payload)
        n_orders += 1
        side = "BUY" if n_orders % 2 else "SELL"
        order = {
            "cid": f"echo-{n_orders}",
            "symbol": "EURUSD",
            "side": side,
            "qty": 1.0,
            "origin_ns": tick["ts"],
        }
        try:
            push.send(enc(order), zmq.NOBLOCK)
        except zmq.Again:
            pass


def trader(ctx: zmq.Context[Any], base: int) -> None:
    pull, sub, ctl = _sock(ctx, zmq.PULL), _sock(ctx, zmq.SUB), _sock(ctx, zmq.REP)
    pull.bind(_ep(base, ORDERS))
    ctl.bind(_ep(base, TRADER_CTL))
    sub.setsockopt(zmq.SUBSCRIBE, b"tick.")
    sub.connect(_ep(base, MARKET))
    dec, now = msgspec.msgpack.Decoder().decode, time.time_ns
    poller = zmq.Poller()
    for s in (pull, sub, ctl):
        poller.register(s, zmq.POLLIN)
    lat: list[int] = []
    quote = (0.0, 0.0)
    last_i, gaps = -1, 0
    while True:
        for s, _ in poller.poll():
            if s is pull:
                lat.append(now() - dec(pull.recv())["origin_ns"])
            elif s is sub:
                tick = dec(sub.recv_multipart()[1])
                quote = (tick["bid"], tick["ask"])
                i = tick["i"]
                if i > last_i + 1 and last_i >= 0:
                    gaps += i - last_i - 1
                last_i = i
            else:
                cmd = json.loads(ctl.recv())
                op = cmd["op"]
                if op == "arrived":
                    ctl.send(json.dumps(len(lat)).encode())
                elif op == "take":
                    out, lat = lat, []
                    ctl.send(json.dumps({"lat": out, "gaps": gaps, "quote": quote}).encode())
                    gaps, last_i = 0, -1
                else:
                    ctl.send(b"{}")
                    return


ROLES = {"feeder": feeder, "router": router, "brain": brain, "trader": trader}


class RawPipeline:
    """The four processes and two control sockets; the same measuring steps as ``latency.Pipeline``."""

    def __init__(self, port_base: int) -> None:
        t0 = time.perf_counter()
        self.procs = {
            role: subprocess.Popen([sys.executable, str(Path(__file__)), role, str(port_base)])
            for role in ("trader", "router", "feeder", "brain")
        }
        self.pids = {role: p.pid for role, p in self.procs.items()}
        self.ctx = zmq.Context()
        self.feeder = self._ctl(_ep(port_base, FEEDER_CTL))
        self.trader = self._ctl(_ep(port_base, TRADER_CTL))
        self.startup_s = time.perf_counter() - t0

    def _ctl(self, endpoint: str) -> zmq.Socket[Any]:
        s = self.ctx.socket(zmq.REQ)
        s.linger = 0
        s.rcvtimeo = 120_000
        s.connect(endpoint)
        return s

    @staticmethod
    def ask(sock: zmq.Socket[Any], **cmd: Any) -> Any:
        sock.send(json.dumps(cmd).encode())
        return json.loads(sock.recv())

    def warm_up(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.ask(self.feeder, op="pace", rate=1000, n=50)
            time.sleep(0.2)
            if self.ask(self.trader, op="arrived") > 0:
                time.sleep(0.5)
                self.ask(self.trader, op="take")
                return
        raise RuntimeError("raw relay: no order reached the trader during warm-up")

    def measure(self, rate: float, seconds: float) -> dict[str, Any]:
        import latency  # the shared summary and settle rules

        n = max(200, int(rate * seconds))
        cpu0 = {name: latency.cpu_seconds(pid) for name, pid in self.pids.items()}
        st = self.ask(self.feeder, op="pace", rate=rate, n=n)
        t0 = time.monotonic()
        last, since = -1, t0
        while True:
            got = self.ask(self.trader, op="arrived")
            now = time.monotonic()
            if got >= n or now - t0 > latency.SETTLE_CAP_S:
                break
            if got != last:
                last, since = got, now
            elif now - since > latency.SETTLE_IDLE_S:
                break
            time.sleep(0.05)
        drain = time.monotonic() - t0
        cpu = {f"cpu_us_per_tick_{name}": (latency.cpu_seconds(pid) - cpu0[name]) / max(1, st["sent"]) * 1e6
               for name, pid in self.pids.items()}  # fmt: skip
        trader = self.ask(self.trader, op="take")
        extra = {
            "drain_s": drain,
            "gaps": trader["gaps"],
            "resends": 0,
            "feeder_dropped": st["dropped"],
            **cpu,
        }
        brain = {"orders_sent": len(trader["lat"])}
        return latency.summarise(rate, st["sent"], st["seconds"], brain, trader, extra)

    def close(self) -> None:
        for sock in (self.feeder, self.trader):
            try:
                self.ask(sock, op="quit")
            except zmq.ZMQError:
                pass
            sock.close(linger=0)
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        self.ctx.term()


def sweep(rates: list[float], seconds: float, port_base: int) -> list[dict[str, Any]]:
    """As ``latency.sweep`` for the raw relay (stops after a rate whose backlog did not drain)."""
    import latency

    pipe = RawPipeline(port_base)
    try:
        pipe.warm_up()
        out = []
        for rate in rates:
            res = pipe.measure(rate, seconds)
            res["startup_s"] = pipe.startup_s
            out.append(res)
            if res["drain_s"] >= latency.SETTLE_CAP_S:
                break
        return out
    finally:
        pipe.close()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ROLES:
        os.environ.setdefault("PYTHONUNBUFFERED", "1")
        context = zmq.Context()
        try:
            ROLES[sys.argv[1]](context, int(sys.argv[2]))
        except KeyboardInterrupt:
            pass
    else:  # a quick look: uv run python bench/platform/raw_relay.py [rate ...]
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        for r in sweep([float(a) for a in sys.argv[1:]] or [1000.0, 10000.0], 1.0, 19470):
            print({k: (round(v, 1) if isinstance(v, float) else v) for k, v in r.items()})
