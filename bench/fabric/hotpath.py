"""Per-message cost of agentcore's send and receive paths in one process (inproc), against raw pyzmq.

Run: ``uv run python bench/fabric/hotpath.py`` — ns of CPU time per message (median of 5), for the tick dict and a
1,000-tick numpy frame: raw ``send_multipart``/``recv_multipart`` + msgpack vs ``Channel.send`` /
``Channel.drain`` (decode, seq tracking, dispatch to a handler, counters).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import msgpack  # noqa: E402
import zmq  # noqa: E402
from agentcore.metrics import SocketStats  # noqa: E402
from agentcore.sockets import Channel, TopicHandlers  # noqa: E402
from agentcore.wire import Message  # noqa: E402

N = 20_000
REPEATS = 5


def pair(ctx: zmq.Context[Any]) -> tuple[zmq.Socket[Any], zmq.Socket[Any]]:
    pub, sub = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
    for s in (pub, sub):
        s.sndhwm = s.rcvhwm = 0
        s.linger = 0
    pub.bind("inproc://hot")
    sub.connect("inproc://hot")
    return pub, sub


def main() -> None:
    ctx = zmq.Context()
    push, pull = pair(ctx)
    packb, unpackb = msgpack.Packer(use_bin_type=True).pack, msgpack.unpackb
    arr = common.batch()
    seen = [0]

    def handler(msg: Message) -> None:
        seen[0] += 1

    out = Channel(push, "out", "PUSH", SocketStats("out", "PUSH"), "bench", None, lambda *_: None)
    inp = Channel(pull, "in", "PULL", SocketStats("in", "PULL"), "bench", TopicHandlers({"": handler}),
                  lambda *_: None)  # fmt: skip
    results = {}
    for what, data in (("tick", common.tick(1)), ("batch", arr)):

        def raw_send(what: str = what, data: Any = data) -> None:
            for _ in range(N):
                if what == "tick":
                    push.send_multipart([b"t", packb(data)], copy=True)
                else:
                    push.send_multipart([b"t", data], copy=False)

        def raw_recv(what: str = what) -> None:
            for _ in range(N):
                _t, p = pull.recv_multipart(zmq.NOBLOCK)
                unpackb(p) if what == "tick" else p

        def ac_send(data: Any = data) -> None:
            for _ in range(N):
                out.send(data, "t")

        def ac_recv() -> None:
            got = 0
            while got < N:
                got += inp.drain()

        # interleave send and receive so queues never grow beyond N
        rs, rr, acs, acr = [], [], [], []
        for _ in range(REPEATS):
            t0 = time.thread_time_ns()
            raw_send()
            t1 = time.thread_time_ns()
            raw_recv()
            t2 = time.thread_time_ns()
            ac_send()
            t3 = time.thread_time_ns()
            ac_recv()
            t4 = time.thread_time_ns()
            rs.append((t1 - t0) / N)
            rr.append((t2 - t1) / N)
            acs.append((t3 - t2) / N)
            acr.append((t4 - t3) / N)
        named = (("raw send", rs), ("raw recv", rr), ("ac send", acs), ("ac recv", acr))
        results[what] = {k: statistics.median(v) for k, v in named}
    assert inp.stats.malformed == {}, inp.stats.malformed
    print(
        "ns of CPU time per message (thread_time: robust to a shared machine), "
        f"median of {REPEATS} x {N} (inproc PUSH/PULL, one process)"
    )
    print(
        f"{'message':8} {'raw send':>9} {'ac send':>9} {'ratio':>6} "
        f"{'raw recv':>9} {'ac recv':>9} {'ratio':>6}"
    )
    for what, r in results.items():
        print(f"{what:8} {r['raw send']:9.0f} {r['ac send']:9.0f} {r['ac send'] / r['raw send']:6.2f} "
              f"{r['raw recv']:9.0f} {r['ac recv']:9.0f} {r['ac recv'] / r['raw recv']:6.2f}")  # fmt: skip
    push.close(0)
    pull.close(0)
    ctx.term()


if __name__ == "__main__":
    main()
