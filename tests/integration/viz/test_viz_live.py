"""The chart against a running platform on recorded FXCM ticks (real agents, real name server, real Qt offscreen):
what it holds equals the router's bars; a tick moves only the forming candle; a closed bar appends exactly one;
fill markers sit at the trader's fills; parameters and pause/resume reach the brain; a killed and restarted
router is shown and recovered from without restarting the window."""

from __future__ import annotations

import os
import signal
from collections import Counter

import numpy as np
import pytest
from agentcore.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
FIELDS = ("ts", "open", "high", "low", "close", "count")


def _same_bars(chart_bars: np.ndarray, router_bars: np.ndarray) -> None:
    assert chart_bars.size > 0
    lo, hi = int(chart_bars["ts"][0]), int(chart_bars["ts"][-1])
    want = router_bars[(router_bars["ts"] >= lo) & (router_bars["ts"] <= hi)]
    assert chart_bars.size == want.size, (chart_bars.size, want.size)
    for f in FIELDS:
        assert np.array_equal(chart_bars[f], want[f]), f


def test_candles_equal_router_bars(viz, stack) -> None:
    chart = viz.window.chart
    _same_bars(chart.series.bars.copy(), stack.bars(last_n=50_000))
    assert len(chart.series) > 300
    # the forming candle is the router's partial (or newer): never before the last closed bar
    assert chart.series.forming is None or chart.series.forming["ts"] > chart.series.bars["ts"][-1]


def test_tick_moves_only_forming_then_closed_bar_appends_one(viz, stack, qtbot) -> None:
    chart = viz.window.chart
    s = chart.series
    for _attempt in range(4):  # a bar may close while we wait for a tick: start again from the new candle
        qtbot.waitUntil(lambda: s.forming is not None, timeout=20_000)
        chart.refresh()
        n0, closed0, dropped0 = len(s), s.bars.copy(), chart.candles.dropped
        forming0, fv0 = s.forming.copy(), s.forming_version
        # a tick (or partial) changes the forming candle while no bar closes
        qtbot.waitUntil(lambda: s.forming_version > fv0 or len(s) != n0, timeout=20_000)  # noqa: B023
        if len(s) == n0 and s.forming is not None and s.forming["ts"] == forming0["ts"]:
            break
    chart.refresh()
    assert len(s) == n0
    assert np.array_equal(s.bars, closed0), "a tick changed a closed candle"
    assert chart.candles.dropped == dropped0, "a tick invalidated cached candle pictures"
    moved = s.forming
    assert (moved["count"], moved["close"], moved["high"], moved["low"]) != (
        forming0["count"], forming0["close"], forming0["high"], forming0["low"])  # fmt: skip
    # the bar closes: exactly one candle appended, the older ones untouched, equal to the router's bar
    qtbot.waitUntil(lambda: len(s) > n0, timeout=30_000)
    assert len(s) == n0 + 1
    assert np.array_equal(s.bars[:n0], closed0)
    chart.refresh()
    assert chart.candles.dropped - dropped0 <= 2  # only the last chunk (per zoom level in use) re-recorded
    router = stack.bars(start_ns=int(s.bars["ts"][-1]), end_ns=int(s.bars["ts"][-1]) + 1)
    assert router.size == 1 and all(router[f][0] == s.bars[f][-1] for f in FIELDS)


def test_fill_markers_sit_at_trader_fills(viz, stack, qtbot) -> None:
    try:
        wait_until(lambda: len(stack.call("trader", "fills_list")) >= 2, 60, message="trader fills")
    except TimeoutError as exc:
        raise AssertionError(
            f"{exc}: brain {stack.status('brain-trend')}, trader {stack.status('trader')}"
        ) from exc
    chart = viz.window.chart

    def markers_match() -> None:
        fills = [f for f in stack.call("trader", "fills_list") if f["symbol"] == "EURUSD"]
        x, y, sign = chart.fill_points()
        got = Counter((int(a), round(float(b), 8), int(c)) for a, b, c in zip(x, y, sign, strict=True))
        idx = chart.series.index_of(np.array([f["ts_ns"] for f in fills], dtype=np.int64))
        want = Counter((int(i), round(f["price"], 8), 1 if f["side"] == "BUY" else -1)
                       for i, f in zip(idx, fills, strict=True) if i >= 0)  # fmt: skip
        assert want and want == got, (want, got)  # one marker per fill, at its candle and price, buy/sell

    qtbot.waitUntil(markers_match, timeout=20_000)
    chart.refresh()
    bx, by = chart.fills_buy.getData()
    sx, sy = chart.fills_sell.getData()
    assert len(bx) + len(sx) == len(chart.fills) >= 2


def test_param_edit_and_pause_resume_reach_the_brain(viz, stack, qtbot) -> None:
    w = viz.window
    qtbot.waitUntil(lambda: w.brain_table.rowCount() >= 1 and "brain-trend" in w.agents, timeout=15_000)
    w.select_brain("brain-trend")
    qtbot.waitUntil(lambda: w.param_table.rowCount() > 0, timeout=10_000)
    row = next(r for r in range(w.param_table.rowCount()) if w.param_table.item(r, 0).text() == "fast")
    w.param_table.item(row, 1).setText("7")
    ids = w.apply_params()
    assert len(ids) == 1
    qtbot.waitUntil(lambda: ids[0] in w.replies, timeout=10_000)
    assert w.replies[ids[0]][1], w.replies[ids[0]]
    assert stack.status("brain-trend")["params"]["fast"] == 7
    assert "-> 5" in w.reply_label.text()  # the previous value, as the brain answered
    # a bad value is refused by the brain and the error is shown, nothing changes
    w.param_table.item(row, 1).setText('"seven"')
    bad = w.apply_params()
    qtbot.waitUntil(lambda: bad[0] in w.replies, timeout=10_000)
    assert not w.replies[bad[0]][1] and "failed" in w.reply_label.text()
    assert stack.status("brain-trend")["params"]["fast"] == 7

    cid = w.brain_command("pause")
    qtbot.waitUntil(lambda: cid in w.replies, timeout=10_000)
    assert stack.status("brain-trend")["running"] is False
    qtbot.waitUntil(lambda: _state_cell(w, "brain-trend") == "paused", timeout=10_000)
    cid = w.brain_command("resume")
    qtbot.waitUntil(lambda: cid in w.replies, timeout=10_000)
    assert stack.status("brain-trend")["running"] is True
    qtbot.waitUntil(lambda: _state_cell(w, "brain-trend") == "running", timeout=10_000)


def _state_cell(w, brain: str) -> str:
    for r in range(w.brain_table.rowCount()):
        if w.brain_table.item(r, 0).text() == brain:
            return w.brain_table.item(r, 2).text()
    return ""


def test_survives_router_kill_and_restart(viz, stack, qtbot) -> None:
    """Last in the module: it replaces the router."""
    w, chart = viz.window, viz.window.chart
    loads0 = viz.agent.counts["history_loads"]
    os.kill(stack.procs["router"].pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: w.health_bad and ("router" in w.status_label.text() or "STALE" in w.status_label.text()),
                    timeout=20_000)  # fmt: skip
    stack.restart_router()
    qtbot.waitUntil(lambda: viz.agent.counts["history_loads"] > loads0, timeout=30_000)

    def healthy() -> None:
        assert not w.health_bad, w.status_label.text()

    qtbot.waitUntil(healthy, timeout=30_000)
    n = len(chart.series)
    qtbot.waitUntil(lambda: len(chart.series) > n, timeout=30_000)  # live bars again
    _same_bars(chart.series.bars.copy(), stack.bars(last_n=50_000))
