"""A replay of real ticks through every role trades in the paper venue, and the trader's PnL matches an
independent recomputation from its fills; the brain hierarchy (regime gate) is live; no order is duplicated."""

from __future__ import annotations

import math
import time
from pathlib import Path

import msgspec
import pytest
from agentcore.testing import wait_until
from tradehive import protocol as p
from tradehive.platform import build_topology

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]


def _one_day(data_dir: Path, tmp_path: Path) -> Path:
    """A data directory holding one real FXCM day (2014-05-08, the ECB spike), laid out like the original."""
    day = tmp_path / "fxcm" / "tick" / "eurusd"
    day.mkdir(parents=True)
    (day / "20140508_quote.zip").symlink_to(data_dir / "fxcm" / "tick" / "eurusd" / "20140508_quote.zip")
    return tmp_path / "fxcm" / "tick"


def recompute(fills: list[dict], bid: float, ask: float) -> dict[str, float]:
    """Cash-flow accounting straight from the fills: no netting logic shared with the trader."""
    cash = qty = fees = 0.0
    for f in fills:
        sign = 1.0 if f["side"] == "BUY" else -1.0
        cash -= sign * f["qty"] * f["price"]
        qty += sign * f["qty"]
        fees += f["fee"]
    mark = bid if qty > 0 else ask
    return {"qty": qty, "fees": fees, "equity": cash + qty * mark - fees}


def test_replay_trades_and_pnl_matches_fills(platform, data_dir: Path, tmp_path: Path) -> None:
    topo = build_topology(data=str(_one_day(data_dir, tmp_path)), tz="-05:00", speed="2500",
                          trend_params={"fast": 5, "slow": 13})  # fmt: skip
    plat = platform(dict(topo.agents))
    plat.wait_replay_done(timeout=300)
    # let orders in flight settle: the trader's order count stops moving
    prev = -1
    for _ in range(20):
        n = plat.status("trader")["orders"]["total"]
        if n == prev:
            break
        prev = n
        time.sleep(1.0)
    trader = plat.status("trader")
    brain = plat.status("brain-trend")
    regime = plat.status("brain-regime")
    fills = plat.call("trader", "fills_list")

    assert brain["orders_sent"] >= 10, brain
    assert trader["fills"] == len(fills) >= 10
    assert brain["acks"] == brain["orders_sent"] and brain["pending_acks"] == 0
    assert brain["duplicates"] == 0 and trader["duplicates"] == 0
    assert trader["orders"]["by_status"].get("FILLED", 0) >= 10
    assert trader["errors"] == 0 and brain["errors"] == 0, (trader["last_errors"], brain["last_errors"])
    # the hierarchy: the regime brain published, the trend brain consumed
    assert regime["signals_out"] > 100 and brain["signals_in"] == regime["signals_out"]
    # every fill came from the trend brain (its ids) and the brain's position agrees with the trader's
    assert all(f["client_order_id"].startswith("brain-trend-") for f in fills)
    pos = trader["positions"]["EURUSD"]["qty"]
    assert brain["positions"].get("EURUSD", 0.0) == pos

    last = plat.history(p.TickHistoryRequest(symbol="EURUSD", start_ns=0, end_ns=2**62, limit=1))[0]
    want = recompute(fills, float(last["bid"]), float(last["ask"]))
    pnl = trader["pnl"]["USD"]
    assert want["qty"] == pos
    assert math.isclose(want["fees"], pnl["fees"], rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(want["equity"], pnl["net"], rel_tol=1e-9, abs_tol=1e-6), (want, pnl)


def test_trader_refuses_bad_intents_and_kill_switch_halts(platform, data_dir: Path, tmp_path: Path) -> None:
    """Garbage on the order socket is counted and answered; the kill switch rejects new orders."""
    import zmq
    from agentcore import naming, wire
    from marketcore.orders import OrderSide, SubmitOrder, encode

    # no brains here: without event time (whose feeder and trader would wait for the brains' watermarks)
    topo = build_topology(data=str(_one_day(data_dir, tmp_path)), tz="-05:00", speed="max", event_time=False)
    agents = dict(topo.agents)
    agents.pop("brain-trend")
    agents.pop("brain-regime")
    # flow control alone: the feeder starts once the router and the trader listen. Without it a max-speed replay
    # could end before the trader subscribed (the router sends one tick message per drained batch, a handful for
    # the day), leaving it no quote to fill at ("no quote yet")
    flow = {"feeder": {"flow_consumers": ["router", "trader"]}, "router": {"flow_to": "feeder"},
            "trader": {"flow_to": "feeder"}}  # fmt: skip
    for name, extra in flow.items():
        agents[name] = msgspec.structs.replace(agents[name], config={**agents[name].config, **extra})
    plat = platform(agents)
    plat.wait_replay_done(timeout=120)
    _pattern, endpoint = naming.resolve(naming.locate("127.0.0.1", plat.port), "trader.orders")
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(endpoint)

    def ask(payload: object, seq: int) -> p.OrderAck:
        sock.send_multipart(wire.encode("", payload, sender="test", seq=seq))
        assert sock.poll(10_000), "no ack from the trader"
        rec = p.decode(wire.decode(sock.recv_multipart()).data)
        assert isinstance(rec, p.OrderAck)
        return rec

    try:
        bad = ask(b"\x00garbage", 1)
        assert not bad.accepted and "undecodable" in bad.reason
        order = SubmitOrder(client_order_id="t-1", symbol="EURUSD", side=OrderSide.BUY, qty=1000.0)
        assert ask(encode(order), 2).accepted
        again = ask(encode(order), 3)
        assert again.duplicate and again.accepted
        unknown = ask(
            encode(SubmitOrder(client_order_id="t-2", symbol="NOPE", side=OrderSide.BUY, qty=1.0)), 4
        )
        assert not unknown.accepted and "unknown symbol" in unknown.reason
        assert plat.call("trader", "kill_switch", True, "test") is True
        halted = ask(
            encode(SubmitOrder(client_order_id="t-3", symbol="EURUSD", side=OrderSide.BUY, qty=1.0)), 5
        )
        assert not halted.accepted and halted.rule == "kill_switch"
    finally:
        sock.close()

    def settled() -> dict | None:
        st = plat.status("trader")
        return st if st["orders"]["total"] == 1 else None

    st = wait_until(settled, 10)
    assert st["bad_intents"] == 1 and st["duplicates"] == 1 and st["kill_switch"] is True
    assert st["risk_rejections"]["kill_switch"] == 1
