"""Remote control of agent processes: attributes, helper threads, failing handlers, timeouts, bad input."""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.request
from typing import Any

import msgpack
import pytest
import zmq
from agentcore import wire
from agentcore.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def _count(proxy: Any, alias: str) -> int:
    return int(proxy.summary(alias)["counts"].get(alias, 0))


def _http(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_remote_attributes(agents: Any) -> None:
    p = agents.spawn("attrs").proxy()
    assert p.get_attr("knob") == 0
    assert p.set_attr("knob", 42) == 0  # returns the previous value
    assert p.get_attr("knob") == 42
    assert p.status()["knob"] == 42  # the loop sees the new value
    assert p.set_attr("label", "changed") == "initial"
    for name in ("counter", "name", "_stopping", "settings"):
        with pytest.raises(AttributeError, match="not a remote attribute"):
            p.get_attr(name)
        with pytest.raises(AttributeError, match="not a remote attribute"):
            p.set_attr(name, 1)
    assert p.counters()["counter"] == 0  # the refused set_attr changed nothing
    assert p.ping() == "pong"


def test_pass_end_hooks_run_once_per_pass_after_its_work_and_survive_errors(agents: Any) -> None:
    """Agent.at_pass_end: two timers due in one pass are both done when the hook first sees either (the hook runs
    after the pass's work, not between); a hook that raises is counted and the loop and the other hooks go on."""
    p = agents.spawn("passend").proxy()
    errors0 = p.status()["errors"]
    p.pass_end_probe(True)
    seen = wait_until(lambda: len(s := p.passes_seen()) >= 3 and s, 10, message="pass-end hook called")
    assert seen[0] == [1, 1]
    assert p.status()["errors"] == errors0 + 1  # the failing hook, once
    assert p.ping() == "pong"


def test_busy_poll_handles_every_message_timer_and_call_and_sleeps_when_idle(agents: Any) -> None:
    """AGENTCORE_BUSY_POLL_US: messages in order, timers and remote calls as with a blocking poll; once nothing
    has come for the window the loop blocks in poll again instead of spinning a core."""
    sink = agents.spawn("spinner", settings={"busy_poll_us": 20_000}).proxy()
    src = agents.spawn("feeder").proxy()
    sink.bind_alias("PULL", "in")
    src.connect_alias("spinner.in", alias="out")
    for i in range(20):
        src.send_many("out", 10, start=10 * i)
        time.sleep(0.005 * (i % 5))  # bursts inside and outside the spin window
    wait_until(lambda: _count(sink, "in") >= 200, 20, message="200 messages handled")
    assert [r[5]["i"] for r in sink.summary("in")["records"]] == list(range(200))
    sink.pass_end_probe()
    seen = wait_until(
        lambda: p if (p := sink.passes_seen()) else None, 10, message="timers and pass-end hook"
    )
    assert seen[0] == [1, 1]
    time.sleep(0.5)  # the probe's timers are done: only the agent's own slow timers wake it now

    def cpu_s(pid: int) -> float:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    pid = sink.status()["pid"]
    c0, t0 = cpu_s(pid), time.monotonic()
    time.sleep(2.0)
    idle_share = (cpu_s(pid) - c0) / (time.monotonic() - t0)
    assert idle_share < 0.3, f"an idle busy-poll agent used {idle_share:.0%} of a core"
    assert sink.ping() == "pong"


@pytest.mark.parametrize("mode", ["post", "safe_call"])
def test_helper_threads_calls_run_in_loop(agents: Any, mode: str) -> None:
    p = agents.spawn(f"hammer-{mode.replace('_', '')}").proxy()
    threads, calls = 4, 2500
    p.hammer(threads, calls, mode)
    c = wait_until(
        lambda: (c := p.counters())["threads_alive"] == 0 and c["counter"] >= threads * calls and c,
        60,
        message="hammer done",
    )
    time.sleep(0.2)  # nothing more arrives late
    c = p.counters()
    assert c["thread_errors"] == []
    assert c["counter"] == threads * calls  # exact: no lost or doubled increment
    assert c["off_loop_calls"] == 0
    assert c["errors"] == 0


def test_failing_handler_and_timer_do_not_stop_the_loop(agents: Any) -> None:
    sink = agents.spawn("fragile").proxy()
    src = agents.spawn("feeder").proxy()
    sink.bind_alias("PULL", "in")
    src.connect_alias("fragile.in", alias="out")
    for i in range(10):
        src.send_data("out", {"raise": f"boom {i}"})
        src.send_many("out", 5, start=5 * i)
    wait_until(lambda: _count(sink, "in") >= 60, 20, message="60 messages handled")
    records = sink.summary("in")["records"]
    good = [r[5]["i"] for r in records if "i" in r[5]]
    assert good == list(range(50))  # every message after a failure was handled, in order
    st = sink.status()
    assert st["sockets"]["in"]["handler_errors"] == 10
    assert st["errors"] == 10
    assert "ValueError: boom 9" in st["last_errors"][-1]
    sink.start_timer(0.05, True)
    wait_until(lambda: sink.counters()["timer_errors"] >= 3, 20, message="timer errors counted")
    src.send_many("out", 1, start=1000)
    wait_until(lambda: _count(sink, "in") >= 61, 20, message="still handling after timer errors")


def test_request_timeout_then_socket_works_again(agents: Any) -> None:
    server = agents.spawn("slow").proxy()
    client = agents.spawn("asker").proxy()
    server.bind_alias("REP", "api")
    client.connect_alias("slow.api", alias="api")
    assert client.ask("api", {"n": 1}, 10.0)["reply"]["echo"] == {"n": 1}
    t0 = time.monotonic()
    out = client.ask("api", {"sleep": 2.0}, 0.3)
    assert out["error"] == "RequestTimeout", out
    assert time.monotonic() - t0 < 1.9  # it did not wait for the slow answer
    # the REQ socket was reset: the next request gets its own answer, not the stale one
    out = client.ask("api", {"n": 2}, 15.0)
    assert out == {"reply": {"echo": {"n": 2}, "by": "slow"}}
    assert client.status()["sockets"]["api"]["request_timeouts"] == 1
    assert client.ask("api", {"n": 3}, 10.0)["reply"]["echo"] == {"n": 3}


def _malformed_metric(text: str, agent: str, alias: str) -> dict[str, float]:
    out = {}
    pat = re.compile(r"^agentcore_malformed_messages_total\{(?P<labels>[^}]*)\} (?P<v>\S+)$", re.M)
    for m in pat.finditer(text):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m["labels"]))
        if labels.get("agent") == agent and labels.get("alias") == alias:
            out[labels["reason"]] = float(m["v"])
    return out


def _bad_frames() -> list[list[bytes]]:
    good_header = {"v": 1, "k": "m", "t": "", "p": "raw", "s": 1, "ns": 1}
    return [
        [b"", b"\xc1\xc1garbage", b"x"],  # header is not msgpack
        [b"", msgpack.packb({**good_header, "v": 99}), msgpack.packb(1)],  # wrong version
        [b"", msgpack.packb(good_header)],  # a frame missing
        [b"", msgpack.packb({**good_header, "k": "z"}), b""],  # unknown kind
    ]


EXPECTED = {"bad header": 2, "version": 1, "frame count": 1}


@pytest.mark.parametrize("pattern", ["PULL", "SUB", "REP"])
def test_malformed_frames_are_counted_and_survived(agents: Any, free_port: Any, pattern: str) -> None:
    p = agents.spawn(f"victim-{pattern.lower()}").proxy()
    ctx = zmq.Context()
    try:
        if pattern == "SUB":  # the agent connects its SUB to a raw PUB bound here
            raw = ctx.socket(zmq.PUB)
            port = raw.bind_to_random_port("tcp://127.0.0.1")
            p.connect_alias(f"tcp://127.0.0.1:{port}", alias="in", pattern="SUB")

            def probe_frames() -> bool:
                raw.send_multipart(wire.encode("", {"warm": 1}, sender="raw", seq=0))
                return _count(p, "in") > 0

            wait_until(probe_frames, 30, message="SUB connected")
        else:
            endpoint = p.bind_alias(pattern, "in")
            raw = ctx.socket(zmq.PUSH if pattern == "PULL" else zmq.REQ)
            raw.connect(endpoint)
        raw.linger = 0
        for frames in _bad_frames():
            raw.send_multipart(frames)
            if pattern == "REP":  # the agent answers every request, a malformed one with an error reply
                assert raw.poll(15_000), "REP agent did not answer a malformed request"
                reply = wire.decode(raw.recv_multipart())
                assert reply.kind == wire.KIND_ERROR and "WireError" in reply.data
        raw.send_multipart(wire.encode("", {"i": 7}, sender="raw", seq=0))
        if pattern == "REP":
            assert raw.poll(15_000)
            assert wire.decode(raw.recv_multipart()).data["echo"] == {"i": 7}
        wait_until(
            lambda: any(r[5] == {"i": 7} for r in p.summary("in")["records"]),
            20,
            message="valid message handled after the bad ones",
        )
        st = p.status()
        assert st["sockets"]["in"]["malformed"] == EXPECTED
        status, body = _http(st["metrics_url"])
        assert status == 200
        assert _malformed_metric(body.decode(), p.status()["name"], "in") == {
            k: float(v) for k, v in EXPECTED.items()
        }
    finally:
        ctx.destroy(linger=0)


def test_sequence_gaps_counted(agents: Any) -> None:
    p = agents.spawn("gappy").proxy()
    endpoint = p.bind_alias("PULL", "in")
    ctx = zmq.Context()
    try:
        raw = ctx.socket(zmq.PUSH)
        raw.linger = 1000
        raw.connect(endpoint)
        for seq in (1, 2, 3, 7, 8, 20):  # 3 + 11 missing on topic "a"
            raw.send_multipart(wire.encode("a", {"s": seq}, sender="raw", seq=seq))
        for seq in (1, 2, 3):  # another topic, no gap
            raw.send_multipart(wire.encode("b", {"s": seq}, sender="raw", seq=seq))
        for seq in (1, 3):  # same topic, another sender: counted separately (1 missing)
            raw.send_multipart(wire.encode("a", {"s": seq}, sender="raw2", seq=seq))
        wait_until(lambda: _count(p, "in") >= 11, 20, message="11 messages")
        assert p.status()["sockets"]["in"]["sequence_gaps"] == 3 + 11 + 1
        status, body = _http(p.status()["metrics_url"])
        assert re.search(r'agentcore_sequence_gaps_total\{[^}]*alias="in"[^}]*\} 15\.0', body.decode())
    finally:
        ctx.destroy(linger=0)


def test_http_endpoints(agents: Any) -> None:
    p = agents.spawn("web").proxy()
    p.bind_alias("PULL", "in")
    url = p.status()["metrics_url"]
    base = url.rsplit("/", 1)[0]
    status, body = _http(base + "/healthz")
    assert status == 200 and json.loads(body)["ok"] is True
    status, body = _http(base + "/readyz")
    assert status == 200 and json.loads(body) == {"ok": True, "registered": True, "detail": ""}
    status, body = _http(url)
    text = body.decode()
    assert status == 200
    assert re.search(r'^agentcore_up\{agent="web",role="probe"\} 1\.0$', text, re.M)
    assert re.search(r'^agentcore_ready\{agent="web",role="probe"\} 1\.0$', text, re.M)
    assert 'agentcore_messages_received_total{agent="web",alias="in",pattern="PULL",role="probe"} 0.0' in text
    assert _http(base + "/nope")[0] == 404
