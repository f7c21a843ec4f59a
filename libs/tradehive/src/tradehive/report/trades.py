"""Fills → round-trip trades and positions over time, per brain and symbol.

A *trade* runs from flat to flat on one (brain, symbol) book: it opens with the fill that leaves flat, grows or
shrinks with later fills, and closes with the fill that returns to zero. A fill that flips the position closes the
trade with the part that reaches zero and opens the next one with the rest (its fee split pro rata).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import msgspec

from tradehive.errors import TradehiveError


class ReportError(TradehiveError):
    """Inputs a report cannot be built from (no data, mixed currencies where one is needed, bad rows)."""


class Fill(msgspec.Struct, frozen=True):
    """One execution as the report sees it: signed by ``side`` (+1 buy, -1 sell)."""

    ts_ns: int
    brain: str
    symbol: str
    side: int
    qty: float
    price: float
    fee: float
    client_order_id: str
    currency: str = ""


class Trade(msgspec.Struct, frozen=True):
    brain: str
    symbol: str
    direction: str  # "long" | "short"
    entry_ns: int
    exit_ns: int
    qty: float  # the largest absolute position held during the trade
    entry_price: float  # volume-weighted price of the fills that opened or added to the position
    exit_price: float  # volume-weighted price of the fills that reduced it
    gross_pnl: float
    fees: float
    fills: int

    @property
    def net_pnl(self) -> float:
        return self.gross_pnl - self.fees


def brain_of(client_order_id: str) -> str:
    """The brain that placed an order, from its client id ``<brain>-<session>-<n>`` (bracket children add
    ``-sl`` / ``-tp``); an id of another shape is attributed to ``"other"``."""
    cid = client_order_id.removesuffix("-sl").removesuffix("-tp")
    parts = cid.rsplit("-", 2)
    return parts[0] if len(parts) == 3 and parts[0] else "other"


class _Open:
    __slots__ = (
        "pos",
        "entry_ns",
        "max_qty",
        "in_qty",
        "in_value",
        "out_qty",
        "out_value",
        "cash",
        "fees",
        "n",
    )

    def __init__(self, ts: int) -> None:
        self.pos = 0.0
        self.entry_ns = ts
        self.max_qty = 0.0
        self.in_qty = self.in_value = self.out_qty = self.out_value = 0.0
        self.cash = self.fees = 0.0
        self.n = 0


_EPS = 1e-9


def round_trips(fills: Iterable[Fill]) -> tuple[list[Trade], dict[tuple[str, str], float]]:
    """Closed trades in exit order, and the position still open per (brain, symbol)."""
    books: dict[tuple[str, str], _Open] = {}
    trades: list[Trade] = []
    for f in sorted(fills, key=lambda f: f.ts_ns):
        if not (f.qty > 0 and math.isfinite(f.price) and f.side in (1, -1)):
            raise ReportError(f"bad fill {f.client_order_id}: side {f.side}, qty {f.qty}, price {f.price}")
        key = (f.brain, f.symbol)
        remaining, fee_per_unit = f.qty, f.fee / f.qty
        while remaining > _EPS:
            book = books.get(key)
            if book is None or abs(book.pos) < _EPS:
                book = books[key] = _Open(f.ts_ns)
            opening = book.pos == 0.0 or math.copysign(1.0, book.pos) == f.side
            qty = remaining if opening else min(remaining, abs(book.pos))
            book.n += 1
            book.cash -= f.side * qty * f.price
            book.fees += fee_per_unit * qty
            if opening:
                book.in_qty += qty
                book.in_value += qty * f.price
            else:
                book.out_qty += qty
                book.out_value += qty * f.price
            book.pos += f.side * qty
            book.max_qty = max(book.max_qty, abs(book.pos))
            remaining -= qty
            if abs(book.pos) < _EPS:
                trades.append(_close(key, book, f.ts_ns, direction=1 if f.side < 0 else -1))
                del books[key]
    return trades, {k: b.pos for k, b in books.items() if abs(b.pos) >= _EPS}


def _close(key: tuple[str, str], book: _Open, ts: int, direction: int) -> Trade:
    return Trade(
        brain=key[0], symbol=key[1], direction="long" if direction > 0 else "short",
        entry_ns=book.entry_ns, exit_ns=ts, qty=book.max_qty,
        entry_price=book.in_value / book.in_qty, exit_price=book.out_value / book.out_qty,
        gross_pnl=book.cash, fees=book.fees, fills=book.n,
    )  # fmt: skip
