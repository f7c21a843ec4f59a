"""The chart's agent: discovers routers, brains and traders by role, subscribes to the selected market data,
to the brains' signals and indicator series and to the traders' events, and loads history from the router.

It runs in its own thread (an agentcore loop) and never touches Qt objects: what it receives is coalesced and
handed to a :class:`Sink` (the Qt bridge emits signals from it) at most every ``flush_interval_s``.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import msgspec
import numpy as np
import zmq
from agentcore import Agent, CommunicationError, Message
from agentcore.sockets import TopicHandlers
from marketcore.bars import Timeframe
from marketcore.errors import MarketcoreError
from marketcore.orders import decode as decode_order
from tradehive import protocol as p
from tradehive import series
from tradehive.metrics import RoleMetrics
from tradehive.series import INDICATOR_PREFIX


class VizConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    symbol: str = ""  # empty: the first symbol the router holds
    timeframe: str = "1m"
    price: str = "mid"
    router: str = ""  # empty: the first router found
    history_bars: int = 20_000
    discover_interval_s: float = 1.0
    flush_interval_s: float = 0.05  # live data go to the window at most this often (coalesced)
    stale_after_s: float = 10.0  # no market data for this long: shown as stale
    status_interval_s: float = 1.0  # agents' status polled this often by the control thread
    history_timeout_s: float = 10.0


class View(msgspec.Struct, frozen=True):
    symbol: str
    timeframe: str
    price: str


class Sink(Protocol):
    """Where the agent's thread hands data to the window (implemented by the Qt bridge with signals)."""

    def history(self, view: View, bars: np.ndarray, forming: np.ndarray | None, error: str) -> None: ...

    def live(self, view: View, closed: np.ndarray | None, forming: np.ndarray | None,
             ticks: np.ndarray | None) -> None: ...  # fmt: skip

    def indicators(self, brain: str, batch: series.IndicatorBatch) -> None:
        """A brain's indicator rows for the viewed symbol (``batch.reset``: they replace what is held)."""

    def signal(self, sig: p.Signal) -> None: ...

    def trade_event(self, trader: str, event: Any) -> None: ...

    def positions(self, report: p.PositionReport) -> None: ...

    def peers(self, connected: dict[str, list[str]]) -> None: ...


class VizAgent(Agent):
    role = "viz"
    Config = VizConfig
    config_prefix = "TRADEHIVE_VIZ_"

    sink: Sink | None = None

    def on_init(self) -> None:
        cfg: VizConfig = self.config
        self.view = View(cfg.symbol.upper(), cfg.timeframe, cfg.price)
        self.router = ""
        self.brains: set[str] = set()
        self.traders: set[str] = set()
        self.last_data = 0.0  # monotonic time of the last market message
        self.counts = {"ticks": 0, "bars": 0, "partials": 0, "events": 0, "signals": 0, "indicator_rows": 0,
                       "bad_messages": 0, "history_loads": 0}  # fmt: skip
        self._closed: list[np.ndarray] = []
        self._forming: np.ndarray | None = None
        self._ticks: list[np.ndarray] = []
        self._retry: int | None = None
        self._m_bad = RoleMetrics(self).counter(
            "tradehive_viz_bad_messages_total", "Messages the chart could not read.", ["source"]
        )
        self._discover()
        self.every(cfg.discover_interval_s, self._discover)
        self.every(cfg.flush_interval_s, self._flush)

    # -- thread-safe entry points for the window ------------------------------------------------------------
    def select(self, symbol: str, timeframe: str, price: str) -> None:
        """Show another symbol / timeframe / price: re-subscribe and reload from history."""
        self.post(self._select, View(symbol.upper(), timeframe, price))

    def reload(self) -> None:
        """Reload history (after a router restart)."""
        self.post(self._load)

    def load_indicators(self, brain: str) -> None:
        self.post(self._load_indicators, brain)

    # -- discovery ------------------------------------------------------------------------------------------
    def _discover(self) -> None:
        try:
            routers = sorted(self.discover("router"))
            brains = set(self.discover("brain"))
            traders = set(self.discover("trader"))
        except CommunicationError as exc:
            self.log.debug("discovery failed", error=str(exc))
            return
        if not self.router:
            wanted = self.config.router
            pick = wanted if wanted in routers else (routers[0] if routers and not wanted else "")
            if pick:
                self._connect_router(pick)
        for brain in sorted(brains - self.brains):
            handlers = {"signal.": self.on_signal, f"{INDICATOR_PREFIX}{brain}.": self.on_indicator}
            if self._try_connect(f"{brain}.{p.BRAIN_SIGNALS}", handlers, f"sig.{brain}"):
                self.brains.add(brain)
                self._load_indicators(brain)
        for trader in sorted(traders - self.traders):
            handlers = {"exec.": self.on_exec, "pos.": self.on_positions}
            if self._try_connect(f"{trader}.{p.TRADER_EVENTS}", handlers, f"ev.{trader}"):
                self.traders.add(trader)
        if self.sink is not None:
            self.sink.peers({"router": [self.router] if self.router else [], "brain": sorted(self.brains),
                             "trader": sorted(self.traders)})  # fmt: skip

    def _try_connect(self, address: str, handlers: Any, alias: str) -> bool:
        try:
            self.connect(address, handler=handlers, alias=alias, timeout=0.5)
        except CommunicationError as exc:
            self.log.info("peer not reachable yet", address=address, error=str(exc))
            return False
        return True

    def _connect_router(self, router: str) -> None:
        try:
            self.connect(
                f"{router}.{p.ROUTER_MARKET}", handler=self._market_handlers(), alias="market", timeout=0.5
            )
            self.connect(f"{router}.{p.ROUTER_HISTORY}", alias="history", timeout=0.5)
        except CommunicationError as exc:
            self.log.info("router not reachable yet", router=router, error=str(exc))
            return
        self.router = router
        self.log.info("router connected", router=router)
        if self.view.symbol:
            self._load()

    def _market_handlers(self) -> dict[str, Any]:
        v = self.view
        if not v.symbol:
            return {"\x00none": self.on_market}  # nothing chosen yet: subscribe to nothing real
        return {
            p.tick_topic(v.symbol): self.on_market,
            p.bar_topic(v.timeframe, v.symbol, v.price): self.on_market,
        }

    def _select(self, view: View) -> None:
        self.view = view
        self._closed, self._forming, self._ticks = [], None, []
        if not self.router:
            return
        chan = self._channel("market")
        for prefix in chan.handlers.prefixes if chan.handlers is not None else []:
            chan.sock.setsockopt(zmq.UNSUBSCRIBE, prefix.encode())
        table = self._market_handlers()
        chan.handlers = TopicHandlers(table)
        for prefix in table:
            chan.sock.setsockopt(zmq.SUBSCRIBE, prefix.encode())
        self._load()

    # -- history --------------------------------------------------------------------------------------------
    def _history(self, req: p.BarHistoryRequest) -> np.ndarray:
        bars: np.ndarray = self.request("history", p.encode(req), timeout=self.config.history_timeout_s)
        return bars  # a refusal raises RemoteError (a CommunicationError)

    def _load(self) -> None:
        v = self.view
        if not self.router or not v.symbol or self.sink is None:
            return
        self.counts["history_loads"] += 1
        self._closed, self._forming, self._ticks = [], None, []
        try:
            bars = self._history(p.BarHistoryRequest(symbol=v.symbol, timeframe=v.timeframe, price=v.price,
                                                     last_n=self.config.history_bars))  # fmt: skip
            last = self._history(p.BarHistoryRequest(symbol=v.symbol, timeframe=v.timeframe, price=v.price,
                                                     last_n=1, include_partial=True))  # fmt: skip
        except (CommunicationError, ValueError, p.ProtocolError) as exc:
            self.sink.history(v, np.zeros(0, dtype=_bar_dtype()), None, f"{type(exc).__name__}: {exc}")
            if self._retry is None:  # a router still starting or catching up: try again, by itself
                self._retry = self.after(2.0, self._retry_load)
            return
        forming = last if last.size and (not bars.size or last["ts"][-1] > bars["ts"][-1]) else None
        self.sink.history(v, bars, forming, "")
        self.last_data = time.monotonic()
        for brain in sorted(self.brains):
            self._load_indicators(brain)

    def _retry_load(self) -> None:
        self._retry = None
        self._load()

    def _load_indicators(self, brain: str) -> None:
        """Ask a brain for its indicator series on the viewed symbol (brains without them answer an error)."""
        v = self.view
        if not v.symbol or self.sink is None:
            return
        alias = f"ind.{brain}"
        if alias not in self._channels:
            try:
                self.connect(f"{brain}.{series.BRAIN_INDICATORS}", alias=alias, timeout=0.3)
            except CommunicationError:
                return  # a brain that serves no indicator history (an older build, a custom role)
        try:
            reply = self.request(
                alias, series.encode(series.IndicatorHistoryRequest(symbol=v.symbol)), timeout=3.0
            )
            batch = series.decode(reply)
        except (CommunicationError, ValueError) as exc:
            self.log.info("indicator history unavailable", brain=brain, error=str(exc))
            return
        if isinstance(batch, series.IndicatorBatch) and batch.symbol == v.symbol:
            self.sink.indicators(brain, batch)  # a history answer is a reset

    # -- live data ------------------------------------------------------------------------------------------
    def on_market(self, msg: Message) -> None:
        v, data = self.view, msg.data
        if not isinstance(data, np.ndarray):
            self._bad("market")
            return
        self.last_data = time.monotonic()
        if msg.type == p.TYPE_TICKS:
            if msg.topic == p.tick_topic(v.symbol) and data.size:
                self.counts["ticks"] += int(data.size)
                self._ticks.append(data)
        elif msg.topic.startswith(
            p.bar_topic(v.timeframe, v.symbol, v.price)
        ):  # the closed bars and .partial
            if msg.type == p.TYPE_BAR:
                self.counts["bars"] += int(data.size)
                self._closed.append(data)
                self._forming = None
                self._ticks.clear()  # the partial after this bar carries them
            elif msg.type == p.TYPE_BAR_PARTIAL and data.size:
                self.counts["partials"] += 1
                self._forming = data
                self._ticks.clear()

    def _flush(self) -> None:
        if self.sink is None or not (self._closed or self._forming is not None or self._ticks):
            return
        closed = np.concatenate(self._closed) if self._closed else None
        ticks = np.concatenate(self._ticks) if self._ticks else None
        self.sink.live(self.view, closed, self._forming, ticks)
        self._closed, self._forming, self._ticks = [], None, []

    def on_indicator(self, msg: Message) -> None:
        try:
            batch = series.decode(msg.data)
        except series.SeriesError:
            self._bad("indicators")
            return
        if not isinstance(batch, series.IndicatorBatch):
            return
        self.counts["indicator_rows"] += len(batch)
        if self.sink is not None and batch.symbol == self.view.symbol:
            self.sink.indicators(msg.sender, batch)

    def on_signal(self, msg: Message) -> None:
        try:
            sig = p.decode(msg.data)
        except p.ProtocolError:
            self._bad("signals")
            return
        if isinstance(sig, p.Signal) and self.sink is not None:
            self.counts["signals"] += 1
            self.sink.signal(sig)

    def on_exec(self, msg: Message) -> None:
        try:
            event = decode_order(msg.data)
        except MarketcoreError:
            self._bad("events")
            return
        self.counts["events"] += 1
        if self.sink is not None:
            self.sink.trade_event(msg.topic[len("exec.") :], event)

    def on_positions(self, msg: Message) -> None:
        try:
            report = p.decode(msg.data)
        except p.ProtocolError:
            self._bad("positions")
            return
        if isinstance(report, p.PositionReport) and self.sink is not None:
            self.sink.positions(report)

    def _bad(self, source: str) -> None:
        self.counts["bad_messages"] += 1
        self._m_bad(source).inc()
        self.log.warning("unreadable message", source=source)

    def extra_status(self) -> dict[str, Any]:
        return {"view": msgspec.to_builtins(self.view), "router": self.router, "brains": sorted(self.brains),
                "traders": sorted(self.traders), "data_age_s": round(time.monotonic() - self.last_data, 3)
                if self.last_data else None, **self.counts}  # fmt: skip


def _bar_dtype() -> Any:
    from marketcore.schema import BAR_DTYPE

    return BAR_DTYPE


def timeframe_seconds(tf: str) -> float:
    return Timeframe.parse(tf).ns / 1e9
