"""Status records: what each role's ``status()`` holds beyond agentcore's common fields, as msgspec structs.

A role builds its record and returns ``to_status(record)`` from ``extra_status()`` (the JSON-able dict agentcore
merges into ``status()``: the contract users script against is unchanged); readers (``tradehive.status``, the
CLI, tests) turn a ``status()`` dict back into the record with :func:`read_status`, so a renamed or missing field
is a type error in one place instead of a silent ``.get(..., 0)`` everywhere.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from tradehive.errors import TradehiveError


class StatusError(TradehiveError):
    """A status dict that does not fit its role's record."""


class _Status(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    # agentcore's common fields (read back; a role never sets them)
    name: str = ""
    role: str = ""
    pid: int = 0
    ready: bool = False
    errors: int = 0


class ReplayProgress(msgspec.Struct, frozen=True, kw_only=True):
    ticks_done: int = 0
    ticks_total: int = 0
    fraction: float = 0.0
    data_time_ns: int | None = None
    skipped: dict[str, int] = {}


class FeederStatus(_Status, frozen=True, kw_only=True):
    mode: str = ""  # replay | simulator
    symbols: list[str] = []
    published_ticks: int = 0
    batches: int = 0
    speed: float | str = 1.0
    finished: bool = False
    lag_s: float | None = None  # replay: wall time behind schedule
    progress: ReplayProgress | None = None  # replay only


class SymbolSummary(msgspec.Struct, frozen=True, kw_only=True):
    kind: str = ""  # quote | trade
    sources: list[str] = []
    ticks_held: int = 0
    last_ts: int | None = None
    bars: dict[str, int] = {}  # timeframe -> closed bars held (first price source)
    builder_rejected_out_of_order: int = 0
    builder_rejected_invalid: dict[str, int] = {}  # by reason


class RouterStatus(_Status, frozen=True, kw_only=True):
    feeders: list[str] = []
    symbols: dict[str, SymbolSummary] = {}
    buffer_fill: dict[str, dict[str, float]] = {}
    sequence_gaps: int = 0
    backfilled_ticks: int = 0
    rejected: dict[str, int] = {}


class OrdersSummary(msgspec.Struct, frozen=True, kw_only=True):
    total: int = 0
    by_status: dict[str, int] = {}
    open: int = 0


class TraderStatus(_Status, frozen=True, kw_only=True):
    orders: OrdersSummary = OrdersSummary()
    fills: int = 0
    positions: dict[str, dict[str, float | None]] = {}
    pnl: dict[str, dict[str, float | None]] = {}  # currency -> realised/unrealised/fees/net (null: unknown)
    kill_switch: bool = False
    risk_rejections: dict[str, int] = {}
    emulated_brackets: int = 0
    venue: str = ""
    recent_events: list[dict[str, Any]] = []
    intents: int = 0
    duplicates: int = 0
    risk_rejected: int = 0
    venue_rejected: int = 0
    bad_intents: int = 0
    emulated_exits: int = 0
    bracket_cancels: int = 0
    quotes: int = 0
    replaced: int = 0
    cancels: int = 0


class BrainStatus(_Status, frozen=True, kw_only=True):
    strategy: str = ""
    symbols: list[str] = []
    running: bool = True
    params: dict[str, Any] = {}
    state: dict[str, Any] = {}
    positions: dict[str, float] = {}
    pending_acks: int = 0
    orders_sent: int = 0
    acks: int = 0
    rejected: int = 0
    duplicates: int = 0
    resends: int = 0
    fills: int = 0
    signals_out: int = 0
    signals_in: int = 0
    bars: int = 0
    dropped_while_stopped: int = 0


RoleStatus = FeederStatus | RouterStatus | TraderStatus | BrainStatus
BY_ROLE: dict[str, type[RoleStatus]] = {
    "feeder": FeederStatus,
    "router": RouterStatus,
    "trader": TraderStatus,
    "brain": BrainStatus,
}
S = TypeVar("S", bound=_Status)


def to_status(record: RoleStatus) -> dict[str, Any]:
    """The JSON-able dict a role returns from ``extra_status()`` (defaults included: every key is present)."""
    out: dict[str, Any] = {f: msgspec.to_builtins(getattr(record, f)) for f in record.__struct_fields__}
    for f in _Status.__struct_fields__:
        del out[f]  # agentcore fills those itself
    return {k: v for k, v in out.items() if v is not None}  # absent, not null (e.g. a simulator's progress)


def read_status(data: dict[str, Any], record: type[S]) -> S:
    """A ``status()`` dict as its role's record; unknown keys (other common fields) are ignored."""
    try:
        return msgspec.convert(data, record, strict=False)
    except msgspec.ValidationError as exc:
        raise StatusError(f"{record.__name__}: {exc}") from exc


__all__ = [
    "BY_ROLE",
    "BrainStatus",
    "FeederStatus",
    "OrdersSummary",
    "ReplayProgress",
    "RouterStatus",
    "StatusError",
    "SymbolSummary",
    "TraderStatus",
    "read_status",
    "to_status",
]
