"""The FIX market-data source against the FIX acceptor streaming FXCM's recorded EURUSD/NZDUSD quotes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from marketcore.schema import TICK_DTYPE
from tradehive_fix.config import FixSessionConfig
from tradehive_fix.marketdata import FixTickSource
from tradehive_fix.testing.counterparties import free_port, wait_port
from tradehive_fix.testing.proxy import TcpCutter

pytestmark = pytest.mark.timeout(200)
DATA = Path("/work/shared/data/fxcm/tick")


CLIENTS = ("FEED1", "FEED2", "FEED3")


@pytest.fixture(scope="module")
def md_acceptor(tmp_path_factory: pytest.TempPathFactory):
    tmp_path = tmp_path_factory.mktemp("md")
    if not DATA.is_dir():
        pytest.skip(f"recorded FXCM data not found at {DATA}")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tradehive_fix.testing.md_acceptor", "--port", str(port),
                             "--data", str(DATA), "--client", ",".join(CLIENTS), "--speed", "20",
                             "--start", "2014-05-08T12:00:00", "--workdir", str(tmp_path / "md")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_port("127.0.0.1", port, 120, proc)  # type: ignore[arg-type]
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def source(port: int, tmp_path: Path, client: str, symbols=("EURUSD", "NZDUSD")) -> FixTickSource:
    cfg = FixSessionConfig(port=port, sender_comp_id=client, target_comp_id="MDFEED",
                           data_dir=str(tmp_path / "feeder"), heartbeat_s=2, reconnect_s=0.5, reconnect_max_s=2.0,
                           logon_timeout_s=2, symbols=list(symbols))  # fmt: skip
    return FixTickSource(cfg)


def collect(src: FixTickSource, seconds: float) -> dict[str, np.ndarray]:
    out: dict[str, list[np.ndarray]] = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for sym, ticks in src.poll(time.time_ns()).runs:
            out.setdefault(sym, []).append(ticks)
        time.sleep(0.02)
    return {s: np.concatenate(v) for s, v in out.items()}


def test_subscribe_streams_ticks_in_order_and_history_matches(md_acceptor: int, tmp_path: Path) -> None:
    src = source(md_acceptor, tmp_path, "FEED1")
    try:
        assert src.wait_logon(15)
        got = collect(src, 4.0)
        assert set(got) == {"EURUSD", "NZDUSD"}
        for sym, ticks in got.items():
            assert ticks.dtype == TICK_DTYPE and ticks.size > 20, (sym, ticks.size)
            assert np.all(np.diff(ticks["ts"]) >= 0)
            assert np.all(ticks["bid"] > 0) and np.all(ticks["ask"] > 0)
            assert np.isnan(ticks["last"]).all()
            hist = src.history(sym, 0, 2**62)
            for field in ("ts", "bid", "ask"):  # backfill serves exactly what was streamed
                assert np.array_equal(hist[field], ticks[field])
        eur = got["EURUSD"]
        assert 1.3 < float(np.median(eur["bid"])) < 1.45  # EURUSD in May 2014
        assert abs(int(eur["ts"][-1]) - time.time_ns()) < 60e9  # re-based to now: a live feed's clock
        st = src.status()
        assert st["snapshots"] + st["increments"] > 0 and st["rejects"] == 0
    finally:
        src.close()


def test_unknown_symbol_is_rejected_with_the_reason(md_acceptor: int, tmp_path: Path) -> None:
    src = source(md_acceptor, tmp_path, "FEED2", symbols=("EURUSD", "XAUUSD"))
    try:
        assert src.wait_logon(15)
        deadline = time.monotonic() + 10
        while not src.last_reject and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "unknown symbol" in src.last_reject and "XAUUSD" in src.last_reject
    finally:
        src.close()


def test_reconnect_resubscribes_and_the_stream_goes_on(md_acceptor: int, tmp_path: Path) -> None:
    cutter = TcpCutter(md_acceptor)
    src = source(cutter.port, tmp_path, "FEED3", symbols=("EURUSD",))
    try:
        assert src.wait_logon(15)
        before = collect(src, 2.0)["EURUSD"]
        cutter.cut()
        time.sleep(1.0)
        assert src.wait_logon(15)
        after = collect(src, 3.0)["EURUSD"]
        assert after.size > 0 and int(after["ts"][0]) >= int(before["ts"][-1])  # never back in time
        assert src.status()["subscriptions"] >= 2 and src.session.logons == 2
    finally:
        src.close()
        cutter.close()
