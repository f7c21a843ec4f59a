"""The router: discovers feeders by role, keeps per-symbol history, builds bars, publishes ticks and bars,
serves history, and backfills sequence gaps from the feeder's history. A thin agent on marketcore."""

from __future__ import annotations

import time
from typing import Any

import msgspec
from agentcore import Agent, CommunicationError, Message, Refused
from marketcore.bars import warmup as warmup_kernels
from marketcore.errors import MarketcoreError
from marketcore.schema import TICK_DTYPE
from tradehive import protocol as p
from tradehive.latency import Hop, hop_histogram, since_s
from tradehive.metrics import RoleMetrics
from tradehive.records import RouterStatus, to_status

from tradehive_router.book import SymbolBook
from tradehive_router.validate import clean_ticks

REJECT_REASONS = ("bad_price", "out_of_order", "bad_payload", "bad_history_request")


class RouterConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    timeframes: list[str] = msgspec.field(default_factory=lambda: ["1s", "1m", "5m", "1h", "1d"])
    prices: list[str] = []  # empty: bid, ask and mid for quote feeds, last for trade feeds
    empty: str = "skip"  # skip (FXCM) | fill (Binance)
    session: str = "+00:00"  # UTC offset whose midnight starts a daily bar ("-05:00": FXCM days)
    tick_window: int = 2_000_000  # ticks kept per symbol
    bar_window: int = 200_000  # bars kept per (symbol, timeframe, price)
    publish_partial: bool = True
    partial_interval_s: float = 0.1  # forming bars go out at most this often per symbol (0: with every batch)
    feeders: list[str] = []  # feeder names; empty: every agent registered with role:feeder
    discover_interval: float = 2.0
    clock_close: bool = False  # close bars by the wall clock when no tick comes (live feeds, the simulator)
    clock_grace_s: float = 2.0
    backfill_timeout_s: float = 5.0
    initial_history_s: float = (
        0.0  # on a symbol's first ticks, load this much earlier history from the feeder
    )
    join_lookback_s: float = (
        7 * 86400.0
    )  # joined a stream already running (first seq > 1): recover up to this


class RouterAgent(Agent):
    role = "router"
    Config = RouterConfig
    config_prefix = "TRADEHIVE_ROUTER_"

    def on_init(self) -> None:
        cfg: RouterConfig = self.config
        self.books: dict[str, SymbolBook] = {}
        self.feeders: dict[str, str] = {}  # feeder name -> local REQ alias for history
        self._seq: dict[tuple[str, str], int] = {}
        self._heard: dict[str, float] = {}  # feeder -> monotonic time of its last tick message
        m, buf = RoleMetrics(self), ["role", "symbol", "buffer"]
        self.m_in = m.counter("tradehive_router_ticks_in_total", "Ticks received from feeders.", ["symbol"])
        self.m_out = m.counter("tradehive_router_ticks_out_total", "Ticks published.", ["symbol"])
        self.m_bars = m.counter("tradehive_router_bars_closed_total", "Bars closed.", ["symbol", "timeframe"])
        self.m_rej = m.counter("tradehive_router_rejected_ticks_total", "Inputs refused, by reason.", ["reason"],
                               preset=REJECT_REASONS)  # fmt: skip
        self.m_gap = m.counter("tradehive_router_sequence_gaps_total", "Feeder messages missed.", ["feeder"])
        self.m_fill = m.counter("tradehive_router_backfilled_ticks_total", "Ticks recovered by backfill.",
                                ["symbol"])  # fmt: skip
        self.m_buf = m.gauge("tradehive_buffer_fill_ratio", "Rows used / window of a buffer.", buf)
        self.m_rows = m.gauge("tradehive_buffer_rows", "Rows held in a buffer.", buf)
        self.m_comp = m.counter(
            "tradehive_buffer_compactions_total", "Window copies back to the buffer start.", buf
        )
        self._hop = hop_histogram(m)(Hop.FEEDER_TO_ROUTER)
        self._dirty: dict[str, int] = {}  # symbols whose forming bars changed since the last partial flush
        warmup_kernels()  # compile/load the bar kernels now, not on the first tick (1-2 s otherwise)
        self.bind("PUB", p.ROUTER_MARKET)
        self.bind("REP", p.ROUTER_HISTORY, handler=self.on_history)
        if cfg.publish_partial and cfg.partial_interval_s > 0:
            self.every(cfg.partial_interval_s, self._flush_partials)
        self._discover()
        self.every(cfg.discover_interval, self._discover)
        self.every(1.0, self._export_buffers)
        if cfg.clock_close:
            self.every(0.5, self._close_by_clock)

    # -- feeders --------------------------------------------------------------------------------------------
    def _discover(self) -> None:
        wanted = self.config.feeders
        try:
            found = set(wanted) if wanted else set(self.discover("feeder"))
        except CommunicationError as exc:
            self.log.warning("feeder discovery failed", error=str(exc))
            return
        for name in sorted(found - set(self.feeders)):
            try:
                self.connect(
                    f"{name}.{p.FEEDER_TICKS}",
                    handler={p.TICK_PREFIX: self.on_ticks},
                    alias=f"{name}.ticks",
                    timeout=2.0,
                )
                self.connect(f"{name}.{p.FEEDER_HISTORY}", alias=f"{name}.history", timeout=2.0)
            except CommunicationError as exc:
                self.log.warning("feeder not reachable yet", feeder=name, error=str(exc))
                continue
            self.feeders[name] = f"{name}.history"
            self.m_gap(name)  # the series exists (at 0) before a gap
            self.log.info("feeder connected", feeder=name)
        now = time.monotonic()
        for name in self.feeders:  # catch up with streams we joined late or whose tail we missed while idle
            if now - self._heard.get(name, 0.0) > 1.0:
                self._sync_feeder(name)

    def _sync_feeder(self, feeder: str) -> None:
        """Compare the feeder's stream status with what we received; fetch the difference from its history."""
        try:
            reply = self.request(self.feeders[feeder], p.encode(p.StreamStatusRequest()), timeout=2.0)
            status = p.decode(reply)
        except (CommunicationError, p.ProtocolError) as exc:
            self.log.warning("stream status unavailable", feeder=feeder, error=str(exc))
            return
        if not isinstance(status, p.StreamStatus):
            return
        for symbol, (seq, last_ts) in status.streams.items():
            key = (feeder, p.tick_topic(symbol))
            if seq <= self._seq.get(key, 0):
                continue
            book = self.books.get(symbol)
            start = book.last_ts if book is not None and book.last_ts is not None else (
                last_ts - int(self.config.join_lookback_s * 1e9))  # fmt: skip
            req = p.TickHistoryRequest(symbol=symbol, start_ns=start, end_ns=last_ts + 1)
            try:
                ticks = self.request(
                    self.feeders[feeder], p.encode(req), timeout=self.config.backfill_timeout_s * 4
                )
            except CommunicationError as exc:
                self.log.error("catch-up failed", feeder=feeder, symbol=symbol, error=str(exc))
                continue
            self._seq[key] = seq
            if not ticks.size:
                continue
            book = self._book(symbol, ticks)
            fresh = book.skip_seen(ticks)
            self.m_fill(symbol).inc(fresh.size)
            self.log.warning(
                "caught up with feeder stream", feeder=feeder, symbol=symbol, ticks=int(fresh.size)
            )
            if fresh.size:
                self._ingest(symbol, book, fresh, publish=False)

    # -- ticks ----------------------------------------------------------------------------------------------
    def on_ticks(self, msg: Message) -> None:
        self._hop.observe(since_s(msg.sent_ns, time.time_ns()))
        symbol = p.parse_tick_topic(msg.topic)
        ticks = msg.data
        if msg.kind != "n" or ticks.dtype != TICK_DTYPE:
            self._reject("bad_payload", 1)
            return
        self._heard[msg.sender] = time.monotonic()
        key = (msg.sender, msg.topic)
        last = self._seq.get(key)
        if last is not None and msg.seq <= last and msg.seq != 1:
            return  # already recovered from history (a catch-up overtook the queued message)
        fresh = symbol not in self.books
        book = self._book(symbol, ticks)
        if fresh and ticks.size:
            # a late joiner (ZeroMQ drops what a SUB missed before it connected) recovers the start of the stream
            lookback = self.config.initial_history_s
            if msg.seq > 1:
                lookback = max(lookback, self.config.join_lookback_s)
            if lookback > 0:
                self._load_initial(msg.sender, symbol, book, int(ticks["ts"][0]), lookback)
        self._seq[key] = msg.seq
        if last is not None and msg.seq > last + 1 and ticks.size:
            self._backfill(msg.sender, symbol, book, msg.seq - last - 1, int(ticks["ts"][0]), msg.origin_ns)
        self._ingest(symbol, book, ticks, msg.origin_ns)

    def _ingest(
        self, symbol: str, book: SymbolBook, ticks: Any, origin_ns: int = 0, publish: bool = True
    ) -> None:
        """``origin_ns``: the feeder's origin stamp of these ticks, forwarded on them and on the bars they close.
        ``publish=False`` for history loaded at a join or restart: it fills the buffers (and so the history that
        brains warm up from) but is never re-sent as live data, which would make brains trade on stale bars."""
        self.m_in(symbol).inc(ticks.size)
        good, reasons = clean_ticks(ticks, book.last_ts, book.kind)
        for reason, n in reasons.items():
            self._reject(reason, n)
        if not good.size:
            return
        updates = book.add(good)
        if not publish:
            return
        self.send(p.ROUTER_MARKET, good, topic=p.tick_topic(symbol), type_=p.TYPE_TICKS, origin_ns=origin_ns)
        self.m_out(symbol).inc(good.size)
        self._publish_bars(symbol, book, updates, origin_ns)

    def _publish_bars(self, symbol: str, book: SymbolBook, updates: Any, origin_ns: int = 0) -> None:
        if updates.n_closed:
            for (spec, src), closed in zip(updates.keys, updates.closed, strict=True):
                if closed.size:
                    tf = str(spec)
                    self.send(p.ROUTER_MARKET, closed, topic=p.bar_topic(tf, symbol, src), type_=p.TYPE_BAR,
                              origin_ns=origin_ns)  # fmt: skip
                    if src == book.sources[0]:
                        self.m_bars(symbol, tf).inc(closed.size)
        if self.config.publish_partial:
            if self.config.partial_interval_s > 0:
                self._dirty[symbol] = (
                    origin_ns  # sent by the partial timer: 15 forming bars per tick cost too much
                )
            else:
                self._publish_partials(symbol, origin_ns)

    def _publish_partials(self, symbol: str, origin_ns: int = 0) -> None:
        book = self.books[symbol]
        for spec, src in book.builder.keys:
            row = book.builder.partial(spec, src)
            if row is not None:
                self.send(p.ROUTER_MARKET, row.reshape(1), topic=p.bar_topic(str(spec), symbol, src, partial=True),
                          type_=p.TYPE_BAR_PARTIAL, origin_ns=origin_ns)  # fmt: skip

    def _flush_partials(self) -> None:
        dirty, self._dirty = self._dirty, {}
        for symbol, origin_ns in dirty.items():
            self._publish_partials(symbol, origin_ns)

    def _backfill(
        self, feeder: str, symbol: str, book: SymbolBook, missed: int, first_new_ts: int, origin_ns: int = 0
    ) -> None:
        """Recover the ticks published while we missed ``missed`` messages, from the feeder's history."""
        self.m_gap(feeder).inc(missed)
        alias = self.feeders.get(feeder)
        if alias is None or book.last_ts is None:
            return
        req = p.TickHistoryRequest(symbol=symbol, start_ns=book.last_ts, end_ns=first_new_ts)
        try:
            reply = self.request(alias, p.encode(req), timeout=self.config.backfill_timeout_s)
        except CommunicationError as exc:
            self.log.error("backfill failed", feeder=feeder, symbol=symbol, error=str(exc))
            return
        fresh = book.skip_seen(reply)
        self.m_fill(symbol).inc(fresh.size)
        self.log.warning(
            "gap backfilled", feeder=feeder, symbol=symbol, missed_messages=missed, ticks=int(fresh.size)
        )
        if fresh.size:
            self._ingest(symbol, book, fresh, origin_ns)

    def _load_initial(
        self, feeder: str, symbol: str, book: SymbolBook, first_ts: int, lookback_s: float
    ) -> None:
        alias = self.feeders.get(feeder)
        if alias is None:
            return
        start = first_ts - int(lookback_s * 1e9)
        req = p.TickHistoryRequest(symbol=symbol, start_ns=start, end_ns=first_ts)
        try:
            reply = self.request(alias, p.encode(req), timeout=self.config.backfill_timeout_s * 4)
        except CommunicationError as exc:
            self.log.warning("initial history unavailable", feeder=feeder, symbol=symbol, error=str(exc))
            return
        if not reply.size:
            return
        self._ingest(symbol, book, reply, publish=False)
        self.log.info("initial history loaded", symbol=symbol, ticks=int(reply.size))

    def _close_by_clock(self) -> None:
        now = time.time_ns() - int(self.config.clock_grace_s * 1e9)
        for symbol, book in self.books.items():
            self._publish_bars(symbol, book, book.builder.close_until(now))

    def _book(self, symbol: str, sample: Any) -> SymbolBook:
        book = self.books.get(symbol)
        if book is None:
            cfg: RouterConfig = self.config
            book = self.books[symbol] = SymbolBook(
                symbol,
                sample,
                cfg.timeframes,
                cfg.prices,
                cfg.empty,
                cfg.session,
                cfg.tick_window,
                cfg.bar_window,
            )
            self.log.info("new symbol", symbol=symbol, kind=book.kind, sources=list(book.sources))
            self.m_fill(symbol)  # the series exists (at 0) before a backfill
        return book

    def _reject(self, reason: str, n: int) -> None:
        self.m_rej(reason).inc(n)

    # -- history --------------------------------------------------------------------------------------------
    def on_history(self, msg: Message) -> Any:
        try:
            req = p.decode(msg.data)
            if isinstance(req, p.BarHistoryRequest):
                book = self._known(req.symbol)
                return book.bars(req)
            if isinstance(req, p.TickHistoryRequest):
                return self._known(req.symbol).ticks(req.start_ns, req.end_ns, req.limit)
            raise p.ProtocolError(f"unexpected request {type(req).__name__}")
        except (p.ProtocolError, MarketcoreError, KeyError, TypeError, ValueError) as exc:
            self._reject("bad_history_request", 1)
            self.log.warning("history request refused", error=str(exc))
            raise Refused(str(exc)) from exc

    def _known(self, symbol: str) -> SymbolBook:
        book = self.books.get(symbol.upper())
        if book is None:
            raise KeyError(f"unknown symbol {symbol!r}; have {sorted(self.books)}")
        return book

    # -- status ---------------------------------------------------------------------------------------------
    def _export_buffers(self) -> None:
        for symbol, book in self.books.items():
            for name, buf in book.buffers().items():
                labels = (self.role, symbol, name)
                self.m_buf(*labels).set(buf.fill)
                self.m_rows(*labels).set(len(buf))
                self.m_comp(*labels).set(buf.compactions)  # a counter that follows the buffer's own count

    @property
    def gaps(self) -> int:
        return int(self.m_gap.total())

    @property
    def backfilled(self) -> int:
        return int(self.m_fill.total())

    def extra_status(self) -> dict[str, Any]:
        return to_status(RouterStatus(
            feeders=sorted(self.feeders),
            symbols={s: b.summary() for s, b in self.books.items()},
            buffer_fill={s: {n: round(buf.fill, 6) for n, buf in b.buffers().items()} for s, b in self.books.items()},
            sequence_gaps=self.gaps,
            backfilled_ticks=self.backfilled,
            rejected={k: int(v) for k, v in self.m_rej.as_dict().items()},
        ))  # fmt: skip
