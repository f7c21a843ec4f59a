"""Instruments (what can be traded, with its price and size grid) and a small registry of them."""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import msgspec

from marketcore.errors import InstrumentError, UnknownSymbol

RoundMode = Literal["nearest", "down", "up"]

# Relative slack so that a price already on the grid (up to float noise) is not moved by "down"/"up".
_GRID_EPS = 1e-9


class Instrument(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A tradable instrument. Prices are in ``quote_currency`` per unit of ``base_currency``.

    ``size_step``/``min_size`` are in base units (e.g. 1 EUR, 1 XRP); ``multiplier`` converts price x qty to
    notional (1 for spot). ``default_qty`` is the order size a strategy trades when it is not told one (a
    sensible notional per symbol: 10,000 EUR, 0.2 BTC); 0 means none was set and :attr:`order_qty` falls back
    to the smallest tradable size.
    """

    symbol: str
    price_precision: int
    tick_size: float
    quote_currency: str
    base_currency: str
    size_step: float = 1.0
    min_size: float = 0.0
    multiplier: float = 1.0
    default_qty: float = 0.0

    def __post_init__(self) -> None:
        if not self.symbol:
            raise InstrumentError("instrument symbol must not be empty")
        if not 0 <= self.price_precision <= 15:
            raise InstrumentError(f"{self.symbol}: price_precision {self.price_precision} not in 0..15")
        for name in ("tick_size", "size_step", "multiplier"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise InstrumentError(f"{self.symbol}: {name} must be finite and > 0, got {value!r}")
        if not (math.isfinite(self.min_size) and self.min_size >= 0):
            raise InstrumentError(f"{self.symbol}: min_size must be finite and >= 0, got {self.min_size!r}")
        if not (math.isfinite(self.default_qty) and self.default_qty >= 0):
            raise InstrumentError(
                f"{self.symbol}: default_qty must be finite and >= 0, got {self.default_qty!r}"
            )
        if self.default_qty and not self.is_valid_size(self.default_qty):
            raise InstrumentError(
                f"{self.symbol}: default_qty {self.default_qty} is not a tradable size "
                f"(step {self.size_step}, min {self.min_size})"
            )
        if round(self.tick_size, self.price_precision) != self.tick_size:
            raise InstrumentError(
                f"{self.symbol}: tick_size {self.tick_size} is finer than "
                f"price_precision {self.price_precision}"
            )

    @property
    def order_qty(self) -> float:
        """The order size to trade when none is given: ``default_qty``, else the smallest tradable size."""
        return self.default_qty or max(self.min_size, self.size_step)

    def round_price(self, price: float, mode: RoundMode = "nearest") -> float:
        """``price`` on the tick grid: nearest tick, or the tick at/below ("down") or at/above ("up")."""
        return _to_grid(price, self.tick_size, self.price_precision, mode)

    def round_size(self, qty: float) -> float:
        """``qty`` rounded down to the size step (never trades more than asked)."""
        return _to_grid(qty, self.size_step, 12, "down")

    def is_valid_size(self, qty: float) -> bool:
        """True if ``qty`` is positive, at least ``min_size`` and on the size grid."""
        return math.isfinite(qty) and qty > 0 and qty >= self.min_size and _on_grid(qty, self.size_step)

    def notional(self, qty: float, price: float) -> float:
        """Absolute notional value of ``qty`` at ``price`` in the quote currency."""
        return abs(qty) * price * self.multiplier


def _to_grid(value: float, step: float, decimals: int, mode: RoundMode) -> float:
    if not math.isfinite(value):
        raise InstrumentError(f"cannot round non-finite value {value!r}")
    units = value / step
    if mode == "nearest":
        n = round(units)
    elif mode == "down":
        n = math.floor(units + _GRID_EPS * max(1.0, abs(units)))
    elif mode == "up":
        n = math.ceil(units - _GRID_EPS * max(1.0, abs(units)))
    else:
        raise InstrumentError(f"unknown rounding mode {mode!r}")
    return round(n * step, decimals)


def _on_grid(value: float, step: float) -> bool:
    units = value / step
    return abs(units - round(units)) <= _GRID_EPS * max(1.0, abs(units))


DEFAULT_INSTRUMENTS: tuple[Instrument, ...] = (
    # default_qty: about 10,000 USD of notional each (EUR ~1.1-1.4 USD; XRP ~0.0014 ETH, ~0.25 USD in the 2019
    # data; BTC ~60,000 USDT in the simulator): every symbol of a demo moves PnL by the same order of magnitude
    Instrument("EURUSD", 5, 0.00001, "USD", "EUR", size_step=1.0, min_size=1.0, default_qty=10_000.0),
    Instrument("NZDUSD", 5, 0.00001, "USD", "NZD", size_step=1.0, min_size=1.0, default_qty=10_000.0),
    Instrument("XRPETH", 8, 0.00000001, "ETH", "XRP", size_step=1.0, min_size=1.0, default_qty=40_000.0),
    Instrument("GBPUSD", 5, 0.00001, "USD", "GBP", size_step=1.0, min_size=1.0, default_qty=10_000.0),
    Instrument("BTCUSDT", 2, 0.01, "USDT", "BTC", size_step=0.0001, min_size=0.0001, default_qty=0.2),
)


class InstrumentRegistry:
    """Instruments by symbol. ``get`` raises :class:`UnknownSymbol` for a symbol it does not hold."""

    def __init__(self, instruments: Iterable[Instrument] = ()) -> None:
        self._by_symbol: dict[str, Instrument] = {}
        for instrument in instruments:
            self.add(instrument)

    @classmethod
    def default(cls) -> InstrumentRegistry:
        """A registry with the recorded data's symbols (EURUSD, NZDUSD, XRPETH) and the simulator's (GBPUSD, BTCUSDT)."""
        return cls(DEFAULT_INSTRUMENTS)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> InstrumentRegistry:
        """From ``{symbol: {field: value}}``, optionally nested under an ``instruments`` key.

        Unknown fields and wrong types raise :class:`InstrumentError`.
        """
        table = data.get("instruments", data)
        if not isinstance(table, Mapping):
            raise InstrumentError("instrument table must be a mapping of symbol -> fields")
        registry = cls()
        for symbol, fields in table.items():
            if not isinstance(fields, Mapping):
                raise InstrumentError(f"{symbol}: instrument fields must be a mapping")
            try:
                registry.add(msgspec.convert({"symbol": symbol, **fields}, Instrument))
            except msgspec.ValidationError as e:
                raise InstrumentError(f"{symbol}: {e}") from e
        return registry

    @classmethod
    def from_toml(cls, source: str | Path) -> InstrumentRegistry:
        """From a TOML file path or TOML text (``[instruments.EURUSD]`` tables or top-level tables)."""
        text = source.read_text() if isinstance(source, Path) else source
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise InstrumentError(f"invalid instrument TOML: {e}") from e
        return cls.from_mapping(data)

    def add(self, instrument: Instrument) -> None:
        if instrument.symbol in self._by_symbol:
            raise InstrumentError(f"duplicate instrument {instrument.symbol}")
        self._by_symbol[instrument.symbol] = instrument

    def get(self, symbol: str) -> Instrument:
        try:
            return self._by_symbol[symbol]
        except KeyError:
            raise UnknownSymbol(f"unknown symbol {symbol!r}") from None

    __getitem__ = get

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._by_symbol

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self._by_symbol.values())

    def __len__(self) -> int:
        return len(self._by_symbol)

    def symbols(self) -> list[str]:
        return sorted(self._by_symbol)
