"""Backtest = the real agents over recorded data: the same orders and fills at any speed, and a report whose
figures equal an independent recomputation from the fills."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from tradehive.backtest import BacktestSpec, fills_from_recording
from tradehive.backtest import run as run_backtest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

# 20 minutes of EURUSD around the ECB press conference (2014-05-08), strategies on 1-second bars: ~30 orders
WINDOW = {"start": "2014-05-08T12:30", "end": "2014-05-08T12:50", "timeframe": "1s", "symbols": ["EURUSD"]}


def _backtest(data: Path, out: Path, speed: str) -> list:
    spec = BacktestSpec(data=str(data / "fxcm" / "tick"), out=out, speed=speed, **WINDOW)  # type: ignore[arg-type]
    return run_backtest(spec)


def test_same_orders_and_fills_at_any_speed_and_a_report_that_adds_up(data_dir: Path, tmp_path: Path) -> None:
    fast = _backtest(data_dir, tmp_path / "max", "max")
    paced = _backtest(data_dir, tmp_path / "x100", "100")
    log_fast = (tmp_path / "max" / "order_log.jsonl").read_bytes()
    log_paced = (tmp_path / "x100" / "order_log.jsonl").read_bytes()
    lines = log_fast.decode().splitlines()
    assert sum('"msg":"order_filled"' in line for line in lines) >= 20, (
        "the window must trade to prove anything"
    )
    assert log_fast == log_paced, "the order/fill log depends on the replay speed"
    assert fast[0].net_pnl == paced[0].net_pnl

    # every fill at or after its decision's data time (the venue never fills on a quote the brain had not seen)
    decided = {}
    for line in lines:
        rec = json.loads(line)
        if rec["msg"] == "submit_order":
            decided[rec["client_order_id"]] = rec["data_ts_ns"]
        elif rec["msg"] == "order_filled" and rec["client_order_id"] in decided:
            assert rec["ts_ns"] >= decided[rec["client_order_id"]]

    # the report's net PnL = cash flows of the fills + the open position at the last recorded mid
    fills, marks = fills_from_recording(tmp_path / "max" / "recording")
    cash = sum(-f.side * f.qty * f.price - f.fee for f in fills)
    pos = sum(f.side * f.qty for f in fills)
    ts, mid = marks["EURUSD"]
    expected = cash + pos * float(mid[np.argmax(ts)])
    assert fast[0].net_pnl == pytest.approx(expected, abs=1e-6)
    with open(tmp_path / "max" / "fills.csv") as fh:
        assert sum(1 for _ in csv.DictReader(fh)) == len(fills)
    stats = json.loads((tmp_path / "max" / "stats.json").read_text())
    assert stats["stats"][0]["trades"] == fast[0].trades and fast[0].trades > 0
    assert (tmp_path / "max" / "report.html").stat().st_size > 50_000  # the plots are embedded
