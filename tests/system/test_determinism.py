"""Determinism in the containers (issue 10): the replay override with deploy/docker-compose.eventtime.yml gives
the same order/fill log at any speed.

The window of the local backtest test (tests/integration/platform/test_backtest.py: EURUSD 2014-05-08 12:30-12:50,
strategies on 1-second bars, ~30 orders) replayed by the compose stack with the replay and event-time overrides (event time,
flow control) and the recorder (profile ``record``), once at max speed and once at 100x. Each run's recording
(written by the recorder container to a host directory) gives the order log of ``tradehive backtest``
(``tradehive.backtest.order_log``: every order asked for and every venue event, wall-clock stamps left out): the
two logs must be byte-identical and trade. Two stacks, one after the other (a speed is a whole run).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, Stack, wait_for
from .test_faults import DATA, status

pytestmark = pytest.mark.timeout(900)
EVENT_TIME = ROOT / "deploy" / "docker-compose.eventtime.yml"
OVERRIDE = Path(__file__).with_name("compose.determinism.yml")
SERVICES = ("nameserver", "feeder", "router", "brain-regime", "brain-trend", "trader", "recorder")
ENV = {
    "TRADEHIVE_REPLAY_START": "2014-05-08T12:30:00",
    "TRADEHIVE_REPLAY_END": "2014-05-08T12:50:00",
    "TRADEHIVE_FLOW_CONSUMERS": '["router","brain-regime","brain-trend","trader","recorder"]',
}


def replay(factory: Callable[..., Stack], speed: str, out: Path) -> tuple[list[str], dict[str, Any]]:
    """One run at ``speed``: the order log of its recording and the trader's final status."""
    from tradehive.backtest import order_log

    out.mkdir()
    os.chmod(out, 0o777)  # the images' user (10001) writes the recording
    env = {"TRADEHIVE_DATA_DIR": str(DATA), "TRADEHIVE_REPLAY_SPEED": speed, "TRADEHIVE_RECORDING_DIR": str(out),
           **ENV}  # fmt: skip
    stack = factory(replay=True, env=env, overrides=(EVENT_TIME, OVERRIDE))
    stack.profiles = ["record"]  # every compose command sees the recorder: ``down`` removes it too
    stack.up(*SERVICES)
    t0 = time.monotonic()
    wait_for(
        lambda: (status(stack, "feeder").get("flow") or {}).get("drained"),
        400,
        2,
        f"replay at {speed} drained",
    )
    last: list[Any] = [None]

    def settled() -> bool:  # orders decided on the last bars: the trader's and recorder's counts stand still
        t, r = status(stack, "trader"), status(stack, "recorder")
        state = (r.get("ticks"), t["fills"], t["orders"]["total"], t["intents"])
        same, last[0] = state == last[0], state
        return same

    wait_for(settled, 60, 3, "the trader and recorder settled")
    trader = status(stack, "trader")
    stack.compose("stop", "-t", "15", "recorder")  # its last part is written on a graceful stop
    print(f"speed {speed}: replay and settle {time.monotonic() - t0:.0f} s, {trader['fills']} fills")
    stack.down()
    return order_log(out), trader


def test_replay_override_gives_the_same_order_log_at_max_and_100x(stack_factory, tmp_path: Path) -> None:
    if not (DATA / "tick" / "eurusd").is_dir():
        pytest.skip(f"no recorded FXCM ticks at {DATA} (set TRADEHIVE_DATA)")
    fast, t_fast = replay(stack_factory, "max", tmp_path / "max")
    paced, t_paced = replay(stack_factory, "100", tmp_path / "x100")
    fills = sum('"msg":"order_filled"' in line for line in fast)
    assert fills >= 20, f"the window must trade to prove anything: {fills} fills"
    assert fills == t_fast["fills"], "the recording missed fills the trader made"
    pairs = enumerate(zip(fast, paced, strict=False))
    first = next(
        (f"line {i}: {a} != {b}" for i, (a, b) in pairs if a != b), f"{len(fast)} vs {len(paced)} lines"
    )
    assert fast == paced, f"the order log depends on the replay speed; first difference at {first}"
    books = [{c: (v["realised"], v["fees"]) for c, v in t["pnl"].items()} for t in (t_fast, t_paced)]
    assert books[0] == books[1] and t_fast["positions"] == t_paced["positions"]
    assert t_fast["errors"] == 0 and t_paced["errors"] == 0
