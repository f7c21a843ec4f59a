"""Positions and PnL from fills (netting), marked to the live quote; a portfolio aggregating them.

PnL is in the instrument's quote currency. ``realised_pnl`` is trading PnL before fees; ``fees`` are kept
apart; ``net_pnl = realised_pnl - fees + unrealised``. Long positions are marked at the bid and short ones at
the ask (the price at which they could be closed).
"""

from __future__ import annotations

import math

from marketcore.errors import MarketcoreError
from marketcore.instruments import InstrumentRegistry
from marketcore.orders.messages import OrderFilled, OrderSide

# A position smaller than this (relative to the traded size) is flat: avoids 1e-13 residues after netting.
_FLAT_EPS = 1e-12


class PortfolioError(MarketcoreError, ValueError):
    """Invalid fill for a position, or an aggregate that would mix currencies."""


class Position:
    """Signed net position in one symbol (qty > 0 long, < 0 short)."""

    def __init__(self, symbol: str, multiplier: float = 1.0, currency: str = "") -> None:
        self.symbol = symbol
        self.multiplier = multiplier
        self.currency = currency
        self.qty = 0.0
        self.avg_price = math.nan
        self.realised_pnl = 0.0
        self.fees = 0.0
        self.fills = 0

    @property
    def is_flat(self) -> bool:
        return self.qty == 0.0

    def apply_fill(self, fill: OrderFilled) -> float:
        if fill.symbol != self.symbol:
            raise PortfolioError(f"fill for {fill.symbol} applied to position {self.symbol}")
        return self.apply_trade(fill.side, fill.qty, fill.price, fill.fee)

    def apply_trade(self, side: OrderSide, qty: float, price: float, fee: float = 0.0) -> float:
        """Net a trade into the position; returns the PnL it realised (before fees)."""
        if not (math.isfinite(qty) and qty > 0 and math.isfinite(price) and price > 0 and math.isfinite(fee)):
            raise PortfolioError(f"{self.symbol}: invalid trade qty={qty!r} price={price!r} fee={fee!r}")
        signed = side.sign * qty
        realised = 0.0
        if self.qty == 0.0 or (self.qty > 0) == (signed > 0):
            total = self.qty + signed
            prior = 0.0 if self.qty == 0.0 else self.avg_price * abs(self.qty)
            self.avg_price = (prior + price * qty) / abs(total)
            self.qty = total
        else:
            closing = min(qty, abs(self.qty))
            direction = 1.0 if self.qty > 0 else -1.0
            realised = (price - self.avg_price) * closing * direction * self.multiplier
            remaining = self.qty + signed
            if abs(remaining) <= _FLAT_EPS * max(qty, abs(self.qty)):
                self.qty, self.avg_price = 0.0, math.nan
            elif (remaining > 0) == (self.qty > 0):
                self.qty = remaining  # reduced: average price unchanged
            else:
                self.qty, self.avg_price = remaining, price  # flipped: the rest opens at the fill price
        self.realised_pnl += realised
        self.fees += fee
        self.fills += 1
        return realised

    def mark_price(self, bid: float, ask: float) -> float:
        """The price that would close the position: bid for a long, ask for a short."""
        return bid if self.qty > 0 else ask

    def unrealised_pnl(self, bid: float, ask: float) -> float:
        if self.qty == 0.0:
            return 0.0
        return (self.mark_price(bid, ask) - self.avg_price) * self.qty * self.multiplier

    def net_pnl(self, bid: float, ask: float) -> float:
        return self.realised_pnl - self.fees + self.unrealised_pnl(bid, ask)

    def notional(self, bid: float, ask: float) -> float:
        return abs(self.qty) * self.mark_price(bid, ask) * self.multiplier if self.qty else 0.0

    def __repr__(self) -> str:
        return (
            f"Position({self.symbol!r}, qty={self.qty}, avg={self.avg_price}, realised={self.realised_pnl})"
        )


class Portfolio:
    """Positions by symbol, marks from quotes, totals per quote currency.

    Totals without a ``currency`` argument require every position to share one currency (mixing USD and ETH
    raises instead of adding them). A position without a mark yet makes unrealised totals NaN.
    """

    def __init__(
        self, instruments: InstrumentRegistry, starting_cash: dict[str, float] | None = None
    ) -> None:
        self._instruments = instruments
        self.starting_cash = dict(starting_cash or {})
        self.positions: dict[str, Position] = {}
        self._marks: dict[str, tuple[float, float]] = {}

    def position(self, symbol: str) -> Position:
        pos = self.positions.get(symbol)
        if pos is None:
            inst = self._instruments.get(symbol)
            pos = Position(symbol, inst.multiplier, inst.quote_currency)
            self.positions[symbol] = pos
        return pos

    def apply_fill(self, fill: OrderFilled) -> float:
        return self.position(fill.symbol).apply_fill(fill)

    def on_quote(self, symbol: str, bid: float, ask: float) -> None:
        self._marks[symbol] = (bid, ask)

    def _selected(self, currency: str | None) -> list[Position]:
        positions = list(self.positions.values())
        if currency is None:
            currencies = {p.currency for p in positions} | set(self.starting_cash)
            if len(currencies) > 1:
                raise PortfolioError(f"positions in several currencies {sorted(currencies)}: pass currency=")
            return positions
        return [p for p in positions if p.currency == currency]

    def _unrealised(self, pos: Position) -> float:
        if pos.qty == 0.0:
            return 0.0
        mark = self._marks.get(pos.symbol)
        return math.nan if mark is None else pos.unrealised_pnl(*mark)

    def realised_pnl(self, currency: str | None = None) -> float:
        return sum((p.realised_pnl for p in self._selected(currency)), 0.0)

    def fees(self, currency: str | None = None) -> float:
        return sum((p.fees for p in self._selected(currency)), 0.0)

    def unrealised_pnl(self, currency: str | None = None) -> float:
        return sum((self._unrealised(p) for p in self._selected(currency)), 0.0)

    def gross_notional(self, currency: str | None = None) -> float:
        total = 0.0
        for p in self._selected(currency):
            mark = self._marks.get(p.symbol)
            if p.qty != 0.0:
                total += math.nan if mark is None else p.notional(*mark)
        return total

    def equity(self, currency: str | None = None) -> float:
        """Starting cash + realised - fees + unrealised (in ``currency``)."""
        selected = self._selected(currency)
        if currency is None:
            cash = sum(self.starting_cash.values(), 0.0)
        else:
            cash = self.starting_cash.get(currency, 0.0)
        return cash + sum((p.realised_pnl - p.fees + self._unrealised(p) for p in selected), 0.0)
