"""Configuration of the paper venue (frozen; invalid values raise ``VenueError``)."""

from __future__ import annotations

import math

import msgspec

from marketcore.errors import VenueError


class PaperVenueConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Fees: ``fee_bps`` of the fill notional plus ``fee_per_order`` (fixed, quote currency, once per order).
    Slippage (adverse, taker fills only): ``slippage_ticks`` ticks plus ``slippage_bps`` of the price.
    ``latency_ns``: commands reach the venue this long after they are sent.
    ``supports_brackets``: the venue holds SL/TP children itself (otherwise bracket orders are rejected and
    the
    trader emulates them with ``marketcore.brackets.BracketEmulator``)."""

    fee_bps: float = 0.0
    fee_per_order: float = 0.0
    slippage_ticks: float = 0.0
    slippage_bps: float = 0.0
    latency_ns: int = 0
    supports_brackets: bool = True
    venue_id: str = "PAPER"

    def __post_init__(self) -> None:
        for name in ("fee_bps", "fee_per_order", "slippage_ticks", "slippage_bps"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise VenueError(f"{name} must be finite and >= 0, got {value!r}")
        if self.latency_ns < 0:
            raise VenueError(f"latency_ns must be >= 0, got {self.latency_ns}")
