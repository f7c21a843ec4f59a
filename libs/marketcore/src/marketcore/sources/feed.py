"""The ``TickSource`` protocol the feeder streams from, its two built-in implementations and the registry.

A tick source is polled from the host's loop: ``poll(now_ns)`` returns the runs of ticks due now (per
symbol, in time order) and how long to wait before the next poll, or ``done`` at the end of a finite source.
It also serves history (``history``) for recovery and warm-up. Built in:

* ``replay``: recorded data (``ReplaySource``) paced to 1x, Nx or max speed (``Pacer``);
* ``simulator``: the seeded ``MarketSimulator`` driven by the wall clock (``now_ns``).

Other sources (a FIX market-data session, a broker's stream) register with ``register_tick_source`` or the
``marketcore.tick_sources`` entry-point group, and the feeder picks one by name from its configuration.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

import numpy as np

from marketcore.errors import DataSourceError
from marketcore.sources.pacer import Pacer, Speed, SpeedError, parse_speed
from marketcore.sources.replay import ReplayBatch, ReplaySource
from marketcore.sources.sim import DEFAULT_SYMBOLS, MarketSimulator

ENTRY_POINT_GROUP = "marketcore.tick_sources"
Runs = Sequence[tuple[str, np.ndarray]]


@dataclass(frozen=True)
class TickPoll:
    """``runs``: (symbol, TICK_DTYPE ticks) due now; ``wait_s``: poll again after this long; ``done``: the
    source is exhausted (a finished replay; a live source never is)."""

    runs: Runs = ()
    wait_s: float = 0.0
    done: bool = False


@runtime_checkable
class TickSource(Protocol):
    """What the feeder streams from. ``live``: tick timestamps are the venue's own clock (so a venue ->
    feeder latency is meaningful); a replay's are historic."""

    kind: str
    live: bool

    @property
    def symbols(self) -> tuple[str, ...]: ...

    def poll(self, now_ns: int) -> TickPoll: ...

    def history(self, symbol: str, start_ns: int, end_ns: int, limit: int | None = None) -> np.ndarray: ...

    def set_speed(self, speed: Speed) -> Speed:
        """Change the playback speed (a live source raises ``DataSourceError``)."""
        ...

    def status(self) -> dict[str, Any]:
        """JSON-able state for the feeder's status (progress, speed...)."""
        ...

    def close(self) -> None: ...


class PacedReplay:
    """Recorded ticks released at data-time pace (``speed`` 1, N or ``"max"``), ``batch_max`` ticks at most."""

    kind = "replay"
    live = False

    def __init__(self, source: ReplaySource, speed: Speed = 1.0, batch_max: int = 10_000) -> None:
        self.source = source
        self.pacer = Pacer(speed)
        self.batch_max = batch_max
        self._held: ReplayBatch | None = None
        self._due = 0.0  # monotonic time at which the held batch is released
        self.finished = False

    @property
    def symbols(self) -> tuple[str, ...]:
        return self.source.symbols

    def poll(self, now_ns: int) -> TickPoll:
        if self._held is None:
            batch = self.source.next_batch(max_ticks=self.batch_max, max_span_ns=self.pacer.max_span_ns)
            if batch is None:
                self.finished = True
                return TickPoll(done=True)
            self._held, self._due = batch, time.monotonic() + self.pacer.delay(batch.end_ns)
        wait = self._due - time.monotonic()
        if wait > 0:
            return TickPoll(wait_s=wait)
        runs, self._held = self._held.runs, None
        return TickPoll(runs=runs)

    def history(self, symbol: str, start_ns: int, end_ns: int, limit: int | None = None) -> np.ndarray:
        return self.source.history(symbol, start_ns, end_ns, limit)

    def set_speed(self, speed: Speed) -> Speed:
        self.pacer.set_speed(speed)
        return self.pacer.speed

    def status(self) -> dict[str, Any]:
        prog = self.source.progress()
        return {
            "speed": self.pacer.speed, "finished": self.finished, "lag_s": self.pacer.lag(),
            "progress": {"ticks_done": prog.ticks_done, "ticks_total": prog.ticks_total,
                         "fraction": round(prog.fraction, 4), "data_time_ns": prog.data_time_ns,
                         "skipped": prog.skipped},
        }  # fmt: skip

    def close(self) -> None:
        self._held = None


class SimulatedFeed:
    """The seeded simulator streaming up to the wall clock every ``poll_s``."""

    kind = "simulator"
    live = True

    def __init__(self, simulator: MarketSimulator, poll_s: float = 0.01) -> None:
        self.simulator = simulator
        self.poll_s = poll_s

    @property
    def symbols(self) -> tuple[str, ...]:
        return self.simulator.symbols

    def poll(self, now_ns: int) -> TickPoll:
        return TickPoll(runs=self.simulator.next_batch(now_ns), wait_s=self.poll_s)

    def history(self, symbol: str, start_ns: int, end_ns: int, limit: int | None = None) -> np.ndarray:
        return self.simulator.history(symbol, start_ns, end_ns, limit)

    def set_speed(self, speed: Speed) -> Speed:
        raise DataSourceError("the simulator runs in real time: its speed cannot be changed")

    def status(self) -> dict[str, Any]:
        return {"speed": 1.0, "finished": False}

    def close(self) -> None:
        return None


@dataclass(frozen=True)
class SourceContext:
    """What a tick-source factory gets: its options (from configuration) and the time it starts at."""

    options: Mapping[str, Any] = field(default_factory=dict)
    now_ns: int = 0


SourceFactory = Callable[[SourceContext], TickSource]


def _replay(ctx: SourceContext) -> TickSource:
    from marketcore.io import discover

    o = ctx.options
    if not o.get("data_dir"):
        raise DataSourceError("the replay source needs data_dir")
    datasets = discover(o["data_dir"], format=o.get("format", "auto"), tz_offset=o.get("tz") or None)
    source = ReplaySource(
        datasets, symbols=list(o.get("symbols") or []) or None, start=o.get("start") or None,
        end=o.get("end") or None,
    )  # fmt: skip
    return PacedReplay(source, parse_speed(str(o.get("speed", "1"))), int(o.get("batch_max", 10_000)))


def _simulator(ctx: SourceContext) -> TickSource:
    o = ctx.options
    now = ctx.now_ns or time.time_ns()
    symbols = list(o.get("symbols") or [])
    unknown = [s for s in symbols if s not in DEFAULT_SYMBOLS]
    if unknown:
        raise DataSourceError(f"the simulator has no {unknown}; it simulates {sorted(DEFAULT_SYMBOLS)}")
    sim = MarketSimulator(
        {s: DEFAULT_SYMBOLS[s] for s in symbols} or None, seed=int(o.get("seed", 7)),
        tick_rate_hz=float(o.get("rate_hz", 20.0)), start_ns=now,
        origin_ns=now - int(float(o.get("history_s", 6 * 3600.0)) * 1e9),
    )  # fmt: skip
    return SimulatedFeed(sim)


_FACTORIES: dict[str, SourceFactory | str] = {"replay": _replay, "simulator": _simulator}


def register_tick_source(name: str, factory: SourceFactory | str) -> None:
    """Register ``factory`` (a callable or a lazy ``"module:attr"`` path) under ``name``."""
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise DataSourceError(f"tick source name must be a simple word, got {name!r}")
    _FACTORIES[name] = factory


def available_tick_sources() -> list[str]:
    return sorted(set(_FACTORIES) | {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def make_tick_source(name: str, context: SourceContext) -> TickSource:
    factory: SourceFactory | str | None = _FACTORIES.get(name)
    if factory is None:
        eps = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
        if not eps:
            raise DataSourceError(
                f"unknown tick source {name!r}; available: {', '.join(available_tick_sources())}"
            )
        factory = eps[0].value
    if isinstance(factory, str):
        module, _, attr = factory.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise DataSourceError(f"cannot load tick source {name!r} from {factory!r}: {exc}") from exc
    source = factory(context)  # type: ignore[operator]
    if not isinstance(source, TickSource):
        raise DataSourceError(f"tick source factory {name!r} built {type(source).__name__}, not a TickSource")
    return source


__all__ = [
    "ENTRY_POINT_GROUP",
    "PacedReplay",
    "SimulatedFeed",
    "SourceContext",
    "SourceFactory",
    "SpeedError",
    "TickPoll",
    "TickSource",
    "available_tick_sources",
    "make_tick_source",
    "parse_speed",
    "register_tick_source",
]
