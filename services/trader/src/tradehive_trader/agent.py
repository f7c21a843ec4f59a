"""The trader: the only role that talks to the venue. Wiring only: intents from brains (ROUTER, acknowledged)
and quotes from the router go into ``marketcore.execution.ExecutionEngine``; the events it emits are
published. The venue is built by name (``TRADEHIVE_TRADER_VENUE``, paper by default); with a data directory
every order, event and fill is journaled before it is acknowledged or published, and the books are rebuilt
and reconciled with the venue at start, before any intent is accepted."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import msgspec
from agentcore import Agent, Message, remote
from marketcore.clock import WallClock
from marketcore.errors import MarketcoreError
from marketcore.execution import COUNTS, Ack, ExecutionEngine, Journal, SyncPolicy
from marketcore.instruments import InstrumentRegistry
from marketcore.orders import CancelOrder, OrderEvent, OrderStatus, ReplaceOrder, SubmitOrder
from marketcore.orders import decode as decode_order
from marketcore.orders import encode as encode_order
from marketcore.risk import RISK_RULES, RiskEngine, RiskLimits
from marketcore.venue import VenueContext, make_venue
from tradehive import protocol as p
from tradehive.instrument import Children, instrument
from tradehive.latency import Hop, hop_histogram, since_s

INF = math.inf


class TraderConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    router: str = "router"
    venue: str = "paper"  # a name in marketcore.venue's registry (paper, or a registered adapter such as fix)
    venue_options: dict[str, str] = {}  # extra options for the venue adapter
    data_dir: str = (
        ""  # journal directory (<data_dir>/<agent name>.journal); empty: books kept in memory only
    )
    journal_sync: SyncPolicy = "full"  # full: fsync every commit | normal: survives a process kill | off
    max_order_qty: float = 1_000_000.0
    max_position: float = 2_000_000.0
    max_order_notional: float = INF
    max_gross_notional: float = INF
    max_orders_per_second: float = 50.0
    order_burst: int = 20
    kill_switch: bool = False
    fee_bps: float = 0.2
    fee_per_order: float = 0.0
    slippage_ticks: float = 0.0
    latency_ms: float = 0.0
    venue_brackets: bool = False  # False: the paper venue holds no SL/TP and the trader emulates them
    position_interval_s: float = 1.0
    recent_events: int = 50


class TraderAgent(Agent):
    role = "trader"
    Config = TraderConfig
    config_prefix = "TRADEHIVE_TRADER_"

    def on_init(self) -> None:
        cfg: TraderConfig = self.config
        instruments, clock = InstrumentRegistry.default(), WallClock()
        self.journal = (
            Journal(Path(cfg.data_dir) / f"{self.name}.journal", cfg.journal_sync) if cfg.data_dir else None
        )
        paper = {"fee_bps": cfg.fee_bps, "fee_per_order": cfg.fee_per_order, "slippage_ticks": cfg.slippage_ticks,
                 "latency_ns": int(cfg.latency_ms * 1e6), "supports_brackets": cfg.venue_brackets}  # fmt: skip
        options = {**(paper if cfg.venue == "paper" else {}), **cfg.venue_options}
        self.venue = make_venue(cfg.venue, VenueContext(instruments, clock, options, self.journal, self.name))
        limits = RiskLimits(max_order_qty=cfg.max_order_qty, max_position=cfg.max_position,
                            max_order_notional=cfg.max_order_notional, max_gross_notional=cfg.max_gross_notional,
                            max_orders_per_second=cfg.max_orders_per_second, order_burst=cfg.order_burst,
                            kill_switch=cfg.kill_switch)  # fmt: skip
        self.engine = ExecutionEngine(self.venue, instruments, RiskEngine(limits, instruments), clock,
                                      journal=self.journal, emit=self._publish, on_error=self._handler_error,
                                      recent_events=cfg.recent_events)  # fmt: skip
        self.counts = self.engine.counts
        m, i, n = self.metrics, instrument, self.name
        self._c_events = Children(i(m.counter("tradehive_trader_order_events_total", "Order events by type.",
                                              ["event"])), n)  # fmt: skip
        self._c_fills = Children(i(m.counter("tradehive_trader_fills_total", "Fills.", ["symbol"])), n)
        self._m_states = i(m.gauge("tradehive_trader_orders", "Orders tracked, by current state.", ["state"]))
        self._m_risk = i(
            m.counter("tradehive_trader_risk_rejections_total", "Pre-trade risk rejections.", ["rule"])
        )
        self._m_pos = i(m.gauge("tradehive_trader_position", "Signed position.", ["symbol"]))
        self._m_pnl = i(m.gauge("tradehive_trader_pnl", "PnL in quote currency.", ["currency", "kind"]))
        self._m_kill = i(
            m.gauge("tradehive_trader_kill_switch", "1 while the kill switch halts new orders.")
        ).labels(agent=n)
        self._m_open = i(m.gauge("tradehive_trader_open_orders", "Orders not yet in a final state.")).labels(
            agent=n
        )
        self._m_diff = i(
            m.gauge("tradehive_trader_reconcile_differences", "Book/venue differences at start.")
        )
        for rule in RISK_RULES:  # every bounded rule's series exists (at 0) before its first rejection
            self._m_risk.labels(agent=n, rule=rule)
        hops = hop_histogram(m)
        self._hop_in, self._hop_quote, self._hop_venue, self._hop_e2e = (
            hops.labels(agent=n, hop=h)
            for h in (Hop.BRAIN_TO_TRADER, Hop.ROUTER_TO_TRADER, Hop.TRADER_TO_VENUE, Hop.TICK_TO_ORDER)
        )
        self.recovery = self._recover()
        self._exec_topic = p.exec_topic(n)
        self.bind("PUB", p.TRADER_EVENTS)
        self.bind("ROUTER", p.TRADER_ORDERS, handler=self.on_intent)  # only once the books are rebuilt
        self.connect(
            f"{cfg.router}.{p.ROUTER_MARKET}", handler={"tick.": self.on_ticks}, alias="market", timeout=30.0
        )
        self.venue.set_event_listener(lambda: self.post(self.engine.poll_venue))
        self.venue.start()
        self.every(cfg.position_interval_s, self.publish_positions)

    def _recover(self) -> dict[str, Any]:
        records = self.engine.recover()
        diffs = self.engine.reconcile()
        for d in diffs:
            self.log.warning("reconciliation difference", kind=d.kind, symbol=d.symbol, detail=d.detail)
        self._m_diff.labels(agent=self.name).set(len(diffs))
        if records:
            self.log.info("books recovered", records=records, venue_orders=len(self.venue.open_orders()),
                          orders=len(self.engine.tracker), positions=self.engine.positions(),
                          differences=len(diffs))  # fmt: skip
        return {"journal_records": records, "differences": [msgspec.to_builtins(d) for d in diffs]}

    def on_ticks(self, msg: Message) -> None:
        self._hop_quote.observe(since_s(msg.sent_ns, time.time_ns()))
        self.engine.on_ticks(msg.topic[len("tick.") :], msg.data, msg.origin_ns)

    def on_intent(self, msg: Message) -> Any:
        """ROUTER handler: the return value (an OrderAck) goes back to the brain that sent the intent."""
        now = time.time_ns()
        if msg.origin_ns:
            self._hop_e2e.observe(since_s(msg.origin_ns, now))
        try:
            cmd = decode_order(msg.data)
        except MarketcoreError as exc:
            self.counts["bad_intents"] += 1
            self._handler_error("intent", exc)
            return p.encode(p.OrderAck(client_order_id="", accepted=False, reason=f"undecodable: {exc}"))
        if isinstance(cmd, CancelOrder):
            return self._ack(self.engine.cancel(cmd, msg.origin_ns))
        if isinstance(cmd, ReplaceOrder):
            return self._ack(self.engine.replace(cmd, msg.origin_ns))
        if not isinstance(cmd, SubmitOrder):
            self.counts["bad_intents"] += 1
            return p.encode(
                p.OrderAck(client_order_id="", accepted=False, reason=f"not an order: {type(cmd).__name__}")
            )
        if cmd.ts_ns:
            self._hop_in.observe(since_s(cmd.ts_ns, now))
        t0 = time.perf_counter()
        ack = self.engine.submit(cmd, msg.origin_ns)
        if ack.accepted and not ack.duplicate:
            self._hop_venue.observe(time.perf_counter() - t0)
        if ack.rule:
            self._m_risk.labels(agent=self.name, rule=ack.rule).inc()
            self.log.warning(
                "risk rejected", client_order_id=ack.client_order_id, rule=ack.rule, detail=ack.reason
            )
        return self._ack(ack)

    @staticmethod
    def _ack(ack: Ack) -> bytes:
        return p.encode(p.OrderAck(client_order_id=ack.client_order_id, accepted=ack.accepted, reason=ack.reason,
                                   rule=ack.rule, duplicate=ack.duplicate))  # fmt: skip

    def _publish(self, ev: OrderEvent, origin_ns: int) -> None:
        """Called by the engine after the journal committed."""
        tag = ev.__struct_config__.tag
        self._c_events(type(ev).__name__).inc()
        if ev.__struct_config__.tag == "order_filled":
            self._c_fills(ev.symbol).inc()
        self.send(
            p.TRADER_EVENTS, encode_order(ev), topic=self._exec_topic, type_=str(tag), origin_ns=origin_ns
        )

    def publish_positions(self) -> None:
        eng, n = self.engine, self.name
        pnl, positions = eng.pnl(), eng.positions()
        for s, pos in positions.items():
            self._m_pos.labels(agent=n, symbol=s).set(pos["qty"] or 0.0)
        for cur, vals in pnl.items():
            for kind, v in vals.items():
                self._m_pnl.labels(agent=n, currency=cur, kind=kind).set(math.nan if v is None else v)
        self._m_kill.set(1.0 if eng.risk.halted else 0.0)
        self._m_open.set(len(eng.tracker.open_orders()))
        for state, count in eng.tracker.count_by_status().items():
            self._m_states.labels(agent=n, state=state.name.lower()).set(count)
        report = p.PositionReport(
            trader=n, ts_ns=time.time_ns(), positions=positions,
            realised_pnl=sum(v["realised"] or 0.0 for v in pnl.values()),
            unrealised_pnl=sum(v["unrealised"] or 0.0 for v in pnl.values()),
            fees=sum(v["fees"] or 0.0 for v in pnl.values()),
        )  # fmt: skip
        self.send(p.TRADER_EVENTS, p.encode(report), topic=p.pos_topic(n), type_=p.TYPE_POSITIONS)

    @remote
    def kill_switch(self, engage: bool = True, reason: str = "manual") -> bool:
        """Halt (True) or allow (False) new orders; cancels always pass. Returns the new state."""
        halted = self.engine.set_kill_switch(bool(engage), reason)
        self.log.warning("kill switch", engaged=halted, reason=reason)
        self._m_kill.set(1.0 if halted else 0.0)
        return halted

    @remote
    def fills_list(self) -> list[dict[str, Any]]:
        """Every fill so far (for reconciliation and tests)."""
        return [msgspec.to_builtins(f) for f in self.engine.fills]

    @remote
    def open_orders(self) -> list[dict[str, Any]]:
        """Orders not yet final, with their state."""
        return [{"client_order_id": o.client_order_id, "status": o.status.value, "parent_id": o.parent_id,
                 **msgspec.to_builtins(o.command)} for o in self.engine.tracker.open_orders()]  # fmt: skip

    def on_stop(self) -> None:
        self.venue.close()
        if self.journal is not None:
            self.journal.close()
        super().on_stop()

    def extra_status(self) -> dict[str, Any]:
        return {
            **self.engine.status(),
            "recovery": self.recovery,
            "journal": str(self.journal.path) if self.journal else "",
        }


__all__ = ["COUNTS", "OrderStatus", "TraderAgent", "TraderConfig"]
