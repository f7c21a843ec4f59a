"""tradehive.loader.make_strategy: a built-in by name, any class by module:Class, clear errors otherwise."""

from __future__ import annotations

import pytest
from tradehive.loader import StrategyLoadError, make_strategy
from tradehive.strategy import Strategy
from tradehive_brain.strategies import BUILTIN, EmaCross


class _Ctx:
    name = "b1"
    warming_up = False


def test_builtin_and_importable() -> None:
    s = make_strategy("ema_cross", BUILTIN, _Ctx(), {"fast": 3})  # type: ignore[arg-type]
    assert isinstance(s, EmaCross) and s.params["fast"] == 3
    s2 = make_strategy("tradehive_brain.strategies:VolatilityRegime", BUILTIN, _Ctx(), {})  # type: ignore[arg-type]
    assert isinstance(s2, Strategy) and s2.name == "regime"


def test_unknown_and_bad_parameters_are_strategy_errors() -> None:
    with pytest.raises(StrategyLoadError, match="unknown strategy 'nope'"):
        make_strategy("nope", BUILTIN, _Ctx(), {})  # type: ignore[arg-type]
    with pytest.raises(StrategyLoadError, match="no parameter"):
        make_strategy("ema_cross", BUILTIN, _Ctx(), {"speed": 1})  # type: ignore[arg-type]
