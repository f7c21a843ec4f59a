"""The feeder: streams ticks from a broker adapter (recorded-data replay or the built-in simulator) and answers
historical requests. A thin agent: the sources live in ``marketcore.sources``."""

from __future__ import annotations

import time
from typing import Any

import msgspec
from agentcore import Agent, Message, remote
from marketcore.errors import MarketcoreError
from marketcore.sources.pacer import Pacer
from marketcore.sources.replay import ReplaySource
from marketcore.sources.sim import MarketSimulator
from prometheus_client import Counter, Gauge
from tradehive import protocol as p
from tradehive.instrument import Children, instrument
from tradehive.latency import Hop, hop_histogram, since_s


class FeederConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    data_dir: str = ""  # empty: the built-in simulator
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


def parse_speed(text: str) -> float | str:
    if text == "max":
        return "max"
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"speed must be a positive number or 'max', not {text!r}") from None
    if not value > 0:
        raise ValueError(f"speed must be > 0, not {text!r}")
    return value


class FeederAgent(Agent):
    role = "feeder"
    Config = FeederConfig
    config_prefix = "TRADEHIVE_FEEDER_"

    def on_init(self) -> None:
        cfg: FeederConfig = self.config
        self.mode = "replay" if cfg.data_dir else "simulator"
        self.streams: dict[str, tuple[int, int]] = {}  # symbol -> (messages sent on tick.<symbol>, last ts)
        self.finished = False
        self.published = 0
        self.batches = 0
        self._speed = parse_speed(cfg.speed)
        self._pacer = Pacer(self._speed)
        self._ticks_total = instrument(
            self.metrics.counter("tradehive_feeder_ticks_published_total", "Ticks published.", ["symbol"])
        )
        self._lat = instrument(self.metrics.histogram(
            "tradehive_feeder_venue_to_feeder_seconds", "Venue/broker timestamp to feeder receive (replay: data time is "
            "re-based, so only simulator/live adapters make this meaningful).", ["symbol"]))  # fmt: skip
        self._c_ticks, self._c_lat = Children(self._ticks_total, self.name), Children(self._lat, self.name)
        self._hop_venue = hop_histogram(self.metrics).labels(agent=self.name, hop=Hop.VENUE_TO_FEEDER)
        self._progress = instrument(
            self.metrics.gauge("tradehive_feeder_replay_progress_ratio", "Fraction of the replay done.")
        )
        self._rejected: Counter = instrument(
            self.metrics.counter(
                "tradehive_feeder_rejected_requests_total", "History requests refused.", ["reason"]
            )
        )
        self._lag: Gauge = instrument(
            self.metrics.gauge("tradehive_feeder_pacing_lag_seconds", "Wall time behind schedule.")
        )
        if self.mode == "replay":
            self.source: ReplaySource | MarketSimulator = ReplaySource(
                _datasets(cfg), symbols=cfg.symbols or None, start=cfg.start or None, end=cfg.end or None
            )
        else:
            now = time.time_ns()
            syms = None
            if cfg.symbols:
                from marketcore.sources.sim import DEFAULT_SYMBOLS

                syms = {s: DEFAULT_SYMBOLS[s] for s in cfg.symbols}
            self.source = MarketSimulator(
                syms, seed=cfg.sim_seed, tick_rate_hz=cfg.sim_rate_hz, start_ns=now,
                origin_ns=now - int(cfg.sim_history_s * 1e9),
            )  # fmt: skip
        self.symbols = list(self.source.symbols)
        self.bind("PUB", p.FEEDER_TICKS)
        self.bind("REP", p.FEEDER_HISTORY, handler=self.on_history)
        self.after(1.0, self.step)  # give subscribers a moment; a late one recovers the start from history

    # -- streaming --------------------------------------------------------------------------------------------
    def step(self) -> None:
        if self.mode == "simulator":
            self._publish_runs(self.source.next_batch(time.time_ns()))  # type: ignore[union-attr]
            self.after(0.01, self.step)
            return
        src: ReplaySource = self.source  # type: ignore[assignment]
        batch = src.next_batch(max_ticks=self.config.batch_max, max_span_ns=self._pacer.max_span_ns)
        if batch is None:
            self.finished = True
            self._progress.labels(agent=self.name).set(1.0)
            self.log.info("replay finished", ticks=self.published, batches=self.batches)
            return
        delay = self._pacer.delay(batch.end_ns)
        if delay > 0:
            self.after(delay, lambda: self._release(batch.runs))
        else:
            self._release(batch.runs)

    def _release(self, runs: Any) -> None:
        self._publish_runs(runs)
        self._lag.labels(agent=self.name).set(self._pacer.lag())
        prog = self.source.progress()  # type: ignore[union-attr]
        self._progress.labels(agent=self.name).set(prog.fraction)
        self.after(0, self.step)

    def _publish_runs(self, runs: Any) -> None:
        now = time.time_ns()  # the feeder's receive (replay: release) time: the origin stamp of these ticks
        for symbol, ticks in runs:
            self.send(p.FEEDER_TICKS, ticks, topic=p.tick_topic(symbol), type_=p.TYPE_TICKS, origin_ns=now)
            n, last_ts = self.streams.get(symbol, (0, 0))
            self.streams[symbol] = (n + 1, int(ticks["ts"][-1]) if ticks.size else last_ts)
            self.published += ticks.size
            self.batches += 1
            self._c_ticks(symbol).inc(ticks.size)
            if self.mode == "simulator" and ticks.size:  # replayed ticks carry historic stamps: not a latency
                venue_s = since_s(int(ticks["ts"][-1]), now)
                self._c_lat(symbol).observe(venue_s)
                self._hop_venue.observe(venue_s)

    # -- history ----------------------------------------------------------------------------------------------
    def on_history(self, msg: Message) -> Any:
        try:
            req = p.decode(msg.data)
            if isinstance(req, p.StreamStatusRequest):
                return p.encode(p.StreamStatus(streams=dict(self.streams)))
            if not isinstance(req, p.TickHistoryRequest):
                raise p.ProtocolError(f"expected a tick_history request, got {type(req).__name__}")
            return self.source.history(req.symbol, req.start_ns, req.end_ns, req.limit)
        except (p.ProtocolError, MarketcoreError, TypeError) as exc:
            self._rejected.labels(agent=self.name, reason=type(exc).__name__).inc()
            self.log.warning("history request refused", error=str(exc))
            return p.encode(p.ErrorReply(reason=str(exc)))

    # -- control ----------------------------------------------------------------------------------------------
    @remote
    def set_speed(self, speed: str) -> str:
        """Change replay speed live (1, N or max)."""
        self._speed = parse_speed(str(speed))
        self._pacer.set_speed(self._speed)  # type: ignore[arg-type]
        return str(self._speed)

    def extra_status(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mode": self.mode, "symbols": self.symbols, "published_ticks": self.published,
            "batches": self.batches, "speed": self._speed, "finished": self.finished,
        }  # fmt: skip
        if self.mode == "replay":
            prog = self.source.progress()  # type: ignore[union-attr]
            out["progress"] = {
                "ticks_done": prog.ticks_done, "ticks_total": prog.ticks_total, "fraction": round(prog.fraction, 4),
                "data_time_ns": prog.data_time_ns, "skipped": prog.skipped,
            }  # fmt: skip
        return out


def _datasets(cfg: FeederConfig) -> Any:
    from marketcore.io import discover

    return discover(cfg.data_dir, format=cfg.format, tz_offset=cfg.tz or None)  # type: ignore[arg-type]


__all__ = ["FeederAgent", "FeederConfig"]
