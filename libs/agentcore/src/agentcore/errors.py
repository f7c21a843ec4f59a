"""The agentcore exception tree: one root, a communication branch beneath it."""

from __future__ import annotations


class AgentcoreError(Exception):
    """Root of every error raised by agentcore."""


class ConfigError(AgentcoreError):
    """Bad settings, topology or arguments: raised at start-up, never mid-run."""


class CommunicationError(AgentcoreError):
    """Something went wrong talking to another process."""


class NameServerError(CommunicationError):
    """The name server cannot be reached, or does not know a name."""


class ResolveError(CommunicationError):
    """An alias (``agent.alias``) cannot be resolved to an endpoint."""


class RequestTimeout(CommunicationError):
    """A request got no reply within its timeout."""


class RemoteError(CommunicationError):
    """The peer's handler raised while answering a request."""


class AccessDenied(CommunicationError):
    """Security on: the caller's certificate or key does not allow this call (e.g. steering without an
    operator certificate)."""


class Refused(AgentcoreError):
    """Raised by a REP/ROUTER handler to refuse a request: the peer gets an error reply (wire kind ``"e"``, raised
    there as :class:`RemoteError`); unlike any other exception it is not counted or logged as a handler failure
    (the handler counts and logs bad input itself)."""


class WireError(CommunicationError):
    """A multipart message does not follow the wire format (malformed or wrong version)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
