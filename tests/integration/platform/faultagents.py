"""Agents for the trader fault tests, imported by their processes (this directory is put on PYTHONPATH).

``QuoteDesk`` stands in for the router's market stream: it publishes exactly the quotes a test asks for.
``CrashAfterJournal`` is the real trader that SIGKILLs itself once an event for an order whose id starts with
``crash-`` is journaled and committed, before it is published or acknowledged.
"""

from __future__ import annotations

import os
import signal
import time

import numpy as np
from agentcore import Agent, remote
from marketcore.orders import OrderEvent
from marketcore.schema import TICK_DTYPE
from tradehive import protocol as p
from tradehive_trader.agent import TraderAgent


class QuoteDesk(Agent):
    role = "router"

    def on_init(self) -> None:
        self.bind("PUB", p.ROUTER_MARKET)

    @remote
    def quote(self, symbol: str, ts_ns: int, bid: float, ask: float) -> None:
        ticks = np.zeros(1, TICK_DTYPE)
        ticks[0] = (ts_ns, bid, ask, np.nan, 0.0)
        self.send(
            p.ROUTER_MARKET, ticks, topic=p.tick_topic(symbol), type_=p.TYPE_TICKS, origin_ns=time.time_ns()
        )


class CrashAfterJournal(TraderAgent):
    def _publish(self, ev: OrderEvent, origin_ns: int) -> None:
        if ev.client_order_id.startswith("crash-"):
            assert self.engine.journal is not None and not self.engine.journal.dirty  # committed
            os.kill(os.getpid(), signal.SIGKILL)
        super()._publish(ev, origin_ns)
