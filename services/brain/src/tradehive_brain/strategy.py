"""Kept for strategies written against ``tradehive_brain.strategy``: the API lives in ``tradehive.strategy``."""

from tradehive.strategy import Strategy, StrategyContext

__all__ = ["Strategy", "StrategyContext"]
