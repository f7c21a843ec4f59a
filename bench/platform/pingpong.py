"""The floor under an event-time replay: one message there and one back between two plain pyzmq processes.

In event time a trading brain decides a bar only once the trader has said every fill before it is out, and the
trader matches quotes up to a bar only once the brain has decided the one before: one brain -> trader -> brain
round trip per bar and symbol, in series. ``round_trips(n)`` times ``n`` of them with nothing else done (PAIR
sockets, tcp on 127.0.0.1, a 16-byte message each way, the echo in a child process), so a replay of ``B`` bars
per symbol cannot take less than about ``B x`` the median however fast the strategy and the venue are.

Run alone: ``uv run python bench/platform/pingpong.py [N]``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

import zmq

_ECHO = """
import sys, zmq
ctx = zmq.Context(); s = ctx.socket(zmq.PAIR); s.connect(sys.argv[1])
while True:
    m = s.recv()
    s.send(m)
    if m == b"stop":
        break
"""


def round_trips(n: int = 20_000, warm: int = 1_000) -> dict[str, float]:
    """Median, p99 and mean wall-clock µs of ``n`` sequential round trips (after ``warm`` untimed ones)."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PAIR)
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    child = subprocess.Popen([sys.executable, "-c", _ECHO, f"tcp://127.0.0.1:{port}"])
    try:
        msg = b"0123456789abcdef"
        for _ in range(warm):
            sock.send(msg)
            sock.recv()
        times = []
        t_all = time.perf_counter()
        for _ in range(n):
            t = time.perf_counter_ns()
            sock.send(msg)
            sock.recv()
            times.append(time.perf_counter_ns() - t)
        total = time.perf_counter() - t_all
        sock.send(b"stop")
        sock.recv()
    finally:
        child.wait(timeout=10)
        sock.close(linger=0)
        ctx.term()
    times.sort()
    return {
        "n": float(n),
        "p50_us": statistics.median(times) / 1e3,
        "p99_us": times[int(0.99 * (n - 1))] / 1e3,
        "mean_us": total / n * 1e6,
    }


if __name__ == "__main__":
    print(round_trips(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000))
