"""Event time for a brain: market data and other brains' signals handled in data-time order, whatever order the
network delivered them in.

A brain that consumes another brain's signals (a hierarchy: regime gates trend) receives bars from the router and
signals from the other brain on separate sockets; which arrives first depends on scheduling, so acting on arrival
gives results that change with replay speed. The inbox holds both per symbol and releases them by *decision time*
(a closed bar: its end; a tick: its time; a signal: the decision time of the data it came from), a signal before
a bar of the same time, and only once every upstream has declared with a watermark that nothing earlier can still
come. It then declares its own watermark: everything of that symbol up to it has been handled.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tradehive import protocol as p

Handler = Callable[[Any], object]
ROUTER = ""  # the upstream name of the market-data stream

_NEVER = -(2**63)


class _Symbol:
    __slots__ = ("marks", "queues", "out", "idle_at", "ordered")

    def __init__(self, upstreams: Iterable[str]) -> None:
        self.marks: dict[str, int] = dict.fromkeys(upstreams, _NEVER)
        self.queues: dict[str, deque[tuple[int, Handler, Any]]] = {u: deque() for u in self.marks}
        self.out = _NEVER
        self.idle_at = _NEVER  # the trader's last idle declaration (its watermark then)
        self.ordered = _NEVER  # the decision time of this brain's last order

    def trader_idle(self) -> bool:
        """No fill of this brain can come: the trader declared itself idle after running its last order."""
        return self.idle_at != _NEVER and self.idle_at >= self.ordered


class BrainInbox:
    """``sources``: the brains whose signals this brain consumes; ``trader``: the trader whose fills it follows
    (its position). ``on_watermark(symbol, ts)`` is called when every decision on ``symbol`` data up to ``ts``
    has been taken.

    A bar deciding at ``d`` waits for the signals up to ``d`` (a signal of the same time first) and for the fills
    *before* ``d`` (a fill at ``d`` itself comes from a quote the venue sees only after this decision). The
    trader's watermark does not bound ours: the trader waits for ours before it fills (no cycle).

    The wait for the trader is one round trip per bar. It is skipped while the trader has declared itself idle on
    the symbol (``idle``: nothing in flight, resting or armed, every decision up to its watermark run) at or after
    this brain's last order (``ordered``): no fill of this brain can come then, so none can be missed."""

    def __init__(
        self, sources: Iterable[str], on_watermark: Callable[[str, int], None], trader: str = ""
    ) -> None:
        self.upstreams = (ROUTER, *sorted(set(sources)), *((trader,) if trader else ()))
        self.trader = trader
        self._lag = {u: 1 if u == trader and trader else 0 for u in self.upstreams}
        self._bounds = tuple(u for u in self.upstreams if not (trader and u == trader))
        self._symbols: dict[str, _Symbol] = {}
        self._on_wm = on_watermark
        self.held = 0

    def _sym(self, symbol: str) -> _Symbol:
        s = self._symbols.get(symbol)
        if s is None:
            s = self._symbols[symbol] = _Symbol(self.upstreams)
        return s

    def put(self, upstream: str, symbol: str, decision_ns: int, handler: Handler, item: Any) -> None:
        """A bar/tick (``upstream = ROUTER``) or a signal from brain ``upstream``, to be handled in time order."""
        s = self._sym(symbol)
        if upstream not in s.queues:
            handler(item)  # not a synchronised upstream: as it comes
            return
        s.queues[upstream].append((decision_ns, handler, item))
        self.held += 1
        self._drain(symbol, s)

    def watermark(self, upstream: str, symbol: str, ts_ns: int) -> None:
        s = self._sym(symbol)
        if upstream in s.marks and ts_ns > s.marks[upstream]:
            s.marks[upstream] = ts_ns
            self._drain(symbol, s)

    def idle(self, upstream: str, symbol: str, ts_ns: int) -> None:
        """The trader ran every decision on ``symbol`` up to ``ts_ns`` and nothing of it can fill any more."""
        s = self._sym(symbol)
        if self.trader and upstream == self.trader and ts_ns > s.idle_at:
            s.idle_at = ts_ns
            self._drain(symbol, s)

    def ordered(self, symbol: str, decision_ns: int) -> None:
        """This brain sent an order on ``symbol`` deciding at ``decision_ns`` (one sent outside a decision counts
        as deciding past everything handled so far): wait for the trader again until it is idle after it."""
        s = self._sym(symbol)
        s.ordered = max(s.ordered, decision_ns, s.out + 1)

    def _drain(self, symbol: str, s: _Symbol) -> None:
        while True:
            best: tuple[int, int, str] | None = (
                None  # (decision time, 0 = signal first / 1 = market, upstream)
            )
            for up, q in s.queues.items():
                if q:
                    key = (q[0][0], 1 if up == ROUTER else 0, up)
                    if best is None or key < best:
                        best = key
            if best is None:
                break
            d, _, up = best
            # safe once every other upstream has declared all its data up to d (a signal also needs the market
            # stream past d: bars of the same time come after it; the trader's fills only up to d - 1, or none
            # while it is idle)
            skip = self.trader if self.trader and s.trader_idle() else up
            if any(m < d - self._lag[u] for u, m in s.marks.items() if u != up and u != skip):
                break
            _, handler, item = s.queues[up].popleft()
            self.held -= 1
            handler(item)
        low = min(s.marks[u] for u in self._bounds)
        heads = [q[0][0] - 1 for q in s.queues.values() if q]
        out = min([low, *heads])
        if out > s.out:
            s.out = out
            self._on_wm(symbol, out)


class TraderGate:
    """The trader's side of event time, wired to its agent: quotes wait in a
    :class:`~marketcore.execution.QuoteSequencer` until every trading brain has decided on them; brains' watermarks
    (and each decision, which implies one) release them; ``wm.<SYMBOL>`` on the trader's events says every fill up
    to it is out; a replaying feeder hears how far the trader got."""

    def __init__(
        self,
        agent: Any,
        brains: Iterable[str],
        release: Callable[[str, Any, int], None],
        events_alias: str,
        *,
        max_hold_s: float = 0.0,
        flow_to: str = "",
        positions: Mapping[str, tuple[str, int, int]] | None = None,
        idle: Callable[[str], bool] | None = None,
    ) -> None:
        from marketcore.execution import QuoteSequencer

        from tradehive.flow import FlowReporter

        self.agent, self._release, self._events = agent, release, events_alias
        self.sequencer = QuoteSequencer(brains, self._out, max_hold_ns=int(max_hold_s * 1e9))
        self._wm_out: dict[str, int] = {}
        self._wm_due: set[str] = set()  # symbols whose watermark may have moved this loop pass
        # ``idle(symbol)``: nothing of it in flight, resting or armed at the venue. Declared once per idle spell
        # (``idle.<SYMBOL>`` after the watermark): the brains then stop waiting for this trader on every bar
        self._idle, self._idle_sent = idle, set[str]()
        self._received: dict[str, int] = {}  # symbol -> data time of the last quote received from the router
        self.last_out: dict[str, int] = {}  # symbol -> data time of the last quote released to the venue
        # a replay of a recorded session: per order (client id -> symbol, venue position, decision time), where the
        # recorded venue stood when it came (QuotePosition); per symbol the venue is held there until that order
        # comes, then moved there. An order the brains decided past without sending (a changed parameter) is dropped
        self._at = {cid: (str(sym), int(at), int(d)) for cid, (sym, at, d) in (positions or {}).items()}
        self._pending: dict[str, list[tuple[int, int, str]]] = {}
        for cid, (symbol, at, d) in self._at.items():
            self._pending.setdefault(symbol, []).append((at, d, cid))
        for symbol, pend in self._pending.items():
            pend.sort(reverse=True)  # the next one last
            self.sequencer.cap(symbol, pend[-1][0])
        self._replaying = bool(self._at)
        self.misplaced = 0  # recorded positions this replay could not reach (their quotes had not arrived)
        self.dropped = 0  # recorded orders this replay did not send
        self.flow = FlowReporter(agent, flow_to) if flow_to else None
        if self.flow is not None:
            self.flow.hello()
        if self.sequencer.enabled and max_hold_s > 0:
            agent.every(min(0.1, max_hold_s), self.sequencer.expire)
        agent.at_pass_end(self.flush)

    def on_ticks(self, symbol: str, ticks: Any, origin_ns: int) -> None:
        self.sequencer.on_ticks(symbol, ticks, origin_ns)
        if self.sequencer.enabled and ticks.size:
            self._received[symbol] = int(ticks["ts"][-1])
            self._publish(symbol)

    def on_watermark(self, brain: str, symbol: str, ts_ns: int) -> None:
        self.sequencer.on_watermark(brain, symbol, ts_ns)
        if self._pending:
            self._drop_passed(symbol)
        self._publish(symbol)

    def on_decision(
        self, brain: str, symbol: str, data_ts_ns: int, key: str, run: Callable[[], object]
    ) -> None:
        """A decision on data at ``d`` (its brain has handled everything of ``symbol`` before ``d``): ``run`` it
        once every other trading brain has decided on data up to ``d``, in the order (data time, brain, key), so
        that risk sees simultaneous decisions of several brains in one order at any speed."""
        self._idle_sent.discard(symbol)  # a new order: busy until declared idle again
        self.sequencer.on_decision(brain, symbol, data_ts_ns, key, run)
        self._publish(symbol)

    def before_order(self, client_order_id: str, symbol: str) -> None:
        """A replay: put the venue where the recorded one stood when this order reached it."""
        at = self._at.get(client_order_id)
        if at is None:
            return
        self.sequencer.release_until(symbol, at[1])
        if self.last_out.get(symbol, 0) < at[1]:
            self.misplaced += 1

    def after_order(self, client_order_id: str, symbol: str) -> None:
        at = self._at.pop(client_order_id, None)
        pend = self._pending.get(symbol)
        if at is None or not pend:
            return
        entry = (at[1], at[2], client_order_id)
        if entry in pend:
            pend.remove(entry)
        self.sequencer.cap(symbol, pend[-1][0] if pend else None)

    def _drop_passed(self, symbol: str) -> None:
        """Recorded orders of ``symbol`` decided at or before the brains' watermark that never came: gone."""
        pend = self._pending.get(symbol)
        if not pend:
            return
        limit = self.sequencer.limit(symbol)
        gone = [e for e in pend if e[1] <= limit]
        if gone:
            for e in gone:
                pend.remove(e)
                self._at.pop(e[2], None)
            self.dropped += len(gone)
            self.sequencer.cap(symbol, pend[-1][0] if pend else None)

    def _out(self, symbol: str, ticks: Any, origin_ns: int) -> None:
        if ticks.size:
            self.last_out[symbol] = int(ticks["ts"][-1])
        self._release(symbol, ticks, origin_ns)
        if self.flow is not None and ticks.size:
            self.flow.report(int(ticks["ts"][-1]), symbol)

    def _publish(self, symbol: str) -> None:
        if self.sequencer.enabled:  # no event time: no watermarks
            self._wm_due.add(symbol)

    def flush(self) -> None:
        """The watermarks that moved in this loop pass, once each (after every fill of the pass is out)."""
        if not self._wm_due:
            return
        for symbol in self._wm_due:
            # every fill up to the watermark is out: the brains' limit, but never past the quotes this trader has
            # received (a brain may be ahead of the trader's market stream: its decision must not miss a fill)
            limit = min(self.sequencer.limit(symbol), self._received.get(symbol, -1))
            if limit > self._wm_out.get(symbol, -1):
                self._wm_out[symbol] = limit
                self.agent.send(self._events, limit, topic=p.wm_topic(symbol), type_=p.TYPE_WATERMARK)
            if (
                self._idle is not None
                and symbol not in self._idle_sent
                and symbol in self._wm_out
                and not self.sequencer.pending(symbol)
                and self._idle(symbol)
            ):
                self._idle_sent.add(symbol)
                wm = self._wm_out[symbol]
                self.agent.send(self._events, wm, topic=p.idle_topic(symbol), type_=p.TYPE_WATERMARK)
        self._wm_due.clear()

    def status(self) -> dict[str, object]:
        st = self.sequencer.status()
        if self._replaying:
            st.update(
                positions_pending=len(self._at),
                positions_missed=self.misplaced,
                positions_dropped=self.dropped,
            )
        return st


class BrainGate:
    """A brain's side of event time, wired to its agent: bars (one decision each, at the bar's end), ticks, other
    brains' signals and its own fills go through a :class:`BrainInbox`; its watermark goes to the trader (over the
    orders socket), to brains consuming its signals (``wm.<SYMBOL>`` on its signals PUB) and to a replaying
    feeder. The agent gives it the callbacks that hand data to the strategy."""

    def __init__(
        self,
        agent: Any,
        *,
        sources: Iterable[str],
        trader: str,
        timeframe_ns: int,
        on_bars: Callable[[str, Any, int], None],
        on_ticks: Callable[[str, Any, int], None],
        on_signal: Callable[[p.Signal], None],
        on_fill: Callable[[Any], object],
        signals_alias: str,
        orders_alias: str = "orders",
    ) -> None:
        self.agent, self.trader, self.tf_ns = agent, trader, timeframe_ns
        self._bars, self._ticks, self._signal, self._fill = on_bars, on_ticks, on_signal, on_fill
        self._signals_alias, self._orders_alias = signals_alias, orders_alias
        self.inbox = BrainInbox(sources, self._watermark, trader)
        self.flow: Any = None
        self._wm_due: dict[str, int] = {}  # symbol -> the newest watermark of this loop pass, not sent yet
        agent.at_pass_end(self.flush)

    # handler maps for the agent's connections
    def market(self, bar_topics: Iterable[str], tick_topics: Iterable[str]) -> dict[str, Handler]:
        out: dict[str, Handler] = {t: self.on_bar_msg for t in bar_topics}
        out.update({t: self.on_tick_msg for t in tick_topics})
        out["wm."] = lambda msg: self.inbox.watermark(ROUTER, msg.topic[3:], int(msg.data))
        return out

    def signals(self) -> dict[str, Handler]:
        return {"signal.": self.on_signal_msg, "wm.": self._upstream_wm}

    def events(self, exec_topic: str) -> dict[str, Handler]:
        return {exec_topic: self.on_exec_msg, "wm.": self._upstream_wm, "idle.": self._trader_idle}

    def start(self, flow_to: str = "") -> None:
        """Connected to everything: tell a replaying feeder it may start."""
        if flow_to:
            from tradehive.flow import FlowReporter

            self.flow = FlowReporter(self.agent, flow_to)
            self.flow.hello()

    # handlers
    def on_bar_msg(self, msg: Any) -> None:
        bars = msg.data
        if msg.type == p.TYPE_BAR_PARTIAL or not bars.size:
            return  # a forming bar comes on a wall-clock timer: no place in event time
        symbol, origin = p.parse_bar_topic(msg.topic).symbol, int(msg.origin_ns)
        put, tf, ends = self.inbox.put, self.tf_ns, bars["ts"].tolist()
        for i, ts in enumerate(ends):  # one decision per bar, each at its own end (a batch closes many)
            put(ROUTER, symbol, ts + tf, self._bar_item, (symbol, bars[i : i + 1], origin))

    def _bar_item(self, item: tuple[str, Any, int]) -> None:
        self._bars(*item)

    def on_tick_msg(self, msg: Any) -> None:
        ticks = msg.data
        if ticks.size:
            symbol = p.parse_tick_topic(msg.topic)
            self.inbox.put(
                ROUTER, symbol, int(ticks["ts"][-1]), self._tick_item, (symbol, ticks, int(msg.origin_ns))
            )

    def _tick_item(self, item: tuple[str, Any, int]) -> None:
        self._ticks(*item)

    def on_signal_msg(self, msg: Any) -> None:
        sig = p.decode(msg.data)  # a bad one raises: counted and logged by the loop
        if isinstance(sig, p.Signal):
            self.inbox.put(msg.sender, sig.symbol, sig.ts_ns, self._signal, sig)

    def on_exec_msg(self, msg: Any) -> None:
        if msg.type != "order_filled":
            return
        from marketcore.orders import OrderFilled
        from marketcore.orders import decode as decode_order

        fill = decode_order(msg.data)
        if isinstance(fill, OrderFilled):
            self.inbox.put(msg.sender, fill.symbol, fill.ts_ns, self._fill, fill)

    def _upstream_wm(self, msg: Any) -> None:
        self.inbox.watermark(msg.sender, msg.topic[3:], int(msg.data))

    def _trader_idle(self, msg: Any) -> None:
        self.inbox.idle(msg.sender, msg.topic[5:], int(msg.data))

    def ordered(self, symbol: str, decision_ns: int) -> None:
        """The brain sent an order (its runner calls this)."""
        self.inbox.ordered(symbol, decision_ns)

    def _watermark(self, symbol: str, ts_ns: int) -> None:
        self._wm_due[symbol] = ts_ns  # sent once at the end of the loop pass, however often it moved in it

    def flush(self) -> None:
        """This loop pass's watermarks, the newest per symbol: to the trader (over the orders socket, after the
        orders of the pass), to brains consuming the signals (after the signals) and to a replaying feeder."""
        if not self._wm_due:
            return
        for symbol, ts_ns in self._wm_due.items():
            if self.trader:
                wm = p.Watermark(agent=self.agent.name, symbol=symbol, ts_ns=ts_ns)
                self.agent.send(self._orders_alias, p.encode(wm), type_=p.TYPE_WATERMARK)
            self.agent.send(self._signals_alias, ts_ns, topic=p.wm_topic(symbol), type_=p.TYPE_WATERMARK)
            if self.flow is not None:
                self.flow.report(ts_ns, symbol)
        self._wm_due.clear()
