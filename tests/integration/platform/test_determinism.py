"""Event time, the guard: real FXCM quotes through the real agents give the byte-identical order/fill log at
``--speed 1``, ``10``, ``100`` and ``max`` and on a repeated ``max`` run; a tight order-rate limit rejects the same
orders at every speed (the throttle counts data time); every fill is at the first recorded quote at or after its
decision's data time plus the venue's latency.

One module, five backtests (the same two minutes of EURUSD around the ECB press conference, 1-second bars): the
real-time run (speed 1, mostly idle) and the speed-10 run go in one thread, the three others in a second, so the
module costs about two start-ups plus the real-time run (5.5-9 min at load average ~20 on the CI machine).
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tradehive.backtest import BacktestSpec
from tradehive.backtest import run as run_backtest
from tradehive.recording import Recording
from tradehive.report import brain_of

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

LATENCY_MS = 250.0
WINDOW: dict[str, Any] = {
    "start": "2014-05-08T12:44",  # the ECB press conference moves EURUSD at 12:46 UTC
    "end": "2014-05-08T12:46",
    "timeframe": "1s",
    "symbols": ["EURUSD"],
    # fast EMAs and tight brackets: ~7 decisions and ~14 fills in two minutes of data
    "params": {"fast": 2, "slow": 5, "atr": 4, "sl_atr": 1.5, "tp_atr": 1.5},
    # a second trading brain deciding on the same bars (the same EMAs: its decisions are simultaneous with
    # brain-trend's; other exits): the trader must order their intents canonically, not by arrival
    "brains": {"brain-twin": {"fast": 2, "slow": 5, "atr": 4, "sl_atr": 1.0, "tp_atr": 2.0}},
    # one order per 10 s of data time (burst 1) for both brains together: many decisions refused
    "trader": {"latency_ms": LATENCY_MS, "max_orders_per_second": 0.1, "order_burst": 1},
}
RUNS = ("1", "10", "100", "max", "max-again")


@pytest.fixture(scope="module")
def runs(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every run's report directory. Speed 1 runs in real time beside the fast ones (it mostly waits)."""
    root = tmp_path_factory.mktemp("determinism")
    realtime_up = threading.Event()  # start-ups are what a loaded machine does slowly: one at a time

    def one(name: str) -> Path:
        out = root / name
        spec = BacktestSpec(data=str(data_dir / "fxcm" / "tick"), out=out, speed=name.removesuffix("-again"),
                            timeout_s=400.0, **WINDOW)  # fmt: skip
        run_backtest(spec, progress=lambda line: realtime_up.set() if line.startswith("agents up") else None)
        return out

    def fast() -> dict[str, Path]:
        realtime_up.wait(240.0)
        return {n: one(n) for n in ("max", "100", "max-again")}

    with ThreadPoolExecutor(2) as pool:  # two lanes of about the same length: 1 then 10 | max, 100, max again
        slow = pool.submit(lambda: {n: one(n) for n in ("1", "10")})
        rest = pool.submit(fast)
        return {**slow.result(), **rest.result()}


def _log(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "order_log.jsonl").read_text().splitlines()]


def test_order_log_byte_identical_at_every_speed_and_run(runs: dict[str, Path]) -> None:
    reference = (runs["max"] / "order_log.jsonl").read_bytes()
    msgs = [rec["msg"] for rec in _log(runs["max"])]
    assert msgs.count("order_filled") >= 10, "the window must trade to prove anything"
    for name, out in runs.items():
        got = (out / "order_log.jsonl").read_bytes()
        assert got == reference, f"speed {name}: the order/fill log differs from speed max"
    pnl = {n: json.loads((o / "stats.json").read_text())["stats"][-1]["net_pnl"] for n, o in runs.items()}
    assert len(set(pnl.values())) == 1, pnl


def test_order_rate_throttle_counts_data_time(runs: dict[str, Path]) -> None:
    """The same orders refused by the order-rate limit at every speed (its bucket fills on data time)."""

    def refused(out: Path) -> list[tuple[str, int]]:
        return [(r["client_order_id"], r["ts_ns"]) for r in _log(out)
                if r["msg"] == "order_rejected" and r["reason"].startswith("more than")]  # fmt: skip

    reference = refused(runs["max"])
    assert len(reference) > 0, "the throttle must refuse something to prove anything"
    for name, out in runs.items():
        assert refused(out) == reference, f"speed {name}: different order-rate rejections"
    # a refusal happens exactly when the previous accepted decision is less than 10 s (1 token) of data earlier
    decided = sorted(  # in the trader's order: data time, then brain and client order id
        (r.get("data_ts_ns", r.get("ts_ns")), r["client_order_id"], r["msg"] == "submit_order")
        for r in _log(runs["max"])
        if r["msg"] == "submit_order"
        or (r["msg"] == "order_rejected" and r["reason"].startswith("more than"))
    )
    assert len({brain_of(cid) for _, cid, _ in decided}) == 2, "both brains must decide"
    last_ok: int | None = None
    for ts, _cid, accepted in decided:
        gap = None if last_ok is None else ts - last_ok
        if accepted:  # (1 us of slack either way: the bucket refills in floating point)
            assert gap is None or gap >= 10_000_000_000 - 1_000, (ts, gap)
            last_ok = ts
        else:
            assert gap is not None and gap < 10_000_000_000 + 1_000, (ts, gap)


@pytest.mark.parametrize("name", RUNS)
def test_fills_at_first_quote_after_decision_plus_latency(runs: dict[str, Path], name: str) -> None:
    """Every fill against the recorded ticks: a brain's order decided at data time t fills at the first quote with
    ts >= t + latency, at its ask (buy) or bid (sell); an emulated SL/TP exit fills at the first quote >= the
    quote that first touched its level (from the entry's fill on) + latency."""
    out = runs[name]
    ticks = Recording(out / "recording").ticks(history=False)["EURUSD"]
    ticks = ticks[np.argsort(ticks["ts"], kind="stable")]
    ts, bid, ask = ticks["ts"].astype(np.int64), ticks["bid"], ticks["ask"]
    lat = int(LATENCY_MS * 1e6)
    log = _log(out)
    submits = {r["client_order_id"]: r for r in log if r["msg"] == "submit_order"}
    fills = {r["client_order_id"]: r for r in log if r["msg"] == "order_filled"}
    checked = 0
    for cid, fill in fills.items():
        parent, _, leg = cid.rpartition("-")
        if cid in submits:
            at = int(np.searchsorted(ts, submits[cid]["data_ts_ns"] + lat, side="left"))
        else:
            assert leg in ("sl", "tp") and parent in submits and parent in fills, f"{cid}: a fill of no order"
            entry, pfill = submits[parent], fills[parent]
            start = int(np.searchsorted(ts, pfill["ts_ns"], side="left"))
            trigger = _first_touch(entry, bid[start:], ask[start:]) + start
            assert trigger >= start and _touch_leg(entry, bid[trigger], ask[trigger]) == leg, cid
            at = int(np.searchsorted(ts, ts[trigger] + lat, side="left"))
        assert at < ts.size, f"{cid}: filled after the last recorded quote"
        assert fill["ts_ns"] == ts[at], (
            f"{cid}: filled at {fill['ts_ns']}, first quote >= t + latency is {ts[at]}"
        )
        assert fill["price"] == (ask[at] if fill["side"] == "BUY" else bid[at]), cid
        checked += 1
    assert checked >= 10


def _touch_leg(entry: dict[str, Any], bid: float, ask: float) -> str:
    sl, tp = entry["stop_loss"], entry["take_profit"]
    if entry["side"] == "BUY":
        return "sl" if bid <= sl else "tp" if bid >= tp else ""
    return "sl" if ask >= sl else "tp" if ask <= tp else ""


def _first_touch(entry: dict[str, Any], bid: np.ndarray, ask: np.ndarray) -> int:
    sl, tp = entry["stop_loss"], entry["take_profit"]
    hit = (bid <= sl) | (bid >= tp) if entry["side"] == "BUY" else (ask >= sl) | (ask <= tp)
    return int(np.argmax(hit)) if hit.any() else -(10**9)
