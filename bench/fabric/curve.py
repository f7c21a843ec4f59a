"""The cost of CurveZMQ: throughput and round-trip latency, plain TCP vs CURVE (+ a ZAP handler), same machine.

Run: ``uv run python bench/fabric/curve.py [--quick]``. Two processes over tcp loopback; PUB->SUB throughput
for small (64 B, one tick) and batched (4 KiB, ~100 ticks) messages, and REQ/REP round trips. Each case runs
``--runs`` times and reports the median and the CURVE/plain ratio measured in the same run. Nothing asserted.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import time
from typing import Any

import zmq
from zmq.auth.thread import ThreadAuthenticator

_MP = mp.get_context("spawn")  # a fresh interpreter: never fork a process holding a live ZeroMQ context
SERVER = zmq.curve_keypair()
CLIENT = zmq.curve_keypair()


def _server_sock(ctx: zmq.Context[Any], kind: int, curve: bool) -> zmq.Socket[Any]:
    sock = ctx.socket(kind)
    if curve:
        sock.curve_publickey, sock.curve_secretkey = SERVER
        sock.curve_server = True
        sock.zap_domain = b"bench"
    sock.linger = 0
    sock.sndhwm = sock.rcvhwm = 0
    return sock


def _client_sock(ctx: zmq.Context[Any], kind: int, curve: bool, keys: Any = None) -> zmq.Socket[Any]:
    sock = ctx.socket(kind)
    if curve:
        client, server_public = keys or (CLIENT, SERVER[0])
        sock.curve_publickey, sock.curve_secretkey = client
        sock.curve_serverkey = server_public
    sock.linger = 0
    sock.sndhwm = sock.rcvhwm = 0
    return sock


class _Allow:
    def callback(self, domain: str, key: bytes) -> bool:
        return key == CLIENT[0]


def _auth(ctx: zmq.Context[Any], curve: bool) -> ThreadAuthenticator | None:
    if not curve:
        return None
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_curve_callback("bench", _Allow())
    return auth


def _subscriber(port: int, n: int, curve: bool, out: Any, keys: Any) -> None:
    ctx = zmq.Context()
    sock = _client_sock(ctx, zmq.SUB, curve, keys)
    sock.setsockopt(zmq.SUBSCRIBE, b"")
    sock.connect(f"tcp://127.0.0.1:{port}")
    sock.recv()  # the first (warm-up) message: connected
    out.put("ready")
    t0 = None
    got = 0
    while got < n:
        if not sock.poll(10_000):
            break
        sock.recv()
        if t0 is None:
            t0 = time.perf_counter()
        got += 1
    out.put((got, time.perf_counter() - (t0 or time.perf_counter())))
    sock.close()
    ctx.term()


def throughput(size: int, n: int, curve: bool) -> float:
    ctx = zmq.Context()
    auth = _auth(ctx, curve)
    pub = _server_sock(ctx, zmq.PUB, curve)
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    q: Any = _MP.Queue()
    proc = _MP.Process(target=_subscriber, args=(port, n, curve, q, (CLIENT, SERVER[0])))
    proc.start()
    payload = b"x" * size
    deadline = time.monotonic() + 20
    while q.empty() and time.monotonic() < deadline:
        pub.send(b"warm")
        time.sleep(0.01)
    q.get(timeout=5)
    for _ in range(n + 1000):  # a few extra: the SUB side may have counted the first after warm-up
        pub.send(payload)
    got, dt = q.get(timeout=60)
    proc.join(10)
    pub.close()
    if auth:
        auth.stop()
    ctx.term()
    return got / dt if dt > 0 else float("nan")


def _replier(curve: bool, keys: Any, out: Any) -> None:
    """The REP side binds (the server, as a router's history socket does), with its ZAP handler."""
    global SERVER, CLIENT
    CLIENT, SERVER = keys
    ctx = zmq.Context()
    auth = _auth(ctx, curve)
    sock = _server_sock(ctx, zmq.REP, curve)
    out.put(sock.bind_to_random_port("tcp://127.0.0.1"))
    while True:
        msg = sock.recv()
        sock.send(msg)
        if msg == b"stop":
            break
    sock.close()
    if auth:
        auth.stop()
    ctx.term()


def latency(n: int, curve: bool) -> tuple[float, float]:
    q: Any = _MP.Queue()
    proc = _MP.Process(target=_replier, args=(curve, (CLIENT, SERVER), q))
    proc.start()
    port = q.get(timeout=60)
    ctx = zmq.Context()
    req = _client_sock(ctx, zmq.REQ, curve)
    req.connect(f"tcp://127.0.0.1:{port}")
    payload = b"x" * 64
    for _ in range(200):  # warm-up (and the handshake)
        req.send(payload)
        req.recv()
    rtts = []
    for _ in range(n):
        t0 = time.perf_counter()
        req.send(payload)
        req.recv()
        rtts.append(time.perf_counter() - t0)
    req.send(b"stop")
    req.recv()
    proc.join(10)
    req.close()
    ctx.term()
    rtts.sort()
    return rtts[len(rtts) // 2] * 1e6, rtts[int(len(rtts) * 0.99)] * 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int, default=0)
    args = ap.parse_args()
    runs = args.runs or (2 if args.quick else 5)
    n_small, n_big, n_rtt = (50_000, 20_000, 2_000) if args.quick else (300_000, 100_000, 10_000)
    print(
        f"CurveZMQ cost, {runs} runs each, medians (PUB->SUB and REQ<->REP between two processes, tcp loopback)"
    )
    for size, n in ((64, n_small), (4096, n_big)):
        plain = statistics.median(throughput(size, n, False) for _ in range(runs))
        curve = statistics.median(throughput(size, n, True) for _ in range(runs))
        print(f"  PUB->SUB {size:>5} B: plain {plain:>10,.0f} msg/s  curve {curve:>10,.0f} msg/s  "
              f"curve/plain {curve / plain:.2f}  (+{(1 / curve - 1 / plain) * 1e6:.2f} us/msg)")  # fmt: skip
    lat = {c: [latency(n_rtt, c) for _ in range(runs)] for c in (False, True)}
    for name, c in (("plain", False), ("curve", True)):
        p50 = statistics.median(x[0] for x in lat[c])
        p99 = statistics.median(x[1] for x in lat[c])
        print(f"  REQ<->REP 64 B round trip, {name}: p50 {p50:.1f} us  p99 {p99:.1f} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
