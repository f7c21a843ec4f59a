"""The trader: the only role that talks to the venue. Wiring only: intents from brains (ROUTER, acknowledged)
and quotes from the router go into ``marketcore.execution.ExecutionEngine``; the events it emits are
published. The venue is built by name (``TRADEHIVE_TRADER_VENUE``, paper by default); with a data directory
(``TRADEHIVE_TRADER_DATA_DIR``) every order, event and fill is journaled before it is acknowledged or
published, and the books are rebuilt and reconciled with the venue at start, before any intent is accepted."""

from __future__ import annotations

import math
import time
from typing import Any, cast

import msgspec
from agentcore import Agent, Message, batch_handler, remote
from agentcore.sockets import Handler
from marketcore.errors import MarketcoreError
from marketcore.execution import Ack, ExecutionSettings, build_engine
from marketcore.orders import (
    CancelOrder,
    OrderEvent,
    OrderFilled,
    OrderRejected,
    OrderStatus,
    ReplaceOrder,
    SubmitOrder,
)
from marketcore.orders import decode as decode_order
from marketcore.orders import encode as encode_order
from marketcore.risk import RISK_RULES
from tradehive import protocol as p
from tradehive.eventtime import TraderGate
from tradehive.latency import Hop, hop_histogram, since_s
from tradehive.metrics import RoleMetrics
from tradehive.records import TraderStatus, read_status, to_status
from tradehive.routing.runs import join


class TraderConfig(ExecutionSettings, frozen=True, forbid_unknown_fields=True):
    router: str = "router"
    position_interval_s: float = 1.0
    sync_brains: list[str] = []  # event time: quotes wait until these (trading) brains decided on them
    sync_max_hold_s: float = 0.0  # live: a quote held this long goes on anyway (0: wait; replays)
    flow_to: str = ""  # a replaying feeder's name: report progress to it (flow control)
    connect_timeout_s: float = 30.0  # how long the router may take to appear in the name server
    # a replay of a recorded session: client order id -> (symbol, data time of the last quote the recorded venue had
    # processed when that order reached it, the order's decision time); the venue is held there (tradehive.replay)
    replay_positions: dict[str, tuple[str, int, int]] = {}


class TraderAgent(Agent):
    role = "trader"
    Config = TraderConfig
    config_prefix = "TRADEHIVE_TRADER_"

    def on_init(self) -> None:
        cfg: TraderConfig = self.config
        # an order filled on arrival publishes no order_accepted: its order_filled implies it (docs/wire-format.md)
        self.engine = build_engine(cfg, self.name, emit=self._publish, on_error=self.report_error,
                                   fold_accepts=True)  # fmt: skip
        self.counts, n, m = self.engine.counts, self.name, RoleMetrics(self)
        self._c_events = m.counter("tradehive_trader_order_events_total", "Order events.", ["event"])
        self._c_fills = m.counter("tradehive_trader_fills_total", "Fills.", ["symbol"])
        self._m_states = m.gauge("tradehive_trader_orders", "Orders tracked, by current state.", ["state"],
                                 preset=[s.name.lower() for s in OrderStatus])  # fmt: skip
        self._m_risk = m.counter("tradehive_trader_risk_rejections_total", "Pre-trade risk rejections.", ["rule"],
                                 preset=RISK_RULES)  # every bounded rule's series exists (at 0) up front  # fmt: skip
        self._m_pos = m.gauge("tradehive_trader_position", "Signed position.", ["symbol"])
        self._m_pnl = m.gauge("tradehive_trader_pnl", "PnL in quote currency.", ["currency", "kind"])
        self._m_kill = m.gauge("tradehive_trader_kill_switch", "1 while new orders are halted.")()
        self._m_open = m.gauge("tradehive_trader_open_orders", "Orders not yet final.")()
        self._m_diff = m.gauge("tradehive_trader_reconcile_differences", "Book/venue differences at start.")()
        hops = hop_histogram(m)
        self._hop_in, self._hop_quote, self._hop_venue, self._hop_e2e = (
            hops(h)
            for h in (Hop.BRAIN_TO_TRADER, Hop.ROUTER_TO_TRADER, Hop.TRADER_TO_VENUE, Hop.TICK_TO_ORDER)
        )
        self._exec_topic = p.exec_topic(n)
        self.bind("PUB", p.TRADER_EVENTS)
        diffs = self.engine.reconcile()  # before any intent: the books as journaled vs the venue
        for d in diffs:
            self.log.warning("reconciliation difference", kind=d.kind, symbol=d.symbol, detail=d.detail)
        self._m_diff.set(len(diffs))
        self.recovery = {"journal_records": self.engine.recovered, "differences": msgspec.to_builtins(diffs)}
        self.bind("ROUTER", p.TRADER_ORDERS, handler=self.on_intent)
        self.connect(
            f"{cfg.router}.{p.ROUTER_MARKET}",
            handler={p.TICK_PREFIX: cast("Handler", batch_handler(self.on_ticks))},  # every tick waiting
            alias="market",
            timeout=cfg.connect_timeout_s,
        )
        self.engine.venue.set_event_listener(lambda: self.post(self.engine.poll_venue))
        self.engine.venue.start()
        self.every(cfg.position_interval_s, self.publish_positions)
        self._waiting: dict[str, Any] = {}  # intents held by event time -> where their ack goes
        self.gate = TraderGate(self, cfg.sync_brains, self.engine.on_ticks, p.TRADER_EVENTS,
                               max_hold_s=cfg.sync_max_hold_s, flow_to=cfg.flow_to,
                               positions=cfg.replay_positions, idle=self.engine.idle)  # fmt: skip
        self._at_topic = p.at_topic(self.name)

    def on_ticks(self, msgs: list[Message]) -> None:
        """Every tick message waiting (natural batching): one call per symbol with its ticks in arrival order
        (the sequencer and the venue see exactly the rows they would one message at a time; the engine looks
        at every row only while something rests on the symbol, else at the newest quote)."""
        first = msgs[0]
        self._hop_quote.observe(since_s(first.sent_ns, time.time_ns()))  # the oldest of the batch
        if len(msgs) == 1:
            self.gate.on_ticks(p.parse_tick_topic(first.topic), first.data, first.origin_ns)
            return
        by_symbol: dict[str, list[Message]] = {}
        for m in msgs:
            if m.data.size:
                by_symbol.setdefault(p.parse_tick_topic(m.topic), []).append(m)
        for symbol, ms in by_symbol.items():
            ticks = (
                ms[0].data if len(ms) == 1 else join([m.data for m in ms])
            )  # not np.concatenate: ~100x slower
            self.gate.on_ticks(symbol, ticks, ms[-1].origin_ns)

    def on_intent(self, msg: Message) -> Any:
        """ROUTER handler: the return value (an OrderAck) goes back to the brain that sent the intent."""
        if msg.type == p.TYPE_WATERMARK:
            wm = p.decode(msg.data)  # a bad one raises: counted and logged by the loop, no reply
            if isinstance(wm, p.Watermark):
                self.gate.on_watermark(wm.agent, wm.symbol, wm.ts_ns)
            return None
        now = time.time_ns()
        if msg.origin_ns:
            self._hop_e2e.observe(since_s(msg.origin_ns, now))
        try:
            cmd = decode_order(msg.data)
        except MarketcoreError as exc:
            self.counts["bad_intents"] += 1
            self.report_error("intent", exc)
            return self._ack(Ack("", False, f"undecodable: {exc}"))
        if isinstance(cmd, CancelOrder):
            return self._ack(self.engine.cancel(cmd, msg.origin_ns))
        if isinstance(cmd, ReplaceOrder):
            return self._ack(self.engine.replace(cmd, msg.origin_ns))
        if not isinstance(cmd, SubmitOrder):
            self.counts["bad_intents"] += 1
            return self._ack(Ack("", False, f"not an order: {type(cmd).__name__}"))
        if cmd.ts_ns:
            self._hop_in.observe(since_s(cmd.ts_ns, now))
        if not self.gate.sequencer.enabled:
            return self._submit(cmd, msg.data, msg.origin_ns)
        # event time: the intent runs once every trading brain has decided up to its data time (in a canonical
        # order); its ack is sent then. A re-send while it waits only renews where the ack goes.
        cid, first = cmd.client_order_id, cmd.client_order_id not in self._waiting
        self._waiting[cid] = self.reply_later(p.TRADER_ORDERS)
        if first:
            raw, origin = msg.data, msg.origin_ns

            def run() -> None:
                self._waiting.pop(cid)(self._submit(cmd, raw, origin))

            self.gate.on_decision(msg.sender, cmd.symbol, cmd.data_ts_ns, cid, run)
        return None

    def _submit(self, cmd: SubmitOrder, raw: bytes, origin_ns: int) -> bytes:
        self.gate.before_order(
            cmd.client_order_id, cmd.symbol
        )  # a replay: the venue where the recorded one was
        at = self.engine.quotes.get(cmd.symbol, (0, 0.0, 0.0))[0]  # where the venue stands for this order
        t0 = time.perf_counter()
        ack = self.engine.submit(cmd, origin_ns)
        if not ack.duplicate:  # the order log: every order asked for, accepted or refused before the venue
            self._log_order(cmd, ack, raw, origin_ns)
            pos = p.QuotePosition(cmd.client_order_id, cmd.symbol, int(at))
            self.send(p.TRADER_EVENTS, p.encode(pos), topic=self._at_topic, type_="quote_position",
                      origin_ns=origin_ns)  # fmt: skip
            self.gate.after_order(cmd.client_order_id, cmd.symbol)
        if ack.accepted and not ack.duplicate:
            self._hop_venue.observe(time.perf_counter() - t0)
        if ack.rule and not ack.duplicate:
            self._m_risk(ack.rule).inc()
            self.log.warning(
                "risk rejected", client_order_id=ack.client_order_id, rule=ack.rule, detail=ack.reason
            )
        return self._ack(ack)

    def _log_order(self, cmd: SubmitOrder, ack: Ack, raw: bytes, origin_ns: int) -> None:
        if ack.accepted:
            self.send(p.TRADER_EVENTS, raw, topic=self._exec_topic, type_="submit_order", origin_ns=origin_ns)
        elif self.engine.tracker.get(cmd.client_order_id) is None:  # refused before the venue saw it
            refused = OrderRejected(cmd.client_order_id, cmd.symbol, ack.reason, cmd.data_ts_ns)
            self.send(
                p.TRADER_EVENTS,
                encode_order(refused),
                topic=self._exec_topic,
                type_="order_rejected",
                origin_ns=origin_ns,
            )

    @staticmethod
    def _ack(a: Ack) -> bytes:
        return p.encode(p.OrderAck(a.client_order_id, a.accepted, a.duplicate, a.reason, a.rule))

    def _publish(self, ev: OrderEvent, origin_ns: int) -> None:
        """Called by the engine once the journal has committed ``ev``."""
        tag = p.event_type(ev)
        self._c_events(tag).inc()
        if isinstance(ev, OrderFilled):
            self._c_fills(ev.symbol).inc()
        self.send(p.TRADER_EVENTS, encode_order(ev), topic=self._exec_topic, type_=tag, origin_ns=origin_ns)

    def publish_positions(self) -> None:
        eng, n = self.engine, self.name
        positions = eng.positions()
        for s, pos in positions.items():
            self._m_pos(s).set(pos["qty"] or 0.0)
        for cur, vals in eng.pnl().items():
            for kind, v in vals.items():
                self._m_pnl(cur, kind).set(math.nan if v is None else v)
        self._m_kill.set(1.0 if eng.risk.halted else 0.0)
        self._m_open.set(len(eng.tracker.open_orders()))
        for state, count in eng.tracker.count_by_status().items():
            self._m_states(state.name.lower()).set(count)
        realised, unrealised, fees = eng.pnl_totals()
        report = p.PositionReport(n, time.time_ns(), positions, realised, unrealised, fees)  # type: ignore[arg-type]
        self.send(p.TRADER_EVENTS, p.encode(report), topic=p.pos_topic(n), type_=p.TYPE_POSITIONS)

    @remote(idempotent=True)
    def kill_switch(self, engage: bool = True, reason: str = "manual") -> bool:
        """Halt (True) or allow (False) new orders; cancels always pass. Returns the new state."""
        halted = self.engine.set_kill_switch(bool(engage), reason)
        self.log.warning("kill switch", engaged=halted, reason=reason)
        self._m_kill.set(1.0 if halted else 0.0)
        return halted

    @remote(idempotent=True)
    def fills_list(self) -> list[dict[str, Any]]:
        """Every fill so far (for reconciliation and tests)."""
        return [msgspec.to_builtins(f) for f in self.engine.fills]

    def on_stop(self) -> None:
        self.engine.close()

    def extra_status(self) -> dict[str, Any]:
        st = self.engine.status()
        return {**st, **to_status(read_status(st, TraderStatus)), "recovery": self.recovery,  # typed, checked
                "working": self.engine.working_levels(), "sequencer": self.gate.status()}  # fmt: skip
