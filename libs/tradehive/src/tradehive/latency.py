"""Per-hop latency: hop names, the shared histogram and the arithmetic on nanosecond stamps.

One family, ``tradehive_hop_latency_seconds{agent, hop}``, observed by the agent at the *receiving* end of a
hop (its clock minus a stamp from upstream; the processes share the host's clock, or NTP/PTP across hosts):

=================  ===============  ==================================================================
hop                observed by      value
=================  ===============  ==================================================================
venue_to_feeder    feeder           feeder receive - venue/broker tick ``ts`` (simulator and live adapters
                                    only: replayed data carry historic stamps, so replay never observes it)
feeder_to_router   router           router handler - feeder send (wire header ``ns``)
router_to_brain    brain            brain handler - router send (ticks, closed and partial bars)
router_to_trader   trader           trader quote handler - router send (the paper venue's quote feed)
brain_to_trader    trader           trader intent handler - brain decision (``SubmitOrder.ts_ns``)
trader_to_venue    trader           time the venue took to take (and acknowledge) an order
tick_to_order      trader           trader intent handler - origin of the data that caused the order
=================  ===============  ==================================================================

The origin is the wire header's ``"o"`` (:attr:`agentcore.Message.origin_ns`): the feeder sets it to the time
it received (replay: released) the tick batch, the router forwards it on the ticks and bars that batch
produced, the brain puts the origin of the data behind a decision on the order intent it sends.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from tradehive.metrics import HistogramFamily, RoleMetrics

HOP_METRIC: Final = "tradehive_hop_latency_seconds"
HOP_DOC: Final = "Latency of one hop of the tick-to-order path (see tradehive.latency)."
# 5 µs .. 10 s: the interesting range is 20 µs - 5 ms on one host; the tail catches stalls
HOP_BUCKETS: Final = (
    5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3,
    1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip


class Hop(StrEnum):
    VENUE_TO_FEEDER = "venue_to_feeder"
    FEEDER_TO_ROUTER = "feeder_to_router"
    ROUTER_TO_BRAIN = "router_to_brain"
    ROUTER_TO_TRADER = "router_to_trader"
    BRAIN_TO_TRADER = "brain_to_trader"
    TRADER_TO_VENUE = "trader_to_venue"
    TICK_TO_ORDER = "tick_to_order"


def hop_histogram(metrics: RoleMetrics) -> HistogramFamily:
    """The agent's ``tradehive_hop_latency_seconds`` family: ``hops(Hop.X).observe(s)`` (no-op when metrics off)."""
    return metrics.histogram(HOP_METRIC, HOP_DOC, ["hop"], buckets=HOP_BUCKETS)


def since_s(stamp_ns: int, now_ns: int) -> float:
    """Seconds from ``stamp_ns`` to ``now_ns``, clamped at 0 (two processes' clocks may disagree slightly)."""
    d = now_ns - stamp_ns
    return d / 1e9 if d > 0 else 0.0


__all__ = ["HOP_BUCKETS", "HOP_DOC", "HOP_METRIC", "Hop", "hop_histogram", "since_s"]
