"""The FIX adapter's exceptions: one root (a marketcore ``VenueError``, so the trader's handling applies)."""

from __future__ import annotations

from marketcore.errors import VenueError


class FixError(VenueError):
    """Root of every error raised on purpose by the FIX adapter."""


class FixConfigError(FixError, ValueError):
    """Session settings that are missing, unknown or invalid (the message names the setting)."""


class FixSessionError(FixError):
    """The FIX session cannot do what was asked (not logged on, engine failure); causes are chained."""


class FixRejected(FixError):
    """The counterparty refused a message (session Reject 35=3 or BusinessMessageReject 35=j)."""


__all__ = ["FixConfigError", "FixError", "FixRejected", "FixSessionError"]
