"""Talking to agents from a plain program (a CLI, a notebook): one request to a REP/ROUTER alias."""

from __future__ import annotations

from typing import Any

import zmq

from agentcore import naming, wire
from agentcore.errors import ConfigError, RemoteError, RequestTimeout


def request(
    address: str, data: Any, *, ns_host: str = "127.0.0.1", ns_port: int = 9090, timeout: float = 5.0,
    type_: str = "", ctx: zmq.Context[Any] | None = None, network: str | None = None,
) -> Any:  # fmt: skip
    """Resolve ``<agent>.<alias>`` through the name server, send ``data`` and return the decoded reply.

    ``network``: whose endpoint to dial (default ``AGENTCORE_NETWORK``, else ``internal``)."""
    naming.configure_pyro(timeout)
    ns = naming.locate(ns_host, ns_port)
    pattern, endpoint = naming.resolve(ns, address, network)
    if pattern not in ("REP", "ROUTER"):
        raise ConfigError(f"{address} is a {pattern} socket: requests need a REP or ROUTER alias")
    context = ctx or zmq.Context.instance()
    sock = context.socket(zmq.REQ if pattern == "REP" else zmq.DEALER)
    sock.linger = 0
    try:
        _secure(sock, ns, address)
        sock.connect(endpoint)
        sock.send_multipart(wire.encode("", data, sender="client", seq=1, type_=type_))
        if not sock.poll(int(timeout * 1000)):
            raise RequestTimeout(f"no reply from {address} ({endpoint}) within {timeout}s")
        msg = wire.decode(sock.recv_multipart(copy=False))
    finally:
        sock.close()
    if msg.kind == wire.KIND_ERROR:
        raise RemoteError(f"{address}: {msg.data}")
    return msg.data


def _secure(sock: zmq.Socket[Any], ns: Any, address: str) -> None:
    """With ``AGENTCORE_SECURITY_DIR`` set: a CURVE client with this tool's identity (default ``operator``)."""
    from agentcore import security

    store = security.current()
    if store is None:
        return
    _uri, meta = ns.lookup(naming.split_address(address)[0], return_metadata=True)
    sock.curve_secretkey, sock.curve_publickey = store.secret, store.public
    sock.curve_serverkey = security.server_key(store, meta, address)
