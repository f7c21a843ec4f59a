"""The tradehive exception root: every error raised by the tradehive library derives from it."""

from __future__ import annotations


class TradehiveError(Exception):
    """Root of every error raised by tradehive (protocol, status, recovery...)."""


__all__ = ["TradehiveError"]
