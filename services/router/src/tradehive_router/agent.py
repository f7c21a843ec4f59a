"""The router: wires ``tradehive.routing`` to sockets. Discovers feeders by role, hands their tick messages to the
engine (live) and the recovery (sequence gaps from agentcore, catch-up, initial load), publishes ticks and bars,
and serves history."""

from __future__ import annotations

import time
from typing import Any

from agentcore import Agent, CommunicationError, Message, Refused, batch_handler
from marketcore.bars import warmup as warmup_kernels
from tradehive import protocol as p
from tradehive.flow import FlowReporter
from tradehive.latency import Hop, hop_histogram, since_s
from tradehive.metrics import RoleMetrics
from tradehive.records import to_status
from tradehive.routing.config import RouterConfig
from tradehive.routing.engine import REJECT_REASONS, HistoryRequestError, RouterEngine, RouterMetrics
from tradehive.routing.recovery import StreamRecovery
from tradehive.routing.runs import TickRuns


class RouterAgent(Agent):
    role = "router"
    Config = RouterConfig
    config_prefix = "TRADEHIVE_ROUTER_"

    def on_init(self) -> None:
        cfg: RouterConfig = self.config
        m = RoleMetrics(self)
        self.engine = RouterEngine(cfg, self._publish, RouterMetrics(m), self.log)
        self.recovery = StreamRecovery(self.engine, self._fetch, self._live_seq, cfg, self.log)
        self._hop = hop_histogram(m)(Hop.FEEDER_TO_ROUTER)
        warmup_kernels()  # compile/load the bar kernels now, not on the first tick (1-2 s otherwise)
        self.bind("PUB", p.ROUTER_MARKET)
        self.bind("REP", p.ROUTER_HISTORY, handler=self.on_history)
        if cfg.publish_partial and cfg.partial_interval_s > 0:
            self.every(cfg.partial_interval_s, self.engine.flush_partials)
        self.flow = FlowReporter(self, cfg.flow_to) if cfg.flow_to else None
        self._discover()
        self.every(cfg.discover_interval, self._discover)
        self.every(1.0, lambda: self.engine.export_buffers(self.role))
        if cfg.clock_close:
            self.every(0.5, lambda: self.engine.close_by_clock(time.time_ns() - int(cfg.clock_grace_s * 1e9)))

    # -- wiring -----------------------------------------------------------------------------------------
    def _publish(self, data: Any, topic: str, type_: str, origin_ns: int) -> None:
        self.send(p.ROUTER_MARKET, data, topic=topic, type_=type_, origin_ns=origin_ns)

    def _fetch(self, feeder: str, req: p.Record, timeout: float) -> Any:
        reply = self.request(f"{feeder}.history", p.encode(req), timeout=timeout)
        return p.decode(reply) if isinstance(reply, bytes) else reply

    def _live_seq(self, feeder: str, symbol: str) -> int | None:
        return self.last_seq(f"{feeder}.ticks", feeder, p.tick_topic(symbol))

    def _discover(self) -> None:
        wanted = self.config.feeders
        try:
            found = set(wanted) if wanted else set(self.discover("feeder"))
        except CommunicationError as exc:
            self.log.warning("feeder discovery failed", error=str(exc))
            return
        for name in sorted(found - self.recovery.feeders):
            try:
                self.connect(f"{name}.{p.FEEDER_TICKS}", handler={p.TICK_PREFIX: self.on_ticks},
                             alias=f"{name}.ticks", timeout=2.0)  # fmt: skip
                self.connect(f"{name}.{p.FEEDER_HISTORY}", alias=f"{name}.history", timeout=2.0)
            except CommunicationError as exc:
                self.log.warning("feeder not reachable yet", feeder=name, error=str(exc))
                continue
            self.recovery.add_feeder(name)
            self.log.info("feeder connected", feeder=name)
            if self.flow is not None and name == self.config.flow_to:
                self.flow.hello()  # subscribed to the replaying feeder: it may start
        # streams joined late, or whose tail was missed while idle (not a flow-controlled replay: it waits for us)
        self.recovery.catch_up_quiet(frozenset([self.config.flow_to]))

    # -- handlers ---------------------------------------------------------------------------------------
    def on_gap(self, alias: str, msg: Message, last: int | None) -> None:
        if msg.topic.startswith(p.TICK_PREFIX):
            symbol = p.parse_tick_topic(msg.topic)
            self.recovery.on_gap(msg.sender, symbol, msg.seq, last, msg.data, msg.origin_ns)

    @batch_handler
    def on_ticks(self, msgs: list[Message]) -> None:
        """The tick messages drained in one loop turn: one engine call per symbol (bars, ticks out, watermark)."""
        now, recovery, engine, observe = time.time_ns(), self.recovery, self.engine, self._hop.observe
        runs = TickRuns()
        for msg in msgs:
            observe(since_s(msg.sent_ns, now))
            symbol, ticks = p.parse_tick_topic(msg.topic), msg.data
            if not engine.is_ticks(ticks) or recovery.skip_live(msg.sender, symbol, msg.seq):
                continue
            if symbol not in engine.books:
                recovery.on_first_ticks(msg.sender, symbol, msg.seq, ticks)
            runs.add(symbol, ticks, msg.origin_ns)
        for symbol, ticks, origin_ns in runs.items():
            last = engine.ingest_live(symbol, ticks, origin_ns)
            if self.flow is not None and last is not None:
                self.flow.report(last, symbol)

    def on_history(self, msg: Message) -> Any:
        try:
            return self.engine.serve(p.decode(msg.data))
        except (p.ProtocolError, HistoryRequestError) as exc:
            if isinstance(exc, p.ProtocolError):
                self.engine.reject("bad_history_request")
            self.log.warning("history request refused", error=str(exc))
            raise Refused(str(exc)) from exc

    def extra_status(self) -> dict[str, Any]:
        return to_status(self.engine.status(sorted(self.recovery.feeders)))


__all__ = ["REJECT_REASONS", "RouterAgent", "RouterConfig"]
