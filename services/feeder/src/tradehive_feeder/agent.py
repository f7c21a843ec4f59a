"""The feeder: streams ticks from a ``marketcore`` tick source (recorded-data replay, the built-in simulator
or a registered adapter such as a FIX market-data session) and answers historical requests. Wiring only: the
sources, their pacing and their registry live in ``marketcore.sources``."""

from __future__ import annotations

import time
from typing import Any

import msgspec
from agentcore import Agent, Message, Refused, remote
from marketcore.errors import MarketcoreError
from marketcore.sources import SourceContext, TickSource, make_tick_source, parse_speed
from tradehive import protocol as p
from tradehive.flow import FLOW_ALIAS, FlowGate
from tradehive.latency import Hop, hop_histogram, since_s
from tradehive.metrics import RoleMetrics
from tradehive.records import FeederStatus, read_status, to_status


class FeederConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    source: str = ""  # replay | simulator | a registered adapter; empty: replay if data_dir else simulator
    data_dir: str = ""
    format: str = "auto"  # auto | lean | binance
    tz: str = ""  # data time zone of the files ("" = the format's default: FXCM -05:00, others UTC)
    symbols: list[str] = []  # empty: every symbol found (replay) / the simulator's defaults
    speed: str = "1"  # 1, N (a multiple of real time) or max
    start: str = ""  # replay window (ISO date/time or ns), empty: all
    end: str = ""
    batch_max: int = 10_000  # ticks per published batch at most
    sim_seed: int = 7
    sim_rate_hz: float = 20.0  # simulated ticks per second per symbol
    sim_history_s: float = 6 * 3600.0  # simulated history available before the stream starts
    options: dict[str, str] = {}  # extra options for a registered source adapter
    flow_consumers: list[
        str
    ] = []  # agents that must join before the stream starts (and, in a replay, pace it)
    flow_window_s: float = 600.0  # replay: data time the feeder may run ahead of its slowest consumer


class FeederAgent(Agent):
    role = "feeder"
    Config = FeederConfig
    config_prefix = "TRADEHIVE_FEEDER_"

    def on_init(self) -> None:
        cfg: FeederConfig = self.config
        parse_speed(cfg.speed)  # a bad speed fails at start, whatever the source
        self.mode = cfg.source or ("replay" if cfg.data_dir else "simulator")
        self.source: TickSource = make_tick_source(self.mode, SourceContext(_options(cfg), time.time_ns()))
        self.symbols = list(self.source.symbols)
        self.streams: dict[str, tuple[int, int]] = {}  # symbol -> (messages sent on tick.<symbol>, last ts)
        self.finished, self.published, self.batches = False, 0, 0
        m = RoleMetrics(self)
        self._c_ticks = m.counter("tradehive_feeder_ticks_published_total", "Ticks published.", ["symbol"])
        self._c_lat = m.histogram(
            "tradehive_feeder_venue_to_feeder_seconds", "Venue/broker timestamp to feeder receive (replay: data time is "
            "re-based, so only simulator/live adapters make this meaningful).", ["symbol"])  # fmt: skip
        self._hop_venue = hop_histogram(m)(Hop.VENUE_TO_FEEDER)
        self._progress = m.gauge("tradehive_feeder_replay_progress_ratio", "Fraction of the replay done.")()
        self._rejected = m.counter(
            "tradehive_feeder_rejected_requests_total", "History requests refused.", ["reason"]
        )
        self._lag = m.gauge("tradehive_feeder_pacing_lag_seconds", "Wall time behind schedule.")()
        self.bind("PUB", p.FEEDER_TICKS)
        self.bind("REP", p.FEEDER_HISTORY, handler=self.on_history)
        self.released_ns = 0  # data time of the last tick released
        # a replay runs at most a window ahead of its slowest consumer; a live source cannot be slowed, but with
        # consumers listed (a recorded live session) it starts only once they all listen: none misses the start
        window = float("inf") if self.source.live else cfg.flow_window_s
        self.gate = FlowGate(cfg.flow_consumers, int(min(window * 1e9, 2**62)))
        if self.gate.enabled:
            self.bind("PULL", FLOW_ALIAS, handler=self.on_flow)
        self._next_step: int | None = None  # the timer of the next step (one chain of steps, never two)
        self._gated = False  # the last step found the gate shut: a watermark that opens it steps at once
        self._schedule(1.0)  # give subscribers a moment; a late one recovers the start from history

    def _schedule(self, delay_s: float) -> None:
        self._next_step = self.after(delay_s, self.step)

    def on_flow(self, msg: Message) -> None:
        wm = p.decode(msg.data)  # a bad one raises: counted and logged by the loop
        if isinstance(wm, p.Watermark):
            self.gate.on_watermark(wm)
            if self._gated and self.gate.allows(self.released_ns):
                self.step()  # event-driven: no polling while the consumers catch up

    def step(self) -> None:
        if self._next_step is not None:  # the timer that called this, or one a watermark came before
            self.cancel_timer(self._next_step)
            self._next_step = None
        if not self.gate.allows(self.released_ns):  # a consumer missing or behind: wait (replay only)
            # woken by the watermark that opens the gate (on_flow); the timer covers the join's grace period
            self._gated = True
            self._schedule(0.05)
            return
        self._gated = False
        poll = self.source.poll(time.time_ns())
        if poll.runs:
            self._publish_runs(poll.runs)
            self.released_ns = max([self.released_ns] + [int(t["ts"][-1]) for _, t in poll.runs if t.size])
            state = self.source.status()
            if "progress" in state:
                self._progress.set(state["progress"]["fraction"])
                self._lag.set(state.get("lag_s", 0.0))
        if poll.done:
            self.finished = True
            self._progress.set(1.0)
            self.log.info("source finished", ticks=self.published, batches=self.batches)
            return
        self._schedule(poll.wait_s)

    def _publish_runs(self, runs: Any) -> None:
        now = time.time_ns()  # the feeder's receive (replay: release) time: the origin stamp of these ticks
        live = self.mode != "replay" and self.source.live  # replayed ticks carry historic stamps
        for symbol, ticks in runs:
            self.send(p.FEEDER_TICKS, ticks, topic=p.tick_topic(symbol), type_=p.TYPE_TICKS, origin_ns=now)
            n, last_ts = self.streams.get(symbol, (0, 0))
            self.streams[symbol] = (n + 1, int(ticks["ts"][-1]) if ticks.size else last_ts)
            self.published += ticks.size
            self.batches += 1
            self._c_ticks(symbol).inc(ticks.size)
            if live and ticks.size:
                venue_s = since_s(int(ticks["ts"][-1]), now)
                self._c_lat(symbol).observe(venue_s)
                self._hop_venue.observe(venue_s)

    def on_history(self, msg: Message) -> Any:
        try:
            req = p.decode(msg.data)
            if isinstance(req, p.StreamStatusRequest):
                return p.encode(p.StreamStatus(streams=dict(self.streams)))
            if not isinstance(req, p.TickHistoryRequest):
                raise p.ProtocolError(f"expected a tick_history request, got {type(req).__name__}")
            return self.source.history(req.symbol, req.start_ns, req.end_ns, req.limit)
        except (p.ProtocolError, MarketcoreError, TypeError) as exc:
            self._rejected(type(exc).__name__).inc()
            self.log.warning("history request refused", error=str(exc))
            raise Refused(str(exc)) from exc

    @remote(idempotent=True)
    def set_speed(self, speed: str) -> str:
        """Change replay speed live (1, N or max)."""
        return str(self.source.set_speed(parse_speed(str(speed))))

    def on_stop(self) -> None:
        self.source.close()
        super().on_stop()

    def extra_status(self) -> dict[str, Any]:
        """The feeder's record (typed fields checked here) plus whatever else its source reports."""
        src = self.source.status()
        record = read_status({"finished": self.finished, **src}, FeederStatus)
        mine = msgspec.structs.replace(record, mode=self.mode, symbols=list(self.symbols),
                                       published_ticks=self.published, batches=self.batches)  # fmt: skip
        out = {**src, **to_status(mine), "released_ns": self.released_ns}
        if self.gate.enabled:
            out["flow"] = {
                **self.gate.status(),
                "drained": self.finished and self.gate.drained(self.released_ns),
            }
        return out


def _options(cfg: FeederConfig) -> dict[str, Any]:
    return {"data_dir": cfg.data_dir, "format": cfg.format, "tz": cfg.tz, "symbols": cfg.symbols,
            "speed": cfg.speed, "start": cfg.start, "end": cfg.end, "batch_max": cfg.batch_max,
            "seed": cfg.sim_seed, "rate_hz": cfg.sim_rate_hz, "history_s": cfg.sim_history_s, **cfg.options}  # fmt: skip


__all__ = ["FeederAgent", "FeederConfig", "parse_speed"]
