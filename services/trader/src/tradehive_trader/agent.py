"""The trader: the only role that talks to the venue. Receives order intents (acknowledged), runs pre-trade risk,
sends to the paper venue (the embedded broker), tracks orders, positions and PnL, emulates SL/TP when the venue
cannot hold brackets, and publishes executions and positions. A thin agent on marketcore."""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Any

import msgspec
from agentcore import Agent, Message, remote
from marketcore.brackets import BracketEmulator
from marketcore.clock import WallClock
from marketcore.errors import MarketcoreError
from marketcore.instruments import InstrumentRegistry
from marketcore.orders import CancelOrder, OrderFilled, OrderStatus, OrderTracker, SubmitOrder
from marketcore.orders import decode as decode_order
from marketcore.orders import encode as encode_order
from marketcore.portfolio import Portfolio
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
        self.instruments = InstrumentRegistry.default()
        self.clock = WallClock()
        options: dict[str, object] = {"fee_bps": cfg.fee_bps, "fee_per_order": cfg.fee_per_order,
                                      "slippage_ticks": cfg.slippage_ticks, "latency_ns": int(cfg.latency_ms * 1e6),
                                      "supports_brackets": cfg.venue_brackets} if cfg.venue == "paper" else {}  # fmt: skip
        self.venue = make_venue(
            cfg.venue, VenueContext(self.instruments, self.clock, {**options, **cfg.venue_options})
        )
        self.risk = RiskEngine(
            RiskLimits(max_order_qty=cfg.max_order_qty, max_position=cfg.max_position,
                       max_order_notional=cfg.max_order_notional, max_gross_notional=cfg.max_gross_notional,
                       max_orders_per_second=cfg.max_orders_per_second, order_burst=cfg.order_burst,
                       kill_switch=cfg.kill_switch),
            self.instruments,
        )  # fmt: skip
        self.quotes: dict[str, tuple[int, float, float]] = {}  # symbol -> last (ts, bid, ask)
        self.tracker = OrderTracker()
        self.emulator = BracketEmulator()
        self.portfolio = Portfolio(self.instruments)
        self.fills: list[OrderFilled] = []
        # the last events as they happened; converted to plain dicts only when status is asked for
        self.recent: deque[Any] = deque(maxlen=max(1, cfg.recent_events))
        self._check_gross = not math.isinf(cfg.max_gross_notional)  # else the risk engine never reads it
        self.counts = {"intents": 0, "duplicates": 0, "risk_rejected": 0, "venue_rejected": 0, "bad_intents": 0,
                       "emulated_exits": 0, "bracket_cancels": 0, "quotes": 0}  # fmt: skip
        m, i = self.metrics, instrument
        self._m_orders = i(
            m.counter("tradehive_trader_order_events_total", "Order events by type.", ["event"])
        )
        self._m_states = i(m.gauge("tradehive_trader_orders", "Orders tracked, by current state.", ["state"]))
        self._m_risk = i(
            m.counter("tradehive_trader_risk_rejections_total", "Pre-trade risk rejections.", ["rule"])
        )
        self._m_fills = i(m.counter("tradehive_trader_fills_total", "Fills.", ["symbol"]))
        self._m_pos = i(m.gauge("tradehive_trader_position", "Signed position.", ["symbol"]))
        self._m_pnl = i(m.gauge("tradehive_trader_pnl", "PnL in quote currency.", ["currency", "kind"]))
        self._m_kill = i(m.gauge("tradehive_trader_kill_switch", "1 while the kill switch halts new orders."))
        self._m_open = i(m.gauge("tradehive_trader_open_orders", "Orders not yet in a final state."))
        self._m_kill.labels(agent=self.name).set(1.0 if self.risk.halted else 0.0)
        self._c_events, self._c_fills = (
            Children(self._m_orders, self.name),
            Children(self._m_fills, self.name),
        )
        for rule in RISK_RULES:  # every bounded rule's series exists (at 0) before its first rejection
            self._m_risk.labels(agent=self.name, rule=rule)
        hops = hop_histogram(m)
        self._hop_in = hops.labels(agent=self.name, hop=Hop.BRAIN_TO_TRADER)
        self._hop_quote = hops.labels(agent=self.name, hop=Hop.ROUTER_TO_TRADER)
        self._hop_venue = hops.labels(agent=self.name, hop=Hop.TRADER_TO_VENUE)
        self._hop_e2e = hops.labels(agent=self.name, hop=Hop.TICK_TO_ORDER)
        self._origin_ns = 0  # origin stamp of the intent being handled: carried on the events it causes
        self._exec_topic = p.exec_topic(self.name)
        self.bind("ROUTER", p.TRADER_ORDERS, handler=self.on_intent)
        self.bind("PUB", p.TRADER_EVENTS)
        self.connect(
            f"{cfg.router}.{p.ROUTER_MARKET}", handler={"tick.": self.on_ticks}, alias="market", timeout=30.0
        )
        self.every(cfg.position_interval_s, self.publish_positions)

    # -- quotes ---------------------------------------------------------------------------------------------
    def on_ticks(self, msg: Message) -> None:
        self._hop_quote.observe(since_s(msg.sent_ns, time.time_ns()))
        symbol = msg.topic[len("tick.") :]
        ticks = msg.data
        if not ticks.size or symbol not in self.instruments:
            return
        n = int(ticks.size)
        self.counts["quotes"] += n
        # rows as plain tuples (ts, bid, ask, last, volume): far cheaper than numpy scalar field access
        emulator = self.emulator
        armed = emulator._armed  # noqa: SLF001 - read-only: is a bracket armed on this symbol?
        if n > 1 and (self.venue.busy(symbol) or any(b.symbol == symbol for b in armed.values())):
            rows = ticks.tolist()  # orders in flight or resting, or an emulated bracket: every quote matters
        else:
            rows = ticks[-1:].tolist()
        quote_feed = math.isfinite(rows[-1][1])
        venue_on_quote, handle = self.venue.on_quote, self._handle
        for ts, bid, ask, last, _vol in rows:
            if not quote_feed:
                bid = ask = last
            self.quotes[symbol] = (ts, bid, ask)
            events = venue_on_quote(symbol, ts, bid, ask)
            if events:
                handle(events)
            if armed:
                for exit_cmd in emulator.on_quote(symbol, ts, bid, ask):
                    self.counts["emulated_exits"] += 1
                    self._place(exit_cmd, ts)
        self.portfolio.on_quote(symbol, bid, ask)

    # -- intents --------------------------------------------------------------------------------------------
    def on_intent(self, msg: Message) -> Any:
        """ROUTER handler: the return value (an OrderAck) goes back to the brain that sent the intent."""
        now = time.time_ns()
        if msg.origin_ns:
            self._hop_e2e.observe(since_s(msg.origin_ns, now))
        self._origin_ns = msg.origin_ns
        try:
            return self._on_intent(msg, now)
        finally:
            self._origin_ns = 0

    def _on_intent(self, msg: Message, now: int) -> Any:
        try:
            cmd = decode_order(msg.data)
        except MarketcoreError as exc:
            self.counts["bad_intents"] += 1
            self._handler_error("intent", exc)
            return p.encode(p.OrderAck(client_order_id="", accepted=False, reason=f"undecodable: {exc}"))
        if isinstance(cmd, CancelOrder):
            self._handle(self.venue.cancel(cmd, self._now(cmd.symbol)))
            return p.encode(p.OrderAck(client_order_id=cmd.client_order_id, accepted=True))
        if not isinstance(cmd, SubmitOrder):
            self.counts["bad_intents"] += 1
            return p.encode(
                p.OrderAck(client_order_id="", accepted=False, reason=f"not an order: {type(cmd).__name__}")
            )
        if cmd.ts_ns:
            self._hop_in.observe(since_s(cmd.ts_ns, now))
        self.counts["intents"] += 1
        return p.encode(self._accept(cmd))

    def _accept(self, cmd: SubmitOrder) -> p.OrderAck:
        cid = cmd.client_order_id
        if cid in self.tracker:
            self.counts["duplicates"] += 1
            order = self.tracker.get(cid)
            accepted = order is not None and order.status is not OrderStatus.REJECTED
            return p.OrderAck(client_order_id=cid, accepted=accepted, duplicate=True)
        if cmd.symbol not in self.instruments:
            self.counts["venue_rejected"] += 1
            return p.OrderAck(client_order_id=cid, accepted=False, reason=f"unknown symbol {cmd.symbol!r}")
        now = self._now(cmd.symbol)
        quote = self.quotes.get(cmd.symbol)
        price = (quote[2] if cmd.side.sign > 0 else quote[1]) if quote else math.nan
        position = self.portfolio.position(cmd.symbol).qty
        gross = self._gross() if self._check_gross else 0.0
        rejection = self.risk.check(cmd, position, price, now, gross)
        if rejection is not None:
            self.counts["risk_rejected"] += 1
            self._m_risk.labels(agent=self.name, rule=rejection.rule).inc()
            self.log.warning(
                "risk rejected", client_order_id=cid, rule=rejection.rule, detail=rejection.detail
            )
            return p.OrderAck(
                client_order_id=cid, accepted=False, reason=rejection.detail, rule=rejection.rule
            )
        self._place(cmd, now)
        order = self.tracker.get(cid)
        if order is not None and order.status is OrderStatus.REJECTED:
            return p.OrderAck(client_order_id=cid, accepted=False, reason="rejected by the venue")
        return p.OrderAck(client_order_id=cid, accepted=True)

    def _place(self, cmd: SubmitOrder, now: int) -> None:
        if cmd.client_order_id in self.tracker:
            return
        self.tracker.track(cmd).order.mark_submitted()
        venue_cmd = cmd
        if (
            cmd.has_bracket and not self.venue.capabilities.brackets
        ):  # the trader holds SL/TP itself (emulated)
            venue_cmd = msgspec.structs.replace(cmd, stop_loss=None, take_profit=None)
        t0 = time.perf_counter()
        events = self.venue.submit(venue_cmd, now)
        self._hop_venue.observe(time.perf_counter() - t0)
        self._handle(events)

    # -- events ---------------------------------------------------------------------------------------------
    def _handle(self, events: list[Any]) -> None:
        for ev in events:
            tag = type(ev).__name__
            try:
                order = self.tracker.apply(ev)
            except MarketcoreError as exc:
                self._handler_error("order event", exc)
                order = None
            self._c_events(tag).inc()
            if tag == "OrderRejected":
                self.counts["venue_rejected"] += 1
            if isinstance(ev, OrderFilled):
                self._on_fill(ev, order)
            self.send(p.TRADER_EVENTS, encode_order(ev), topic=self._exec_topic, type_=_tag(ev),
                      origin_ns=self._origin_ns)  # fmt: skip
            self.recent.append(ev)

    def _on_fill(self, fill: OrderFilled, order: Any) -> None:
        self.fills.append(fill)
        self.portfolio.apply_fill(fill)
        self._c_fills(fill.symbol).inc()
        cmd = order.command if order is not None else None
        is_child = order is not None and order.parent_id is not None
        if (
            cmd is not None
            and cmd.has_bracket
            and not self.venue.capabilities.brackets
            and order.status is OrderStatus.FILLED
        ):
            self.emulator.arm_from_entry(cmd, order.filled_qty)
        if not is_child and self.portfolio.position(fill.symbol).qty == 0.0:
            self._cancel_brackets(fill.symbol, fill.ts_ns)

    def _cancel_brackets(self, symbol: str, now: int) -> None:
        """A position closed by a plain order leaves its SL/TP orphaned: cancel (or disarm) them."""
        for b in self.emulator.armed:
            if b.symbol == symbol and self.emulator.disarm(b.parent_id):
                self.counts["bracket_cancels"] += 1
        for o in self.tracker.open_orders(symbol):
            if o.parent_id is not None:
                self.counts["bracket_cancels"] += 1
                self._handle(self.venue.cancel(CancelOrder(o.client_order_id, symbol, now), now))

    # -- positions and PnL ----------------------------------------------------------------------------------
    def _now(self, symbol: str) -> int:
        q = self.quotes.get(symbol)
        return q[0] if q is not None else self.clock.now_ns()

    def _gross(self) -> float:
        g = 0.0
        for cur in self._currencies():
            v = self.portfolio.gross_notional(cur)
            g += 0.0 if math.isnan(v) else v
        return g

    def _currencies(self) -> list[str]:
        return sorted({pos.currency for pos in self.portfolio.positions.values()})

    def pnl(self) -> dict[str, dict[str, float]]:
        out = {}
        for cur in self._currencies():
            out[cur] = {
                "realised": self.portfolio.realised_pnl(cur),
                "unrealised": self.portfolio.unrealised_pnl(cur),
                "fees": self.portfolio.fees(cur),
            }
            out[cur]["net"] = out[cur]["realised"] - out[cur]["fees"] + out[cur]["unrealised"]
        return {cur: {k: _num(v) for k, v in vals.items()} for cur, vals in out.items()}  # type: ignore[misc]

    def positions(self) -> dict[str, dict[str, float | None]]:
        return {s: {"qty": pos.qty, "avg_price": _num(pos.avg_price), "realised": pos.realised_pnl, "fees": pos.fees}
                for s, pos in self.portfolio.positions.items()}  # fmt: skip

    def publish_positions(self) -> None:
        pnl = self.pnl()
        for s, pos in self.portfolio.positions.items():
            self._m_pos.labels(agent=self.name, symbol=s).set(pos.qty)
        for cur, vals in pnl.items():
            for kind, v in vals.items():
                self._m_pnl.labels(agent=self.name, currency=cur, kind=kind).set(math.nan if v is None else v)
        self._m_kill.labels(agent=self.name).set(1.0 if self.risk.halted else 0.0)
        self._m_open.labels(agent=self.name).set(len(self.tracker.open_orders()))
        for state, n in self._orders_by_state().items():
            self._m_states.labels(agent=self.name, state=state).set(n)
        report = p.PositionReport(
            trader=self.name, ts_ns=time.time_ns(), positions=self.positions(),
            realised_pnl=sum(v["realised"] or 0.0 for v in pnl.values()),
            unrealised_pnl=sum(v["unrealised"] or 0.0 for v in pnl.values()),
            fees=sum(v["fees"] or 0.0 for v in pnl.values()),
        )  # fmt: skip
        self.send(p.TRADER_EVENTS, p.encode(report), topic=p.pos_topic(self.name), type_=p.TYPE_POSITIONS)

    # -- remote control -------------------------------------------------------------------------------------
    @remote
    def kill_switch(self, engage: bool = True, reason: str = "manual") -> bool:
        """Halt (True) or allow (False) new orders; cancels always pass. Returns the new state."""
        if engage:
            self.risk.engage_kill_switch(reason)
        else:
            self.risk.disengage_kill_switch()
        self.log.warning("kill switch", engaged=self.risk.halted, reason=reason)
        self._m_kill.labels(agent=self.name).set(1.0 if self.risk.halted else 0.0)
        return self.risk.halted

    @remote
    def fills_list(self) -> list[dict[str, Any]]:
        """Every fill so far (for reconciliation and tests)."""
        return [msgspec.to_builtins(f) for f in self.fills]

    def _orders_by_state(self) -> dict[str, int]:
        """Orders per state, every state present (0 included) so each series exists from the start."""
        by_status = {s.name.lower(): 0 for s in OrderStatus}
        for o in self.tracker._orders.values():  # noqa: SLF001 - read-only summary
            by_status[o.status.name.lower()] += 1
        return by_status

    def extra_status(self) -> dict[str, Any]:
        by_status: dict[str, int] = {}
        for o in self.tracker._orders.values():  # noqa: SLF001 - read-only summary
            by_status[o.status.name] = by_status.get(o.status.name, 0) + 1
        return {
            "orders": {
                "total": len(self.tracker),
                "by_status": by_status,
                "open": len(self.tracker.open_orders()),
            },
            "fills": len(self.fills),
            "positions": self.positions(),
            "pnl": self.pnl(),
            "kill_switch": self.risk.halted,
            "risk_rejections": dict(self.risk.rejections),
            "emulated_brackets": len(self.emulator.armed),
            "recent_events": [msgspec.to_builtins(ev) for ev in list(self.recent)[-10:]],
            **self.counts,
        }


def _num(v: float) -> float | None:
    """JSON has no NaN: an unknown value (no mark yet, flat position's average) is null."""
    return None if math.isnan(v) else v


_TAGS: dict[type, str] = {}


def _tag(ev: Any) -> str:
    """The event's wire tag (``OrderFilled`` -> ``order_filled``), used as the message type (cached per type)."""
    cls = type(ev)
    tag = _TAGS.get(cls)
    if tag is None:
        tag = _TAGS[cls] = "".join("_" + c.lower() if c.isupper() else c for c in cls.__name__).lstrip("_")
    return tag
