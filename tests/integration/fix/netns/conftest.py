"""Fixtures for the FIX tests that run inside a loopback-only network namespace (``../test_fix_netns.py`` starts
this directory's tests there; collected directly, outside such a namespace, they are ignored)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tradehive.testing import PlatformStarter
from tradehive_fix.testing.netns import INSIDE_ENV

if os.environ.get(INSIDE_ENV) != "1":
    collect_ignore_glob = ["test_*.py"]
else:
    from tradehive_fix.config import FixSessionConfig
    from tradehive_fix.testing.counterparties import Counterparty, SessionSpec, free_port
    from tradehive_fix.venue import FixVenue

CLIENTS = [f"T{i}" for i in range(1, 13)] + ["MM", "TAKER", "E2E"]


@pytest.fixture
def platform() -> Iterator[PlatformStarter]:
    """The platform's real agents as local processes (tradehive.testing, as in tests/integration/platform)."""
    starter = PlatformStarter()
    yield starter
    starter.stop()


@pytest.fixture(scope="session")
def executor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Counterparty]:
    cp = Counterparty("executor", tmp_path_factory.mktemp("executor"), free_port(),
                      [SessionSpec("EXEC", c) for c in CLIENTS])  # fmt: skip
    with cp:
        yield cp


@pytest.fixture(scope="session")
def ordermatch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Counterparty]:
    cp = Counterparty("ordermatch", tmp_path_factory.mktemp("ordermatch"), free_port(),
                      [SessionSpec("OM", c) for c in CLIENTS])  # fmt: skip
    with cp:
        yield cp


def venue_config(
    cp: Counterparty, client: str, data_dir: Path, port: int | None = None, **kw: Any
) -> FixSessionConfig:
    base: dict[str, Any] = dict(
        port=port or cp.port, sender_comp_id=client, target_comp_id=cp.sessions[0].sender_comp_id,
        begin_string=cp.begin_string, data_dir=str(data_dir), heartbeat_s=2, reconnect_s=0.5, reconnect_max_s=2.0,
        logon_timeout_s=2,
    )  # fmt: skip
    if cp.kind == "executor":
        base.update(market_orders="limit", stop_orders="emulate", replace="none")
    else:
        base.update(market_orders="limit", stop_orders="emulate", replace="cancel_new", tif_map={"GTC": "DAY"},
                    mass_status=False)  # fmt: skip
    base.update(kw)
    return FixSessionConfig(**base)


@pytest.fixture
def open_venue(tmp_path: Path) -> Iterator[Callable[..., FixVenue]]:
    venues: list[FixVenue] = []

    def _open(
        cp: Counterparty, client: str, data_dir: Path | None = None, logon: bool = True, **kw: Any
    ) -> FixVenue:
        venue = FixVenue(venue_config(cp, client, data_dir or tmp_path / client, **kw))
        venue.start()
        venues.append(venue)
        if logon:
            assert venue.wait_logon(15), f"{client} did not log on to {cp.kind}"
        return venue

    yield _open
    for v in venues:
        v.close()


def wait_events(venue: FixVenue, pred: Callable[[list[Any]], bool], timeout: float = 10.0) -> list[Any]:
    """Drain ``venue.poll_events()`` until ``pred(all events so far)`` holds; fails the test on timeout."""
    events: list[Any] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events += venue.poll_events()
        if pred(events):
            return events
        time.sleep(0.02)
    raise AssertionError(f"timed out; events so far: {events}")


def kinds(events: list[Any], cid: str | None = None) -> list[str]:
    return [type(e).__name__ for e in events if cid is None or e.client_order_id == cid]
