"""The ceiling: the same messages between two plain pyzmq processes (no header, no framework).

``python raw_peer.py source|sink CONTROL_PORT [SOURCE_PUB_PORT SOURCE_PUSH_PORT SINK_REP_PORT]``.
Ticks travel as ``[topic, msgpack(dict)]``, batches as ``[topic, raw numpy buffer]`` (zero-copy send);
the sink decodes every message like agentcore does. Driven over a JSON REQ/REP control socket.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import common
import msgpack
import numpy as np
import zmq

HWM = 100_000


def _sock(ctx: zmq.Context[Any], kind: int) -> zmq.Socket[Any]:
    s = ctx.socket(kind)
    s.linger = 0
    s.sndhwm = HWM
    s.rcvhwm = HWM
    return s


def source(
    ctrl: zmq.Socket[Any], ctx: zmq.Context[Any], pub_port: int, push_port: int, rep_port: int
) -> None:
    pub, push, req = _sock(ctx, zmq.PUB), _sock(ctx, zmq.PUSH), _sock(ctx, zmq.REQ)
    pub.bind(f"tcp://127.0.0.1:{pub_port}")
    push.bind(f"tcp://127.0.0.1:{push_port}")
    req.connect(f"tcp://127.0.0.1:{rep_port}")
    packb, now, tick, arr = msgpack.Packer(use_bin_type=True).pack, time.time_ns, common.tick, common.batch()
    NB = zmq.NOBLOCK

    def send_tick() -> None:
        try:
            pub.send_multipart([b"tick", packb(tick(now()))], NB)
        except zmq.Again:
            pass

    def send_push() -> None:
        try:
            push.send_multipart([b"", packb(tick(now()))], NB)
        except zmq.Again:
            pass

    def send_batch() -> None:
        arr["ts"][0] = now()
        try:
            pub.send_multipart([b"batch", arr], NB, copy=False)
        except zmq.Again:
            pass

    fns = {"tick": send_tick, "push": send_push, "batch": send_batch}
    while True:
        cmd = json.loads(ctrl.recv())
        op = cmd["op"]
        if op == "send":
            fn = fns[cmd["what"]]
            res = common.paced(fn, cmd["rate"], cmd["n"]) if cmd["rate"] else common.flood(fn, cmd["n"])
        elif op == "reqrep":
            out = []
            for i in range(cmd["n"]):
                t0 = time.perf_counter_ns()
                req.send(packb(tick(i)))
                msgpack.unpackb(req.recv())
                out.append(time.perf_counter_ns() - t0)
            p50, p99 = common.pct_us(out)
            res = {"p50_us": p50, "p99_us": p99}
        elif op == "quit":
            ctrl.send(b"{}")
            return
        else:
            res = {}
        ctrl.send(json.dumps(res).encode())


def sink(ctrl: zmq.Socket[Any], ctx: zmq.Context[Any], pub_port: int, push_port: int, rep_port: int) -> None:
    sub, pull, rep = _sock(ctx, zmq.SUB), _sock(ctx, zmq.PULL), _sock(ctx, zmq.REP)
    sub.setsockopt(zmq.SUBSCRIBE, b"tick")
    sub.setsockopt(zmq.SUBSCRIBE, b"batch")
    sub.connect(f"tcp://127.0.0.1:{pub_port}")
    pull.connect(f"tcp://127.0.0.1:{push_port}")
    rep.bind(f"tcp://127.0.0.1:{rep_port}")
    state = common.SinkState()
    unpackb, now, NB = msgpack.unpackb, time.time_ns, zmq.NOBLOCK
    poller = zmq.Poller()
    for s in (ctrl, sub, pull, rep):
        poller.register(s, zmq.POLLIN)

    def drain(s: zmq.Socket[Any]) -> None:
        st = state
        while True:
            try:
                topic, payload = s.recv_multipart(NB)
            except zmq.Again:
                return
            t = now()
            if not st.n:
                st.first = t
            st.n += 1
            st.last = t
            if topic == b"batch":
                st.rows += len(np.frombuffer(payload, dtype=common.TICK_DTYPE))
            else:
                st.lat.append(t - unpackb(payload)["ts"])

    while True:
        for s, _ in poller.poll(100):
            if s is ctrl:
                cmd = json.loads(ctrl.recv())
                if cmd["op"] == "reset":
                    state.reset()
                    ctrl.send(b"{}")
                elif cmd["op"] == "result":
                    ctrl.send(json.dumps(state.result()).encode())
                else:
                    ctrl.send(b"{}")
                    return
            elif s is rep:
                rep.send(msgpack.packb(unpackb(rep.recv())))
            else:
                drain(s)


def main() -> None:
    role, ctrl_port, pub_port, push_port, rep_port = sys.argv[1], *map(int, sys.argv[2:6])
    ctx = zmq.Context()
    ctrl = ctx.socket(zmq.REP)
    ctrl.linger = 0
    ctrl.bind(f"tcp://127.0.0.1:{ctrl_port}")
    (source if role == "source" else sink)(ctrl, ctx, pub_port, push_port, rep_port)
    ctx.destroy(linger=0)


if __name__ == "__main__":
    main()
