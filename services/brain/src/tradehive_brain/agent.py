"""The brain: runs one strategy on router data through ``tradehive.runner.StrategyRunner`` (the strategy's
context: orders with acks and idempotent re-sends, positions from its own fills, warm-up, history). Wiring
only: this agent carries the runner's orders, signals and history requests over its sockets."""

from __future__ import annotations

import os
import time
from typing import Any, cast

import msgspec
import numpy as np
from agentcore import Agent, CommunicationError, ConfigError, Message, RemoteError, batch_handler, remote
from agentcore.sockets import Handler
from marketcore.bars.timeframe import Timeframe
from marketcore.errors import MarketcoreError
from marketcore.indicators import warm_up_kernels
from marketcore.orders import OrderFilled
from marketcore.orders import decode as decode_order
from marketcore.schema import BAR_DTYPE
from tradehive import protocol as p
from tradehive import series
from tradehive.eventtime import BrainGate
from tradehive.latency import Hop, hop_histogram, since_s
from tradehive.loader import StrategyLoadError, make_strategy
from tradehive.metrics import RoleMetrics
from tradehive.records import BrainStatus, read_status, to_status
from tradehive.runner import StrategyRunner

from tradehive_brain.strategies import BUILTIN

ORDER_FILLED = p.tag_of(OrderFilled)


class BrainConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    strategy: str = "ema_cross"  # built-in (ema_cross, regime, tick_echo), module:Class or file.py:Class
    symbols: list[str] = msgspec.field(default_factory=lambda: ["EURUSD"])
    timeframe: str = "1m"
    price: str = "mid"
    params: dict[str, Any] = {}
    signals_from: list[str] = []  # brains whose signals feed on_signal
    router: str = "router"
    trader: str = "trader"  # empty: this brain never trades (e.g. a pure signal brain)
    warmup_bars: int = 500
    ack_timeout_s: float = 2.0
    max_resends: int = 5
    connect_timeout_s: float = 30.0
    sync: bool = False  # event time: bars, signals and fills handled in data-time order (tradehive.eventtime)
    flow_to: str = ""  # a replaying feeder's name: report progress to it (flow control)
    session: str = ""  # client order id session; a replay sets a fixed one (the same ids on every run)


class BrainAgent(Agent):
    role = "brain"
    Config = BrainConfig
    config_prefix = "TRADEHIVE_BRAIN_"

    def on_init(self) -> None:
        cfg: BrainConfig = self.config
        # the indicator kernels compiled (or loaded from numba's cache: ~2 s the first time in a process) now,
        # not on the first bar, where they would hold up the first decision
        warm_up_kernels()
        self.symbols = [s.upper() for s in cfg.symbols]
        session = cfg.session or f"{os.getpid():x}{int(time.time()) % 100000:x}"
        tf_ns = Timeframe.parse(cfg.timeframe).ns
        self.runner = StrategyRunner(self.name, session, self, trades=bool(cfg.trader), timeframe_ns=tf_ns,
                                     ack_timeout_s=cfg.ack_timeout_s, max_resends=cfg.max_resends)  # fmt: skip
        try:
            self.strategy = make_strategy(cfg.strategy, BUILTIN, self.runner, cfg.params)
        except StrategyLoadError as exc:
            raise ConfigError(str(exc)) from exc
        self.runner.attach(self.strategy)
        m = RoleMetrics(self)
        self._c_orders = m.counter("tradehive_brain_orders_total", "Order intents by outcome.", ["outcome"])
        self._c_signals = m.counter("tradehive_brain_signals_total", "Signals published.", ["name"])
        self._decide = m.histogram(
            "tradehive_brain_decision_seconds", "Strategy handler time per bar batch."
        )()
        self._hop = hop_histogram(m)(Hop.ROUTER_TO_BRAIN)
        self.bind("PUB", p.BRAIN_SIGNALS)
        self.outputs: series.IndicatorOutputs | None = None
        if self.strategy.outputs:  # indicator values per closed bar: published live and served as history
            self.outputs = series.IndicatorOutputs.attach(
                self.strategy, self.name, cfg.timeframe, self._send_outputs
            )
            self.bind("REP", series.BRAIN_INDICATORS, handler=self.on_indicator_history)
        t = cfg.connect_timeout_s
        gate = self.gate = None
        self._outputs_due: set[str] = set()
        if cfg.sync:
            # registered before the gate: the rows go out before the watermarks that cover them
            self.at_pass_end(self._publish_outputs)
            gate = self.gate = BrainGate(self, sources=cfg.signals_from, trader=cfg.trader, timeframe_ns=tf_ns,
                                         on_bars=self._closed_bars, on_ticks=self.runner.ticks,
                                         on_signal=lambda g: self.runner.signal(g, 0), on_fill=self.runner.fill,
                                         signals_alias=p.BRAIN_SIGNALS)  # fmt: skip
            self.runner.on_order = gate.ordered
        bar_topics = [p.bar_topic(cfg.timeframe, s, cfg.price) for s in self.symbols]
        tick_topics = [p.tick_topic(s) for s in self.symbols] if self.strategy.wants_ticks else []
        # every market message waiting, as one batch: stale forming bars skipped, the hop observed once
        on_market = batch_handler(self.on_market)
        market: dict[str, Any] = {t: on_market for t in [*bar_topics, *tick_topics]}
        if gate is not None:
            market = gate.market(bar_topics, tick_topics)
        self.connect(f"{cfg.router}.{p.ROUTER_MARKET}", handler=market, alias="market", timeout=t)
        self.connect(f"{cfg.router}.{p.ROUTER_HISTORY}", alias="history", timeout=t)
        for other in cfg.signals_from:
            signals = gate.signals() if gate else {p.SIGNAL_PREFIX: self.on_signal_msg}
            self.connect(f"{other}.{p.BRAIN_SIGNALS}", handler=signals, alias=f"signals.{other}", timeout=t)
        if cfg.trader:
            acks = cast("Handler", batch_handler(self.on_acks))
            self.connect(f"{cfg.trader}.{p.TRADER_ORDERS}", handler=acks, alias="orders", timeout=t)
            events: dict[str, Any] = (
                gate.events(p.exec_topic(cfg.trader))
                if gate
                else {p.exec_topic(cfg.trader): batch_handler(self.on_exec_msgs)}
            )
            self.connect(f"{cfg.trader}.{p.TRADER_EVENTS}", handler=events, alias="events", timeout=t)
        if gate is not None:
            gate.start(cfg.flow_to)
        self.runner.warming_up = False
        self.strategy.on_start()
        self.every(0.5, self._resend_unacked)

    # -- sockets -> runner ----------------------------------------------------------------------------------
    def on_market(self, msgs: list[Message]) -> None:
        """The bars and ticks waiting on the market socket, in order (natural batching). Every closed bar and
        every tick message is still handed over (one decision each); a forming bar is skipped when a newer one
        of the same topic is in the batch (the strategy sees the newest forming state once per batch)."""
        self._hop.observe(since_s(msgs[0].sent_ns, time.time_ns()))  # the oldest of the batch
        newest: dict[str, int] | None = None
        if len(msgs) > 1:
            newest = {m.topic: i for i, m in enumerate(msgs) if m.type == p.TYPE_BAR_PARTIAL}
        for i, msg in enumerate(msgs):
            if msg.topic.startswith(p.TICK_PREFIX):
                self.runner.ticks(p.parse_tick_topic(msg.topic), msg.data, msg.origin_ns)
            elif newest is None or msg.type != p.TYPE_BAR_PARTIAL or newest[msg.topic] == i:
                self._bar(msg)

    def _bar(self, msg: Message) -> None:
        t0 = time.perf_counter()
        symbol = p.parse_bar_topic(msg.topic).symbol
        self.runner.bars(
            symbol, msg.data, msg.origin_ns, msg.type == p.TYPE_BAR_PARTIAL, self.config.warmup_bars
        )
        if self.outputs is not None and msg.type != p.TYPE_BAR_PARTIAL:
            self.outputs.publish(symbol)
        self._decide.observe(time.perf_counter() - t0)

    def _closed_bars(self, symbol: str, bars: Any, origin_ns: int) -> None:
        """Event time: one closed bar, released by the gate in data-time order; its outputs go out with the
        other bars' of the loop pass, in one message per symbol."""
        self.runner.bars(symbol, bars, origin_ns, False, self.config.warmup_bars)
        if self.outputs is not None:
            self._outputs_due.add(symbol)

    def _publish_outputs(self) -> None:
        if self._outputs_due:
            assert self.outputs is not None
            for symbol in self._outputs_due:
                self.outputs.publish(symbol)
            self._outputs_due.clear()

    def on_tick_msg(self, msg: Message) -> None:
        self._hop.observe(since_s(msg.sent_ns, time.time_ns()))
        self.runner.ticks(p.parse_tick_topic(msg.topic), msg.data, msg.origin_ns)

    def on_signal_msg(self, msg: Message) -> None:
        try:
            sig = p.decode(msg.data)
        except p.ProtocolError as exc:
            self.report_error("signal", exc)
            return
        if isinstance(sig, p.Signal):
            self.runner.signal(sig, msg.origin_ns)

    def on_acks(self, msgs: list[Message]) -> None:
        """The acks waiting (natural batching: one handler call, not one per ack); a bad one is reported and
        skipped, never the acks after it."""
        for msg in msgs:
            try:
                ack = p.decode(msg.data)
            except p.ProtocolError as exc:  # counted and logged; the rest of the batch still handled
                self.report_error("ack", exc)
                continue
            if isinstance(ack, p.OrderAck):
                outcome = self.runner.ack(ack)
                self._c_orders(outcome).inc()
                if outcome == "rejected":
                    self.log.warning("order rejected", client_order_id=ack.client_order_id, reason=ack.reason,
                                     rule=ack.rule)  # fmt: skip

    def on_exec_msgs(self, msgs: list[Message]) -> None:
        """The trader's events waiting: only fills concern the strategy (the order log and the rest pass)."""
        for msg in msgs:
            if msg.type != ORDER_FILLED:
                continue
            try:
                fill = decode_order(msg.data)
            except MarketcoreError as exc:
                self.report_error("exec", exc)
                continue
            if isinstance(fill, OrderFilled):
                self.runner.fill(fill)

    def _resend_unacked(self) -> None:
        for cid, tries in self.runner.resend_due(time.monotonic()):
            self._c_orders("unacknowledged").inc()
            self.log.error("order never acknowledged", client_order_id=cid, tries=tries)

    # -- runner -> sockets (tradehive.runner.Transport) -----------------------------------------------------
    def send_order(self, data: bytes, origin_ns: int, resend: bool = False) -> None:
        self.send("orders", data, type_=p.TYPE_ORDER, origin_ns=origin_ns)
        if not resend:
            self._c_orders("sent").inc()

    def send_signal(self, signal: p.Signal, origin_ns: int) -> None:
        self.send(p.BRAIN_SIGNALS, p.encode(signal), topic=p.signal_topic(self.name, signal.name),
                  type_=p.TYPE_SIGNAL, origin_ns=origin_ns)  # fmt: skip
        self._c_signals(signal.name).inc()

    def fetch_bars(self, symbol: str, last_n: int, end_ns: int) -> np.ndarray:
        cfg: BrainConfig = self.config
        req = p.BarHistoryRequest(symbol=symbol, timeframe=cfg.timeframe, price=cfg.price, end_ns=end_ns,
                                  last_n=last_n)  # fmt: skip
        try:
            bars: np.ndarray = self.request("history", p.encode(req), timeout=5.0)
        except CommunicationError as exc:  # RemoteError: refused, the router holds nothing for it yet
            (self.log.info if isinstance(exc, RemoteError) else self.log.warning)(
                "no bar history", symbol=symbol, error=str(exc)
            )
            return np.empty(0, BAR_DTYPE)
        return bars

    # -- indicator outputs (tradehive.series) ----------------------------------------------------------------
    def _send_outputs(self, topic: str, data: bytes) -> None:
        self.send(p.BRAIN_SIGNALS, data, topic=topic, type_=series.TYPE_INDICATORS)

    def on_indicator_history(self, msg: Message) -> bytes:
        assert self.outputs is not None
        try:
            return self.outputs.answer(msg.data)
        except series.SeriesError as exc:  # a bad request: answered, counted and logged
            self.report_error("indicator history", exc)
            return series.encode(series.IndicatorError(reason=str(exc)))

    # -- remote control --------------------------------------------------------------------------------------
    @remote(idempotent=True)
    def set_param(self, name: str, value: Any) -> Any:
        """Change a strategy parameter live; returns the previous value."""
        old = self.strategy.set_param(name, value)
        self.log.info("parameter changed", param=name, old=old, new=value)
        if self.outputs is not None and name in self.strategy.output_params:  # redraw the whole line at once
            self.outputs.recompute(
                lambda sym: self.runner.warm_up(sym, self.runner.last_data_ns + 1, self.config.warmup_bars)
            )
        return old

    @remote(idempotent=True)
    def params(self) -> dict[str, Any]:
        return dict(self.strategy.params)

    @remote(idempotent=True)
    def pause(self) -> None:
        """Stop acting on data (no new orders); positions stay."""
        self.runner.running = False

    @remote(idempotent=True)
    def resume(self) -> None:
        self.runner.running = True

    def on_stop(self) -> None:
        self.strategy.on_stop()

    def extra_status(self) -> dict[str, Any]:
        r = self.runner
        st = {"strategy": self.strategy.name, "symbols": self.symbols, "running": r.running,
              "params": dict(self.strategy.params), "state": self.strategy.state(), "positions": r.positions(),
              "pending_acks": len(r.pending), **r.counts}  # fmt: skip
        return {**st, **to_status(read_status(st, BrainStatus))}  # the typed record, checked here
