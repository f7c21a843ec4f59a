"""The brain: runs one strategy on router data, publishes its signals, sends order intents to the trader (with
acknowledgement and idempotent re-sends) and follows its own fills. A thin agent: strategies are plain classes."""

from __future__ import annotations

import os
import time
from typing import Any

import msgspec
from agentcore import Agent, CommunicationError, ConfigError, Message, remote
from agentcore.remoting import import_object
from marketcore.errors import MarketcoreError
from marketcore.orders import ClientOrderIdGenerator, OrderFilled, OrderSide, OrderType, SubmitOrder
from marketcore.orders import decode as decode_order
from marketcore.orders import encode as encode_order
from tradehive import protocol as p
from tradehive.instrument import Children, instrument
from tradehive.latency import Hop, hop_histogram, since_s

from tradehive_brain.strategies import BUILTIN
from tradehive_brain.strategy import Strategy


class BrainConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    strategy: str = "ema_cross"  # a built-in name (ema_cross, regime, tick_echo) or module:Class
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


class BrainAgent(Agent):
    role = "brain"
    Config = BrainConfig
    config_prefix = "TRADEHIVE_BRAIN_"

    def on_init(self) -> None:
        cfg: BrainConfig = self.config
        self.symbols = [s.upper() for s in cfg.symbols]
        self.warming_up = True
        self.running = True
        self.positions: dict[str, float] = {}
        self.pending: dict[str, tuple[bytes, float, int]] = {}  # client id -> (encoded, last sent, tries)
        self.counts = {"orders_sent": 0, "acks": 0, "rejected": 0, "duplicates": 0, "resends": 0, "fills": 0,
                       "signals_out": 0, "signals_in": 0, "bars": 0, "dropped_while_stopped": 0}  # fmt: skip
        self._last_data_ns = 0
        self._origin_ns = (
            0  # origin stamp of the data being handled: travels with the orders/signals it causes
        )
        self._ids = ClientOrderIdGenerator(self.name, f"{os.getpid():x}{int(time.time()) % 100000:x}")
        self.strategy = self._make_strategy(cfg)
        m = self.metrics
        self._m_orders = instrument(
            m.counter("tradehive_brain_orders_total", "Order intents by outcome.", ["outcome"])
        )
        self._m_signals = instrument(
            m.counter("tradehive_brain_signals_total", "Signals published.", ["name"])
        )
        self._m_decide = instrument(
            m.histogram("tradehive_brain_decision_seconds", "Strategy handler time per bar batch.")
        )
        self._hop = hop_histogram(m).labels(agent=self.name, hop=Hop.ROUTER_TO_BRAIN)
        self._c_orders, self._decide = (
            Children(self._m_orders, self.name),
            self._m_decide.labels(agent=self.name),
        )
        self.bind("PUB", p.BRAIN_SIGNALS)
        self._warmed: set[str] = set()
        self._connect_all(cfg)
        self.warming_up = False
        self.strategy.on_start()
        self.every(0.5, self._resend_unacked)

    def _make_strategy(self, cfg: BrainConfig) -> Strategy:
        cls = BUILTIN.get(cfg.strategy)
        if cls is None:
            try:
                cls = import_object(cfg.strategy)
            except (ImportError, AttributeError, ValueError) as exc:
                raise ConfigError(
                    f"unknown strategy {cfg.strategy!r}: not built-in ({sorted(BUILTIN)}) nor importable"
                ) from exc
        try:
            return cls(self, dict(cfg.params))
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"strategy {cfg.strategy!r}: {exc}") from exc

    def _connect_all(self, cfg: BrainConfig) -> None:
        t = cfg.connect_timeout_s
        handlers: dict[str, Any] = {}
        for sym in self.symbols:
            handlers[p.bar_topic(cfg.timeframe, sym, cfg.price)] = self.on_bar_msg
            if self.strategy.wants_ticks:
                handlers[p.tick_topic(sym)] = self.on_tick_msg
        self.connect(f"{cfg.router}.{p.ROUTER_MARKET}", handler=handlers, alias="market", timeout=t)
        self.connect(f"{cfg.router}.{p.ROUTER_HISTORY}", alias="history", timeout=t)
        for other in cfg.signals_from:
            self.connect(
                f"{other}.{p.BRAIN_SIGNALS}",
                handler={"signal.": self.on_signal_msg},
                alias=f"signals.{other}",
                timeout=t,
            )
        if cfg.trader:
            self.connect(
                f"{cfg.trader}.{p.TRADER_ORDERS}", handler=self.on_ack_msg, alias="orders", timeout=t
            )
            self.connect(f"{cfg.trader}.{p.TRADER_EVENTS}", handler={p.exec_topic(cfg.trader): self.on_exec_msg},
                         alias="events", timeout=t)  # fmt: skip

    def _warm_up(self, symbol: str, before_ns: int) -> None:
        """On a symbol's first live bar, feed the strategy the router's earlier bars (indicators start warm)."""
        self._warmed.add(symbol)
        cfg: BrainConfig = self.config
        req = p.BarHistoryRequest(symbol=symbol, timeframe=cfg.timeframe, price=cfg.price, end_ns=before_ns,
                                  last_n=cfg.warmup_bars)  # fmt: skip
        try:
            reply = self.request("history", p.encode(req), timeout=5.0)
        except CommunicationError as exc:
            self.log.warning("warm-up history unavailable", symbol=symbol, error=str(exc))
            return
        if isinstance(reply, bytes):  # an ErrorReply
            self.log.info("no history to warm up from", symbol=symbol, reply=repr(p.decode(reply)))
            return
        self.warming_up = True
        try:
            if reply.size:
                self.strategy.on_bar(symbol, reply)
        finally:
            self.warming_up = False
        self.log.info("warmed up", symbol=symbol, bars=int(reply.size))

    # -- market data ----------------------------------------------------------------------------------------
    def on_bar_msg(self, msg: Message) -> None:
        self._hop.observe(since_s(msg.sent_ns, time.time_ns()))
        self._origin_ns = msg.origin_ns
        if not self.running:
            return
        symbol = msg.topic.split(".")[2]
        bars = msg.data
        if not bars.size:
            return
        if symbol not in self._warmed:
            self._warm_up(symbol, int(bars["ts"][0]))
        self._last_data_ns = int(bars["ts"][-1])
        t0 = time.perf_counter()
        if msg.type == p.TYPE_BAR_PARTIAL:
            self.strategy.on_partial_bar(symbol, bars)
        else:
            self.counts["bars"] += int(bars.size)
            self.strategy.on_bar(symbol, bars)
        self._decide.observe(time.perf_counter() - t0)

    def on_tick_msg(self, msg: Message) -> None:
        self._hop.observe(since_s(msg.sent_ns, time.time_ns()))
        self._origin_ns = msg.origin_ns
        if self.running and msg.data.size:
            self._last_data_ns = int(msg.data["ts"][-1])
            self.strategy.on_tick(msg.topic[len("tick.") :], msg.data)

    def on_signal_msg(self, msg: Message) -> None:
        try:
            sig = p.decode(msg.data)
        except p.ProtocolError as exc:
            self._handler_error("signal", exc)
            return
        if isinstance(sig, p.Signal):
            self._origin_ns = msg.origin_ns
            self.counts["signals_in"] += 1
            self.strategy.on_signal(sig)

    # -- orders ---------------------------------------------------------------------------------------------
    def submit(self, symbol: str, side: OrderSide, qty: float, *, type: OrderType = OrderType.MARKET,  # noqa: A002
               limit_price: float | None = None, stop_price: float | None = None,
               stop_loss: float | None = None, take_profit: float | None = None) -> str | None:  # fmt: skip
        """Send an order intent to the trader; returns its client order id (None while warming up/stopped)."""
        if self.warming_up or not self.config.trader:
            return None
        if not self.running:
            self.counts["dropped_while_stopped"] += 1
            return None
        cid = self._ids.next()
        cmd = SubmitOrder(
            client_order_id=cid, symbol=symbol, side=side, qty=qty, type=type, limit_price=limit_price,
            stop_price=stop_price, stop_loss=stop_loss, take_profit=take_profit, strategy_id=self.name,
            ts_ns=time.time_ns(),
        )  # fmt: skip
        data = encode_order(cmd)
        self.pending[cid] = (data, time.monotonic(), 1)
        self.send("orders", data, type_=p.TYPE_ORDER, origin_ns=self._origin_ns)  # re-sends carry no origin
        self.counts["orders_sent"] += 1
        self._c_orders("sent").inc()
        return cid

    def _resend_unacked(self) -> None:
        """Re-send intents without an ack (same client id: the trader drops duplicates, so nothing doubles),
        waiting twice as long after each try so re-sends never pile onto a trader that is only behind."""
        now = time.monotonic()
        for cid, (data, sent, tries) in list(self.pending.items()):
            if now - sent < self.config.ack_timeout_s * 2 ** (
                tries - 1
            ):  # back off: a busy trader needs time
                continue
            if tries > self.config.max_resends:
                del self.pending[cid]
                self._m_orders.labels(agent=self.name, outcome="unacknowledged").inc()
                self.log.error("order never acknowledged", client_order_id=cid, tries=tries)
                continue
            self.pending[cid] = (data, now, tries + 1)
            self.send("orders", data, type_=p.TYPE_ORDER)
            self.counts["resends"] += 1

    def on_ack_msg(self, msg: Message) -> None:
        ack = p.decode(msg.data)
        if not isinstance(ack, p.OrderAck):
            return
        self.pending.pop(ack.client_order_id, None)
        self.counts["acks"] += 1
        outcome = "duplicate" if ack.duplicate else ("accepted" if ack.accepted else "rejected")
        if ack.duplicate:
            self.counts["duplicates"] += 1
        elif not ack.accepted:
            self.counts["rejected"] += 1
            self.log.warning(
                "order rejected", client_order_id=ack.client_order_id, reason=ack.reason, rule=ack.rule
            )
        self._c_orders(outcome).inc()
        self.strategy.on_ack(ack)

    def on_exec_msg(self, msg: Message) -> None:
        if msg.type != "order_filled":
            return
        try:
            fill = decode_order(msg.data)
        except MarketcoreError as exc:
            self._handler_error("exec", exc)
            return
        if not isinstance(fill, OrderFilled) or not fill.client_order_id.startswith(self.name + "-"):
            return
        self.counts["fills"] += 1
        self.positions[fill.symbol] = self.positions.get(fill.symbol, 0.0) + fill.side.sign * fill.qty
        if abs(self.positions[fill.symbol]) < 1e-12:
            self.positions[fill.symbol] = 0.0
        self.strategy.on_fill(fill)

    # -- context for the strategy ----------------------------------------------------------------------------
    def publish_signal(
        self, name: str, symbol: str, value: float, data: dict[str, Any] | None = None
    ) -> None:
        sig = p.Signal(brain=self.name, name=name, symbol=symbol, value=float(value), ts_ns=self._last_data_ns,
                       data=data or {})  # fmt: skip
        self.send(p.BRAIN_SIGNALS, p.encode(sig), topic=p.signal_topic(self.name, name), type_=p.TYPE_SIGNAL,
                  origin_ns=self._origin_ns)  # fmt: skip
        self.counts["signals_out"] += 1
        self._m_signals.labels(agent=self.name, name=name).inc()

    def position(self, symbol: str) -> float:
        return self.positions.get(symbol, 0.0)

    def now_ns(self) -> int:
        return self._last_data_ns

    # -- remote control --------------------------------------------------------------------------------------
    @remote
    def set_param(self, name: str, value: Any) -> Any:
        """Change a strategy parameter live; returns the previous value."""
        old = self.strategy.set_param(name, value)
        self.log.info("parameter changed", param=name, old=old, new=value)
        return old

    @remote
    def params(self) -> dict[str, Any]:
        return dict(self.strategy.params)

    @remote
    def pause(self) -> None:
        """Stop acting on data (no new orders); positions stay."""
        self.running = False

    @remote
    def resume(self) -> None:
        self.running = True

    def on_stop(self) -> None:
        self.strategy.on_stop()

    def extra_status(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy.name, "symbols": self.symbols, "running": self.running,
            "params": dict(self.strategy.params), "state": self.strategy.state(), "positions": dict(self.positions),
            "pending_acks": len(self.pending), **self.counts,
        }  # fmt: skip
