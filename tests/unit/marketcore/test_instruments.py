"""Instruments: defaults, rounding to the tick grid, size grid, loading from dict/TOML, bad definitions."""

from __future__ import annotations

import pytest
from marketcore.errors import InstrumentError, MarketcoreError, UnknownSymbol
from marketcore.instruments import Instrument, InstrumentRegistry


def test_defaults_and_unknown_symbol() -> None:
    reg = InstrumentRegistry.default()
    assert reg.symbols() == ["BTCUSDT", "EURUSD", "GBPUSD", "NZDUSD", "XRPETH"]
    e, x = reg["EURUSD"], reg.get("XRPETH")
    assert (e.price_precision, e.tick_size, e.quote_currency) == (5, 0.00001, "USD")
    assert (x.price_precision, x.tick_size, x.quote_currency, x.base_currency) == (8, 1e-8, "ETH", "XRP")
    with pytest.raises(UnknownSymbol, match="BTCUSD") as info:
        reg.get("BTCUSD")
    assert isinstance(info.value, MarketcoreError)


def test_price_rounding_to_tick() -> None:
    e = InstrumentRegistry.default()["EURUSD"]
    assert e.round_price(1.391474) == 1.39147
    assert e.round_price(1.391476) == 1.39148
    assert e.round_price(1.39147, "down") == 1.39147 and e.round_price(1.39147, "up") == 1.39147
    assert e.round_price(1.391471, "up") == 1.39148 and e.round_price(1.391479, "down") == 1.39147
    quarter = Instrument("ES", 2, 0.25, "USD", "IDX", multiplier=50.0)
    assert quarter.round_price(4000.13) == 4000.25 and quarter.round_price(4000.12) == 4000.0
    with pytest.raises(InstrumentError):
        e.round_price(float("nan"))


def test_size_grid() -> None:
    x = InstrumentRegistry.default()["XRPETH"]
    assert x.round_size(10.7) == 10.0 and x.is_valid_size(10.0) and not x.is_valid_size(10.5)
    assert not x.is_valid_size(0.0)
    assert Instrument("E", 5, 0.00001, "USD", "EUR", size_step=0.01).is_valid_size(0.07)


def test_load_from_toml_and_dict() -> None:
    reg = InstrumentRegistry.from_toml(
        """
        [instruments.GBPUSD]
        price_precision = 5
        tick_size = 0.00001
        quote_currency = "USD"
        base_currency = "GBP"
        min_size = 1000.0
        """
    )
    assert reg["GBPUSD"].min_size == 1000.0 and len(reg) == 1
    reg2 = InstrumentRegistry.from_mapping(
        {
            "BTCUSDT": {
                "price_precision": 2,
                "tick_size": 0.01,
                "quote_currency": "USDT",
                "base_currency": "BTC",
            }
        }
    )
    assert "BTCUSDT" in reg2
    with pytest.raises(InstrumentError, match="unknown"):
        InstrumentRegistry.from_mapping(
            {
                "X": {
                    "price_precision": 2,
                    "tick_size": 0.01,
                    "quote_currency": "U",
                    "base_currency": "B",
                    "colour": "red",
                }
            }
        )
    with pytest.raises(InstrumentError):
        InstrumentRegistry.from_toml("not = [toml")


@pytest.mark.parametrize(
    "kw",
    [
        {"tick_size": 0.0},
        {"tick_size": 0.000001},  # finer than 5 decimals
        {"price_precision": -1},
        {"multiplier": float("inf")},
        {"min_size": -1.0},
        {"symbol": ""},
    ],
)
def test_bad_instrument_raises(kw: dict[str, object]) -> None:
    args: dict[str, object] = {
        "symbol": "E",
        "price_precision": 5,
        "tick_size": 0.00001,
        "quote_currency": "USD",
        "base_currency": "EUR",
    }
    args.update(kw)
    with pytest.raises(InstrumentError):
        Instrument(**args)  # type: ignore[arg-type]


def test_duplicate_registration_raises() -> None:
    reg = InstrumentRegistry.default()
    with pytest.raises(InstrumentError, match="duplicate"):
        reg.add(reg["EURUSD"])


def test_default_order_size_per_instrument() -> None:
    reg = InstrumentRegistry.default()
    assert reg.get("EURUSD").order_qty == 10_000.0 and reg.get("BTCUSDT").order_qty == 0.2
    for inst in reg:  # each a tradable size
        assert inst.is_valid_size(inst.order_qty), inst.symbol
    bare = Instrument("ABCXYZ", 2, 0.01, "XYZ", "ABC", size_step=0.001, min_size=0.01)
    assert bare.default_qty == 0.0 and bare.order_qty == 0.01  # none set: the smallest tradable size
    loaded = InstrumentRegistry.from_mapping({"ABCXYZ": {"price_precision": 2, "tick_size": 0.01,
                                                         "quote_currency": "XYZ", "base_currency": "ABC",
                                                         "size_step": 0.001, "default_qty": 1.5}})  # fmt: skip
    assert loaded.get("ABCXYZ").order_qty == 1.5
    with pytest.raises(InstrumentError, match="default_qty 0.0005 is not a tradable size"):
        Instrument("ABCXYZ", 2, 0.01, "XYZ", "ABC", size_step=0.001, default_qty=0.0005)
    with pytest.raises(InstrumentError, match="default_qty must be finite and >= 0"):
        Instrument("ABCXYZ", 2, 0.01, "XYZ", "ABC", default_qty=-1.0)
