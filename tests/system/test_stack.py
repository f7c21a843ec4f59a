"""The whole stack in containers: every role registered, healthy, stopping cleanly; real data to fills."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import ROOT, Stack, http_get, wait_for

AGENTS = ("feeder", "router", "brain-regime", "brain-trend", "trader")
ROLE_OF = {"feeder": "feeder", "router": "router", "brain-regime": "brain", "brain-trend": "brain",
           "trader": "trader"}  # fmt: skip
DATA_DIR = Path(os.environ.get("TRADEHIVE_SHARED_DATA", ROOT.parent / "shared" / "data")) / "fxcm"


@pytest.fixture(scope="module")
def replay_stack(module_stack_factory) -> Stack:
    """The stack replaying one real FXCM day (EURUSD, NZDUSD): real time until every agent is up, then max."""
    if not (DATA_DIR / "tick").is_dir():
        pytest.skip(f"no recorded market data at {DATA_DIR}")
    env = {
        "TRADEHIVE_DATA_DIR": str(DATA_DIR),
        "TRADEHIVE_REPLAY_START": "2014-05-08",
        "TRADEHIVE_REPLAY_END": "2014-05-09",
        "TRADEHIVE_REPLAY_SPEED": "1",  # the feeder starts first: hold the day back until all are up
    }
    stack: Stack = module_stack_factory(replay=True, env=env)
    stack.up("nameserver", *AGENTS)
    return stack


@pytest.mark.timeout(900)
def test_every_role_registers_with_its_role_tag(replay_stack: Stack) -> None:
    import Pyro5.api

    ns = Pyro5.api.locate_ns("127.0.0.1", replay_stack.port("nameserver", 9090), broadcast=False)
    for role in ("feeder", "router", "brain", "trader"):
        names = set(ns.yplookup(meta_all=[f"role:{role}"], return_metadata=False))
        assert names == {a for a, r in ROLE_OF.items() if r == role}, role


@pytest.mark.timeout(900)
def test_every_agent_serves_readyz_and_metrics_on_its_published_port(replay_stack: Stack) -> None:
    for agent in AGENTS:
        port = replay_stack.port(agent, 9100)
        assert http_get(f"http://127.0.0.1:{port}/readyz")[0] == 200, agent
        status, body = http_get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200 and "# TYPE" in body, agent


@pytest.mark.timeout(900)
def test_replayed_day_flows_from_feeder_through_brains_to_trader_fills(replay_stack: Stack) -> None:
    assert replay_stack.call("feeder", "set_speed", "max") == "max"

    last: dict = {}

    def filled() -> dict | None:
        last.update(replay_stack.call("trader", "status"))
        return last if last["fills"] > 0 and last["quotes"] > 100_000 else None

    try:
        trader = wait_for(filled, timeout=180, interval=2, what="trader fills from the replayed day")
    except Exception as exc:  # what each hop saw, so a failure says where the day stopped
        hops = {a: replay_stack.call(a, "status") for a in ("feeder", "brain-trend")}
        raise AssertionError(f"{exc}; trader: {last}; {hops}; feeder log: "
                             f"{replay_stack.logs('feeder', tail=15)}") from exc  # fmt: skip
    assert trader["orders"]["by_status"].get("FILLED", 0) == trader["fills"]
    assert trader["errors"] == 0
    regime, trend = replay_stack.call("brain-regime", "status"), replay_stack.call("brain-trend", "status")
    assert regime["signals_out"] > 0 and regime["orders_sent"] == 0  # a pure signal brain
    assert trend["signals_in"] > 0  # the hierarchy: regime signals reach the trend brain
    assert trend["orders_sent"] > 0


@pytest.mark.timeout(900)
def test_agents_stop_cleanly_on_sigterm(replay_stack: Stack) -> None:
    # Runs last in this module: it stops the agents (the fixture's teardown removes the stack).
    replay_stack.compose("stop", "-t", "20", *reversed(AGENTS))
    states = {c.Service: c for c in replay_stack.ps()}
    for agent in AGENTS:
        assert states[agent].State == "exited", states[agent]
        assert states[agent].ExitCode == 0, (agent, replay_stack.logs(agent, tail=20))


@pytest.mark.timeout(900)
def test_default_stack_runs_on_the_simulator(stack_factory) -> None:
    stack: Stack = stack_factory()
    stack.up("nameserver", *AGENTS)
    feeder = stack.call("feeder", "status")
    assert feeder["ready"] is True
    quotes = wait_for(lambda: stack.call("trader", "status")["quotes"], timeout=60, what="simulated quotes")
    assert quotes > 0
    # no data dir: the built-in simulator
    assert stack.exec("feeder", "printenv", "TRADEHIVE_FEEDER_DATA_DIR").returncode == 1
