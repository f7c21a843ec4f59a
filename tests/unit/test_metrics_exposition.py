"""Role metric families: names and types as documented, bounded series present from the start, buffer
compactions exported as a counter that follows the buffer exactly."""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from test_metrics_hops import MINUTE, offline, ticks


def families(agent: object) -> dict[str, str]:
    text = generate_latest(agent.metrics.registry).decode()  # type: ignore[attr-defined]
    return {f.name: f.type for f in text_string_to_metric_families(text)}


@pytest.mark.timeout(30)
def test_router_buffers_and_compactions_counter() -> None:
    from tradehive_router.agent import RouterAgent, RouterConfig

    router = RouterAgent("router", config=RouterConfig(timeframes=["1m"], prices=["bid"], tick_window=4))
    offline(router)
    router.on_init()
    engine = router.engine
    engine.book("EURUSD", ticks([MINUTE]))
    for k in range(8):  # batches of 3 into a capacity of 8: the window is copied back now and then
        engine.ingest_live("EURUSD", ticks([MINUTE + 3 * k + i for i in range(3)]))
    engine.export_buffers(router.role)
    reg = router.metrics.registry
    labels = {"agent": "router", "role": "router", "symbol": "EURUSD", "buffer": "ticks"}
    buf = engine.books["EURUSD"].buffers()["ticks"]
    assert buf.compactions > 0
    assert reg.get_sample_value("tradehive_buffer_compactions_total", labels) == buf.compactions
    assert reg.get_sample_value("tradehive_buffer_rows", labels) == len(buf) == 4
    assert reg.get_sample_value("tradehive_buffer_fill_ratio", labels) == pytest.approx(1.0)
    engine.export_buffers(router.role)  # no new compaction: the counter does not move
    assert reg.get_sample_value("tradehive_buffer_compactions_total", labels) == buf.compactions
    fams = families(router)
    assert fams["tradehive_buffer_compactions"] == "counter"
    assert fams["tradehive_hop_latency_seconds"] == "histogram"
    for reason in ("bad_price", "out_of_order", "bad_payload", "bad_history_request"):
        assert (
            reg.get_sample_value(
                "tradehive_router_rejected_ticks_total", {"agent": "router", "reason": reason}
            )
            == 0
        )


@pytest.mark.timeout(30)
def test_trader_exposes_states_risk_rules_and_kill_switch_from_the_start() -> None:
    from marketcore.risk import RISK_RULES
    from tradehive_trader.agent import TraderAgent

    trader = TraderAgent("trader")
    offline(trader)
    trader.on_init()
    trader.publish_positions()
    reg = trader.metrics.registry
    assert reg.get_sample_value("tradehive_trader_kill_switch", {"agent": "trader"}) == 0.0
    for rule in RISK_RULES:
        assert (
            reg.get_sample_value("tradehive_trader_risk_rejections_total", {"agent": "trader", "rule": rule})
            == 0
        )
    assert reg.get_sample_value("tradehive_trader_orders", {"agent": "trader", "state": "filled"}) == 0
    trader.kill_switch(True, "test")
    assert reg.get_sample_value("tradehive_trader_kill_switch", {"agent": "trader"}) == 1.0
    assert families(trader)["tradehive_trader_orders"] == "gauge"
