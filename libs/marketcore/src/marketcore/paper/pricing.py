"""Fill price and fee math of the paper venue (pure functions)."""

from __future__ import annotations

from marketcore.instruments import Instrument
from marketcore.orders.messages import OrderSide
from marketcore.paper.config import PaperVenueConfig


def taker_price(side: OrderSide, bid: float, ask: float, inst: Instrument, cfg: PaperVenueConfig) -> float:
    """Price of an aggressive fill: the ask for a buy, the bid for a sell, moved against the taker by the
    slippage and rounded (adversely) to the tick grid. Without slippage the quoted price is used unchanged,
    also when the quote is crossed or locked."""
    base = ask if side is OrderSide.BUY else bid
    slip = cfg.slippage_ticks * inst.tick_size + cfg.slippage_bps * 1e-4 * base
    if slip == 0.0:
        return base
    if side is OrderSide.BUY:
        return inst.round_price(base + slip, "up")
    return inst.round_price(base - slip, "down")


def fee(price: float, qty: float, first_fill: bool, inst: Instrument, cfg: PaperVenueConfig) -> float:
    """``fee_bps`` of the notional, plus ``fee_per_order`` on an order's first fill."""
    return inst.notional(qty, price) * cfg.fee_bps * 1e-4 + (cfg.fee_per_order if first_fill else 0.0)
