"""Faults injected into the containerised stack while it replays real FXCM ticks (issue 5), and a real
Prometheus scraping every container.

1. the router is SIGKILLed mid-replay: compose restarts it, it registers again, brains and trader keep
   receiving, and its 1m bid/ask bars of the replayed day still equal the vendor's minute bars, every field;
2. the name server is stopped for 30 s: data keeps flowing on established connections, every agent registers
   again within a bound once it is back;
3. the trend brain is cut off the network and reconnected: it resumes by itself, no order is duplicated;
4. Debian's prometheus (deploy/prometheus/get-prometheus.sh) on the host scrapes each container's published
   /metrics port: ``up == 1`` and agentcore/tradehive series from every agent.

Bars are fetched inside the router container (``docker compose exec router python -c ...``): the name server
hands out ``tcp://router:<port>`` and the ZeroMQ ports are not published, so the host cannot reach them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from .conftest import ROOT, Stack, http_get, wait_for

AGENTS = ("feeder", "router", "brain-regime", "brain-trend", "trader")
ROLE_OF = {
    "feeder": "feeder",
    "router": "router",
    "brain-regime": "brain",
    "brain-trend": "brain",
    "trader": "trader",
}
DATA = Path(os.environ.get("TRADEHIVE_DATA", ROOT.parent / "shared" / "data")) / "fxcm"
# One FXCM day file: 2014-05-08 00:00 .. 2014-05-09 00:00 at UTC-05:00 (the vendor's clock).
DAY_START_NS = 1_399_525_200_000_000_000
DAY_END_NS = DAY_START_NS + 86_400 * 10**9
REPLAY_ENV = {"TRADEHIVE_REPLAY_START": "2014-05-08T05:00:00", "TRADEHIVE_REPLAY_END": "2014-05-09T05:00:00"}
OHLCV = ("ts", "open", "high", "low", "close", "volume")


# -- helpers -------------------------------------------------------------------------------------------------
def replay_stack(factory: Callable[..., Stack], speed: str, hours: int = 24) -> Stack:
    """The stack replaying the first ``hours`` of the FXCM day at real time until every agent is healthy, then
    at ``speed``."""
    if not (DATA / "tick").is_dir() or not (DATA / "minute").is_dir():
        pytest.skip(f"no recorded FXCM ticks/minute bars at {DATA} (set TRADEHIVE_DATA)")
    env = {"TRADEHIVE_DATA_DIR": str(DATA), "TRADEHIVE_REPLAY_SPEED": "1", **REPLAY_ENV}
    if hours < 24:  # the window's end is exclusive
        env["TRADEHIVE_REPLAY_END"] = f"2014-05-08T{5 + hours:02d}:00:00"
    stack = factory(replay=True, env=env)
    stack.up("nameserver", *AGENTS)
    assert float(stack.call("feeder", "set_speed", speed)) == float(speed)
    return stack


def status(stack: Stack, agent: str) -> dict[str, Any]:
    return stack.call(agent, "status")  # type: ignore[no-any-return]


def metric(port: int, name: str, **labels: str) -> float:
    """Sum of the samples ``name{labels...}`` on an agent's published /metrics (no name server needed)."""
    _, body = http_get(f"http://127.0.0.1:{port}/metrics")
    total, seen = 0.0, False
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total, seen = total + s.value, True
    assert seen, f"no sample {name}{labels} on :{port}"
    return total


def registered(ns_port: int) -> dict[str, str]:
    """``{agent name: role}`` as the name server lists them (queried from the host)."""
    import Pyro5.api

    ns = Pyro5.api.locate_ns("127.0.0.1", ns_port, broadcast=False)
    ns._pyroTimeout = 3.0
    out: dict[str, str] = {}
    for role in ("feeder", "router", "brain", "trader"):
        for name in ns.yplookup(meta_all=[f"role:{role}"], return_metadata=False):
            out[name] = role
    return out


FETCH_BARS = r"""
import json, sys
from agentcore.client import request
from tradehive import protocol as p
OHLCV = ("ts", "open", "high", "low", "close", "volume")
out = {}
for sym in sys.argv[1].split(","):
    for price in ("bid", "ask"):
        req = p.BarHistoryRequest(symbol=sym, timeframe="1m", price=price, start_ns=int(sys.argv[2]),
                                  end_ns=int(sys.argv[3]), include_partial=True)
        bars = request("router.history", p.encode(req), ns_host="nameserver", ns_port=9090, timeout=30)
        if isinstance(bars, bytes):
            raise SystemExit(f"{sym} {price}: {p.decode(bars)!r}")
        out[sym + "." + price] = {f: bars[f].tolist() for f in OHLCV}
print(json.dumps(out))
"""


def router_bars(stack: Stack, symbols: list[str]) -> dict[str, dict[str, list[float]]]:
    proc = stack.exec(
        "router",
        "python",
        "-c",
        FETCH_BARS,
        ",".join(symbols),
        str(DAY_START_NS),
        str(DAY_END_NS),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def vendor_bars(symbol: str, hours: int = 24) -> dict[str, dict[str, list[float]]]:
    """The vendor's 1m bid and ask bars of the day's first ``hours``."""
    from marketcore.io import read_lean_quote_bars

    bid, ask = read_lean_quote_bars(DATA / "minute" / symbol.lower() / "20140508_quote.zip", "-05:00")
    end = DAY_START_NS + hours * 3600 * 10**9
    return {
        f"{symbol}.{name}": {f: b[b["ts"] < end][f].tolist() for f in OHLCV}
        for name, b in (("bid", bid), ("ask", ask))
    }


def crash(stack: Stack, service: str) -> None:
    """SIGKILL the container's main process from the host, like the OOM killer or a crash.

    Not ``docker kill``: the engine records that as a manual stop and then ignores the restart policy (checked
    on Docker 20.10: ``docker kill`` leaves an ``unless-stopped`` container exited, RestartCount 0).
    """
    pid = int(stack.inspect(service)["State"]["Pid"])
    assert pid > 0, f"{service} is not running"
    try:
        os.kill(pid, signal.SIGKILL)
    except PermissionError:
        pytest.skip(f"cannot signal the container process {pid} from this host user (run as root)")


class BarsDiffer(AssertionError):
    """The restarted router's 1m bars differ from the vendor's minute bars (a failure names the bars)."""


# -- 1. router SIGKILL ---------------------------------------------------------------------------------------
HOURS = 9  # of the day replayed by the router fault test: 81 s at 400x (it kills the router 15 % in)


@pytest.mark.timeout(900)
def test_router_killed_mid_replay_restarts_and_rebuilds_the_vendor_bars(stack_factory) -> None:
    stack = replay_stack(stack_factory, "400", hours=HOURS)
    wait_for(lambda: status(stack, "feeder")["progress"]["fraction"] > 0.15, 120, 1, "15% replayed")
    before = status(stack, "router")
    t_kill = time.time()
    crash(stack, "router")

    def restarted() -> dict[str, Any] | None:
        st = status(stack, "router")
        return st if st["uptime_s"] < time.time() - t_kill else None

    after = wait_for(restarted, 120, 1, "the killed router to come back (restart policy) and answer")
    assert after["uptime_s"] < before["uptime_s"] + (time.time() - t_kill)  # a new process, not the old one
    restarts = stack.inspect("router")["RestartCount"]
    assert int(restarts) >= 1, "compose restart policy did not restart the router"
    assert registered(stack.port("nameserver", 9090)).get("router") == "router"
    assert status(stack, "feeder")["finished"] is False, "the fault must happen mid-stream: replay too fast"

    # brains and trader keep receiving from the new router (ZeroMQ reconnects to the same service name)
    base = {a: status(stack, a) for a in ("brain-regime", "brain-trend", "trader")}
    wait_for(
        lambda: all(status(stack, a)["bars"] > base[a]["bars"] for a in ("brain-regime", "brain-trend")),
        120,
        2,
        "both brains' bar counters rising after the router restart",
    )
    wait_for(
        lambda: status(stack, "trader")["quotes"] > base["trader"]["quotes"], 60, 2, "trader quotes rising"
    )

    wait_for(lambda: status(stack, "feeder")["finished"], 400, 2, "the replay to finish")
    symbols = sorted(status(stack, "feeder")["symbols"])
    assert symbols == ["EURUSD", "NZDUSD"]
    want: dict[str, dict[str, list[float]]] = {}
    for sym in symbols:
        want.update(vendor_bars(sym, HOURS))

    def complete() -> dict[str, Any] | None:  # the router may still be draining its queue
        got = router_bars(stack, symbols)
        return got if all(got[k]["ts"][-1:] == want[k]["ts"][-1:] for k in want) else None

    got = wait_for(complete, 90, 2, "the router's bars to reach the end of the day")
    router = status(stack, "router")
    for key, vendor in want.items():
        bars = got[key]
        missing, extra = (
            sorted(set(vendor["ts"]) - set(bars["ts"])),
            sorted(set(bars["ts"]) - set(vendor["ts"])),
        )
        if missing or extra:
            raise BarsDiffer(
                f"{key}: {len(missing)} vendor bars missing {missing[:5]}, {len(extra)} extra {extra[:5]}; router "
                f"gaps={router['sequence_gaps']} backfilled={router['backfilled_ticks']} "
                f"rejected={router['rejected']}\n" + stack.logs("router", tail=40)
            )
        assert len(bars["ts"]) == len(vendor["ts"]) > 500, key  # 540 minutes
        for field in OHLCV:
            bad = [i for i, (a, b) in enumerate(zip(bars[field], vendor[field], strict=True)) if a != b]
            if bad:
                raise BarsDiffer(f"{key} {field} differs at {len(bad)} bars, first {bad[:3]}")
    assert router["errors"] == 0, router["last_errors"]


# -- 2. name server outage -----------------------------------------------------------------------------------
@pytest.mark.timeout(900)
def test_nameserver_outage_keeps_data_flowing_and_everyone_reregisters(stack_factory) -> None:
    stack = replay_stack(stack_factory, "200")
    ports = {a: stack.port(a, 9100) for a in AGENTS}

    def flow() -> tuple[float, float]:
        return (
            metric(ports["router"], "tradehive_router_ticks_in_total"),
            metric(ports["trader"], "agentcore_messages_received_total", alias="market"),
        )

    wait_for(lambda: min(flow()) > 0, 60, 1, "ticks reaching router and trader")
    assert set(registered(stack.port("nameserver", 9090))) == set(AGENTS)
    stack.compose("stop", "-t", "10", "nameserver")
    t_stop = time.monotonic()
    samples = [flow()]
    while time.monotonic() - t_stop < 30:
        time.sleep(5)
        samples.append(flow())
    for i, what in enumerate(("router ticks in", "trader market messages")):
        assert samples[-1][i] > samples[0][i], f"{what} stalled during the outage: {[s[i] for s in samples]}"
    rising = sum(b[i] > a[i] for a, b in zip(samples, samples[1:], strict=False) for i in range(2))
    assert rising >= len(samples) - 1, f"data flowed only in bursts during the outage: {samples}"
    stack.compose("start", "nameserver")
    t_start = time.monotonic()
    ns_port = stack.port("nameserver", 9090)  # an ephemeral host port may change across stop/start
    wait_for(lambda: registered(ns_port) == ROLE_OF, 30, 0.5, "every agent registered again")
    took = time.monotonic() - t_start
    assert took < 30, took  # agents re-register every AGENTCORE_REGISTER_INTERVAL (5 s)
    for agent in AGENTS:
        wait_for(
            lambda a=agent: http_get(f"http://127.0.0.1:{ports[a]}/readyz")[0] == 200,
            20,
            0.5,
            f"{agent} ready",
        )
    assert flow()[0] > samples[-1][0]
    assert status(stack, "trader")["errors"] == 0


# -- 3. brain cut off the network ----------------------------------------------------------------------------
@pytest.mark.timeout(900)
def test_brain_disconnected_from_the_network_resumes_without_duplicate_orders(stack_factory) -> None:
    # 12 h of data, 144 s at 300x: the trend brain trades once the regime brain has 270 closed bars (4.5 h)
    stack = replay_stack(stack_factory, "300", hours=12)
    wait_for(lambda: status(stack, "brain-trend")["orders_sent"] > 0, 240, 2, "the trend brain trading")
    before = status(stack, "brain-trend")
    brain = stack.container("brain-trend")
    network = stack.docker_client.networks.get(stack.network)
    network.disconnect(brain)
    try:
        time.sleep(15)
    finally:  # compose's aliases are the service name and the container name: give the service name back
        network.connect(brain, aliases=["brain-trend"])
    assert status(stack, "feeder")["finished"] is False, "the fault must happen mid-stream: replay too fast"

    wait_for(
        lambda: status(stack, "brain-trend")["bars"] > before["bars"] + 30,
        120,
        2,
        "the brain's bar counter rising again after the reconnect",
    )
    wait_for(lambda: status(stack, "feeder")["finished"], 400, 2, "the replay to finish")
    trend = wait_for(
        lambda: (s := status(stack, "brain-trend"))["pending_acks"] == 0 and s,
        60,
        1,
        "every order intent acknowledged",
    )
    assert trend["orders_sent"] > before["orders_sent"], "no order after the reconnect: nothing was exercised"
    trader = status(stack, "trader")
    fills = stack.call("trader", "fills_list")
    ids = [f["client_order_id"] for f in fills]
    assert fills and len(ids) == len(set(ids)), "a client order id was filled twice"
    assert trader["intents"] - trader["duplicates"] == trend["orders_sent"], (trader, trend)
    assert status(stack, "brain-regime")["orders_sent"] == 0
    assert trend["acks"] >= trend["orders_sent"] and trend["errors"] == 0 and trader["errors"] == 0


# -- 4. a real Prometheus ------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def host_prometheus(prometheus_bin: Path, tmp_path: Path) -> Iterator[Callable[[dict[str, int]], str]]:
    """Start Debian's prometheus on the host scraping ``{agent: published port}``; yields its base URL."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(targets: dict[str, int]) -> str:
        jobs = [
            {
                "job_name": agent,
                "scrape_interval": "1s",
                "scrape_timeout": "900ms",
                "static_configs": [{"targets": [f"127.0.0.1:{port}"], "labels": {"role": ROLE_OF[agent]}}],
            }
            for agent, port in targets.items()
        ]
        config = tmp_path / "prometheus.yml"
        config.write_text(json.dumps({"scrape_configs": jobs}))  # JSON is YAML
        port = _free_port()
        log = (tmp_path / "prometheus.log").open("wb")
        procs.append(
            subprocess.Popen(
                [
                    str(prometheus_bin / "prometheus"),
                    f"--config.file={config}",
                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: http_get(f"{url}/-/ready")[0] == 200, 60, 0.5, "prometheus ready")
        return url

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def promql(url: str, expr: str) -> dict[str, float]:
    """Instant query; ``{job: value}`` of the result vector."""
    _, body = http_get(f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    doc = json.loads(body)
    assert doc["status"] == "success", doc
    return {r["metric"].get("job", ""): float(r["value"][1]) for r in doc["data"]["result"]}


@pytest.mark.timeout(600)
def test_host_prometheus_scrapes_every_container(stack_factory, host_prometheus) -> None:
    stack = replay_stack(stack_factory, "300")
    url = host_prometheus({a: stack.port(a, 9100) for a in AGENTS})
    everyone = set(AGENTS)
    wait_for(lambda: set(promql(url, "up == 1")) == everyone, 60, 1, "up == 1 for every agent")
    wait_for(
        lambda: set(promql(url, "count by (job) (agentcore_messages_received_total)")) == everyone,
        30,
        1,
        "agentcore_messages_received_total from every agent",
    )
    wait_for(
        lambda: set(promql(url, 'count by (job) ({__name__=~"tradehive_.+"})')) == everyone,
        30,
        1,
        "tradehive_* series from every agent",
    )
    busy = {  # a role series that must be moving, per agent
        "feeder": 'sum by (job) (tradehive_feeder_ticks_published_total{job="feeder"})',
        "router": 'sum by (job) (tradehive_router_ticks_in_total{job="router"})',
        "brain-regime": 'sum by (job) (tradehive_brain_signals_total{job="brain-regime"})',
        "brain-trend": "sum by (job) (tradehive_hop_latency_seconds_count"
        '{job="brain-trend",hop="router_to_brain"})',
        "trader": 'sum by (job) (tradehive_hop_latency_seconds_count{job="trader",hop="router_to_trader"})',
    }
    # the regime brain's first signal needs 30 + 240 closed 1m bars (its volatility windows) from the replay's
    # start: ~54 s at 300x when the machine keeps up, longer when it does not (timed out at 60 s in CI once)
    patience = {"brain-regime": 240}
    for agent, expr in busy.items():
        wait_for(
            lambda e=expr, a=agent: promql(url, e).get(a, 0) > 0,
            patience.get(agent, 60),
            1,
            f"{agent}: {expr} > 0",
        )
    rate = promql(
        url, 'sum by (job) (rate(agentcore_messages_received_total{job="trader",alias="market"}[15s]))'
    )
    assert rate.get("trader", 0) > 0, rate
    assert set(promql(url, "agentcore_up == 1")) == everyone
    assert set(promql(url, "agentcore_ready == 1")) == everyone
    roles = promql(url, "count by (job, role) (agentcore_start_time_seconds)")
    assert set(roles) == everyone
