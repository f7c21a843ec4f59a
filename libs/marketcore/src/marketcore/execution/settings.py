"""Everything that configures execution (venue, journal, risk, paper-venue costs) in one flat struct, and
``build_engine`` that turns it into a running ``ExecutionEngine``: the journal opened, the venue built by
name on it (its book restored), the books recovered. A service embeds the struct in its configuration."""

from __future__ import annotations

import math
from pathlib import Path

import msgspec

from marketcore.clock import Clock, WallClock
from marketcore.execution.engine import EmitFn, ErrorFn, ExecutionEngine
from marketcore.execution.journal import Journal, SyncPolicy
from marketcore.instruments import InstrumentRegistry
from marketcore.risk import RiskEngine, RiskLimits
from marketcore.venue import VenueContext, make_venue

INF = math.inf


class ExecutionSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    venue: str = "paper"  # a name in marketcore.venue's registry (paper, or a registered adapter such as fix)
    venue_options: dict[str, str] = {}  # extra options for the venue adapter
    data_dir: str = ""  # journal directory (<data_dir>/<name>.journal); empty: books kept in memory only
    journal_sync: SyncPolicy = "full"  # full: fsync every commit | normal: survives a process kill | off
    max_order_qty: float = 1_000_000.0
    max_position: float = 2_000_000.0
    max_order_notional: float = INF
    max_gross_notional: float = INF
    max_orders_per_second: float = 50.0
    order_burst: int = 20
    kill_switch: bool = False
    fee_bps: float = 0.2  # paper venue costs
    fee_per_order: float = 0.0
    slippage_ticks: float = 0.0
    latency_ms: float = 0.0
    venue_brackets: bool = False  # False: the paper venue holds no SL/TP and the engine emulates them
    recent_events: int = 50

    def risk_limits(self) -> RiskLimits:
        return RiskLimits(
            max_order_qty=self.max_order_qty,
            max_position=self.max_position,
            max_order_notional=self.max_order_notional,
            max_gross_notional=self.max_gross_notional,
            max_orders_per_second=self.max_orders_per_second,
            order_burst=self.order_burst,
            kill_switch=self.kill_switch,
        )

    def venue_context_options(self) -> dict[str, object]:
        paper: dict[str, object] = {}
        if self.venue == "paper":
            paper = {
                "fee_bps": self.fee_bps,
                "fee_per_order": self.fee_per_order,
                "slippage_ticks": self.slippage_ticks,
                "latency_ns": int(self.latency_ms * 1e6),
                "supports_brackets": self.venue_brackets,
            }
        return {**paper, **self.venue_options}


def build_engine(
    settings: ExecutionSettings,
    name: str,
    *,
    emit: EmitFn | None = None,
    on_error: ErrorFn | None = None,
    clock: Clock | None = None,
    instruments: InstrumentRegistry | None = None,
    fold_accepts: bool = False,
) -> ExecutionEngine:
    """The engine for ``settings``; with a ``data_dir`` its journal is ``<data_dir>/<name>.journal`` and the
    books are rebuilt from it (``engine.recovered`` records). Call ``engine.reconcile()`` before trading."""
    instruments = instruments or InstrumentRegistry.default()
    clock = clock or WallClock()
    journal = None
    if settings.data_dir:
        journal = Journal(Path(settings.data_dir) / f"{name}.journal", settings.journal_sync)
    context = VenueContext(instruments, clock, settings.venue_context_options(), journal, name)
    venue = make_venue(settings.venue, context)
    engine = ExecutionEngine(venue, instruments, RiskEngine(settings.risk_limits(), instruments, clock), clock,
                             journal=journal, emit=emit, on_error=on_error,
                             recent_events=settings.recent_events, fold_accepts=fold_accepts)  # fmt: skip
    engine.recovered = engine.recover()
    return engine


__all__ = ["ExecutionSettings", "build_engine"]
