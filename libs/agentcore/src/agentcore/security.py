"""Who may talk to whom, at run time: CurveZMQ on every ZeroMQ socket and Pyro5 over mutual TLS.

Off unless a keys directory is configured (``AGENTCORE_SECURITY_DIR``): then nothing here runs and no socket
changes. On, each process is one *identity* (an agent's role, ``nameserver`` or an operator) from
:mod:`agentcore.keys`:

- every bound socket is a CURVE server whose ZAP domain is its alias; the agent's ZAP handler
  (:class:`zmq.auth.thread.ThreadAuthenticator`) admits only the public keys of the roles the policy lists for
  ``<role>.<alias>``; every connecting socket is a CURVE client of the server key the peer publishes in the
  name server (``curve:<z85 public key>``, checked against the keys directory's public keys);
- Pyro5 (name server and every agent daemon) speaks TLS and requires a client certificate signed by the CA;
  agent certificates (OU ``agent``) may only call ``policy.agent_methods``; everything else needs an operator
  certificate (OU ``operator``).

Refusals are counted in ``agentcore_security_refused_total{socket, reason}`` and logged (public keys and
certificate subjects only; never a secret).
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog
import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from agentcore.errors import AccessDenied, ConfigError
from agentcore.keys import NAMESERVER, OPERATOR, OU_OPERATOR, Policy, load_policy

CURVE_TAG = "curve:"
PYRO_SOCKET = "pyro"
log = structlog.get_logger("agentcore.security")


class Refusals:
    """Counts of refused peers by (socket, reason), shared by the ZAP thread, the monitor and Pyro's threads."""

    LOG_EVERY_S = 5.0  # a peer retrying every 100 ms is logged once per (socket, reason) in this interval

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[tuple[str, str], int] = {}
        self._logged: dict[tuple[str, str], float] = {}

    def add(self, socket: str, reason: str, **detail: Any) -> None:
        key = (socket, reason)
        now = time.monotonic()
        with self._lock:
            n = self.counts[key] = self.counts.get(key, 0) + 1
            quiet = now - self._logged.get(key, -1e9) < self.LOG_EVERY_S
            if not quiet:
                self._logged[key] = now
        if not quiet:
            log.warning("peer refused", socket=socket, reason=reason, refused_total=n, **detail)

    def snapshot(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self.counts)


class KeyStore:
    """One identity's view of a keys directory (nested layout, or the flat layout of a mounted k8s Secret)."""

    def __init__(self, directory: str | Path, identity: str) -> None:
        d = Path(directory)
        self.dir, self.identity = d, identity
        self.policy: Policy = load_policy(d / "policy.yaml")
        if identity not in self.policy.identities():
            raise ConfigError(f"identity {identity!r} is not in {d}/policy.yaml ({self.policy.identities()})")
        self.role = self.policy.role_of(identity)
        home = d / "identities" / identity
        own = (lambda n: home / n) if home.is_dir() else (lambda n: d / f"own.{n}")
        self.ca, self.cert, self.key = d / "ca.crt", own("tls.crt"), own("tls.key")
        for p in (self.ca, self.cert, self.key, own("curve.key_secret")):
            if not p.is_file():
                raise ConfigError(f"keys directory {d} lacks {p.name} for identity {identity!r}")
        try:
            self.public, self.secret = zmq.auth.load_certificate(str(own("curve.key_secret")))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot load the Curve key pair of {identity!r}: {exc}") from exc
        if self.secret is None:
            raise ConfigError(f"{own('curve.key_secret')} holds no secret key")
        self._loaded = 0.0
        self.known: dict[bytes, str] = {}
        self.reload_public()

    def reload_public(self) -> None:
        """Re-read the public keys (a rotated key is admitted without restarting the servers)."""
        known: dict[bytes, str] = {}
        flat = not (self.dir / "public").is_dir()
        files = self.dir.glob("public.*.key") if flat else (self.dir / "public").glob("*.key")
        for path in files:
            identity = path.name[len("public.") : -4] if flat else path.stem
            try:
                pub, _ = zmq.auth.load_certificate(str(path))
            except (OSError, ValueError):
                continue
            known[pub] = identity
        self.known = known
        self._loaded = time.monotonic()

    def identity_of(self, public_key: bytes, reload_after: float = 1.0) -> str | None:
        found = self.known.get(public_key)
        if found is None and time.monotonic() - self._loaded > reload_after:
            self.reload_public()
            found = self.known.get(public_key)
        return found


class _AllowList:
    """The ZAP callback of one bound socket (one domain)."""

    def __init__(self, store: KeyStore, alias: str, roles: frozenset[str] | None, refusals: Refusals) -> None:
        self.store, self.alias, self.roles, self.refusals = store, alias, roles, refusals

    def callback(self, domain: str, key: bytes) -> bool:
        raw = zmq.utils.z85.decode(key) if len(key) == 40 else key
        z85 = zmq.utils.z85.encode(raw) if len(raw) == 32 else key
        identity = self.store.identity_of(z85)
        if identity is None:
            self.refusals.add(self.alias, "unknown_key", public_key=z85.decode(errors="replace"))
            return False
        role = self.store.policy.role_of(identity)
        if self.roles is not None and role not in self.roles:
            self.refusals.add(self.alias, "role_not_allowed", peer=identity)
            return False
        return True


_PROTOCOL_REASONS = {
    getattr(zmq, "PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH", 0x11000001): "no_curve",
    getattr(zmq, "PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC", 0x11000002): "bad_handshake",
}


class CurveFabric:
    """The ZeroMQ half for one agent process: server and client set-up of its sockets, its ZAP handler."""

    def __init__(self, store: KeyStore, ctx: zmq.Context[Any], refusals: Refusals, name: str) -> None:
        self.store, self.ctx, self.refusals, self.name = store, ctx, refusals, name
        self.auth = ThreadAuthenticator(ctx, log=structlog.get_logger("agentcore.zap"))
        self.auth.start()
        self.server_keys: dict[str, bytes] = {}  # local alias -> the server key it was connected with

    def server(self, sock: zmq.Socket[Any], alias: str) -> None:
        """Make ``sock`` (about to be bound) a CURVE server admitting only the policy's roles."""
        roles = self.store.policy.allowed(self.store.role, alias)
        self.auth.configure_curve_callback(alias, _AllowList(self.store, alias, roles, self.refusals))
        sock.curve_secretkey = self.store.secret
        sock.curve_publickey = self.store.public
        sock.curve_server = True
        sock.zap_domain = alias.encode()

    # failed handshakes on bound sockets (a peer without CURVE, or with the wrong server key) never reach the ZAP
    # handler: the agent's socket monitor hands them here. libzmq reports some without detail.
    HANDSHAKE_EVENTS = zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL

    def on_event(self, alias: str, event: dict[str, Any]) -> None:
        """A monitor event of the bound socket ``alias``: a failed handshake is counted as a refusal."""
        if event["event"] == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
            reason = _PROTOCOL_REASONS.get(event["value"], "protocol")
        elif event["event"] == zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            reason = "handshake"
        else:
            return
        self.refusals.add(alias, reason, peer_endpoint=event["endpoint"].decode(errors="replace"))

    def client(self, sock: zmq.Socket[Any], alias: str, server_key: bytes) -> None:
        """Make ``sock`` (about to connect) a CURVE client of ``server_key``."""
        sock.curve_secretkey = self.store.secret
        sock.curve_publickey = self.store.public
        sock.curve_serverkey = server_key
        self.server_keys[alias] = server_key

    def server_key_from(self, metadata: set[str] | list[str], address: str) -> bytes:
        return server_key(self.store, metadata, address)

    def tags(self) -> set[str]:
        return {CURVE_TAG + self.store.public.decode()}

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.auth.stop()


def server_key(store: KeyStore, metadata: set[str] | list[str], address: str) -> bytes:
    """The peer's public key from its name-server tags, accepted only if the keys directory knows it."""
    tag = next((t[len(CURVE_TAG) :] for t in metadata if t.startswith(CURVE_TAG)), None)
    if tag is None:
        raise ConfigError(f"{address}: the peer publishes no Curve key (is its security on?)")
    key = tag.encode()
    if store.identity_of(key) is None:
        raise ConfigError(f"{address}: the peer's Curve key is not in {store.dir}/public")
    return key


# -------------------------------------------------------------------------------------------- Pyro5 over TLS
class _CountingSSLSocket(ssl.SSLSocket):
    """The listening socket of a TLS Pyro daemon: a failed handshake (no or a foreign certificate) is counted."""

    refusals: Refusals | None = None

    def accept(self) -> tuple[Any, Any]:
        try:
            return super().accept()
        except (ssl.SSLError, OSError) as exc:
            if self.refusals is not None and isinstance(exc, ssl.SSLError):
                reason = (
                    "no_client_cert"
                    if "CERTIFICATE_REQUIRED" in str(exc) or "PEER_DID_NOT" in str(exc)
                    else "bad_certificate"
                    if "CERTIFICATE" in str(exc).upper()
                    else "tls"
                )
                self.refusals.add(PYRO_SOCKET, reason, error=type(exc).__name__)
            raise


def _contexts(store: KeyStore, refusals: Refusals | None) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(store.ca))
    server.load_cert_chain(str(store.cert), str(store.key))
    server.verify_mode = ssl.CERT_REQUIRED
    counting = type("CountingSSLSocket", (_CountingSSLSocket,), {"refusals": refusals})
    server.sslsocket_class = counting
    client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(store.ca))
    client.load_cert_chain(str(store.cert), str(store.key))
    return server, client


def configure_pyro_tls(store: KeyStore, refusals: Refusals | None = None) -> None:
    """Process-wide: Pyro5 speaks TLS with this identity's certificate, both ways, and requires a client's.

    Pyro5 builds its SSL contexts once per process and caches them; ours are put in that cache so that an
    identity set up after a fork (the launcher forks agents) replaces the parent's, and so that refused
    handshakes are counted.
    """
    import Pyro5
    from Pyro5 import socketutil

    cfg: Any = Pyro5.config
    cfg.SSL = True
    cfg.SSL_REQUIRECLIENTCERT = True
    cfg.SSL_SERVERCERT = cfg.SSL_CLIENTCERT = str(store.cert)
    cfg.SSL_SERVERKEY = cfg.SSL_CLIENTKEY = str(store.key)
    cfg.SSL_CACERTS = str(store.ca)
    server, client = _contexts(store, refusals)
    setattr(socketutil, "__ssl_server_context", server)  # noqa: B010 - Pyro5's module-level cache
    setattr(socketutil, "__ssl_client_context", client)  # noqa: B010


def caller_kind() -> str | None:
    """``operator``/``agent`` for the certificate of the Pyro client calling now; None outside a Pyro call."""
    from Pyro5.callcontext import current_context

    conn = current_context.client
    if conn is None:
        return None
    kind = getattr(conn, "_agentcore_kind", None)
    if kind is None:
        cert = conn.sock.getpeercert() if hasattr(conn.sock, "getpeercert") else None
        ous = [v for rdn in (cert or {}).get("subject", ()) for k, v in rdn if k == "organizationalUnitName"]
        kind = OPERATOR if OU_OPERATOR in ous else "agent" if cert else "anonymous"
        with contextlib.suppress(AttributeError):
            conn._agentcore_kind = kind
    return str(kind)


def method_guard(store: KeyStore, refusals: Refusals) -> Callable[[str], None]:
    """The check run before every ``@remote`` method of a secured agent."""
    allowed = frozenset(store.policy.agent_methods)

    def guard(method: str) -> None:
        kind = caller_kind()
        if kind is None or kind == OPERATOR or (kind == "agent" and method in allowed):
            return
        refusals.add(PYRO_SOCKET, "not_operator", method=method, caller=kind)
        raise AccessDenied(f"{method} needs an operator certificate")

    return guard


# -------------------------------------------------------------------------------------------- process set-up
_process: KeyStore | None = None


def configure_process(directory: str, identity: str, refusals: Refusals | None = None) -> KeyStore:
    """Load ``identity`` from ``directory`` and make this process's Pyro5 use it (replaces any earlier one)."""
    global _process
    store = KeyStore(directory, identity)
    configure_pyro_tls(store, refusals)
    _process = store
    return store


def configure_from_env(default_identity: str = OPERATOR) -> KeyStore | None:
    """For tools (CLI, clients): ``AGENTCORE_SECURITY_DIR`` (+ ``AGENTCORE_IDENTITY``) if set; else nothing."""
    import os

    if _process is not None:
        return _process
    directory = os.environ.get("AGENTCORE_SECURITY_DIR", "")
    if not directory:
        return None
    return configure_process(directory, os.environ.get("AGENTCORE_IDENTITY", "") or default_identity)


def current() -> KeyStore | None:
    return _process


def for_nameserver(directory: str) -> KeyStore:
    return configure_process(directory, NAMESERVER, Refusals())


class RefusalCollector:
    """``agentcore_security_refused_total{agent, socket, reason}`` at scrape time."""

    def __init__(self, agent: str, refusals: Refusals) -> None:
        self.agent, self.refusals = agent, refusals

    def collect(self) -> Any:
        from prometheus_client.core import CounterMetricFamily

        fam = CounterMetricFamily(
            "agentcore_security_refused", "Peers refused by CurveZMQ or Pyro5 TLS, by socket and reason",
            labels=["agent", "socket", "reason"],
        )  # fmt: skip
        for (sock, reason), n in sorted(self.refusals.snapshot().items()):
            fam.add_metric([self.agent, sock, reason], n)
        yield fam


def enable_agent(agent: Any) -> None:
    """Security on for an agent about to start: Pyro TLS, the ZAP handler, the method guard, the metric."""
    s = agent.settings
    refusals = Refusals()
    try:
        store = configure_process(s.security_dir, s.identity or agent.role, refusals)
    except ConfigError:
        raise
    agent._security = CurveFabric(store, agent.ctx, refusals, agent.name)
    agent._call_guard = method_guard(store, refusals)
    agent.metrics.registry.register(RefusalCollector(agent.name, refusals))
    agent.log.info("security on", identity=store.identity, role=store.role, keys=str(store.dir))


def deconfigure() -> None:
    """Back to plain Pyro5 in this process (tests switch identities; a tool may drop its identity)."""
    global _process
    import Pyro5
    from Pyro5 import socketutil

    cfg: Any = Pyro5.config
    cfg.SSL = False
    cfg.SSL_REQUIRECLIENTCERT = False
    cfg.SSL_SERVERCERT = cfg.SSL_CLIENTCERT = cfg.SSL_SERVERKEY = cfg.SSL_CLIENTKEY = cfg.SSL_CACERTS = ""
    setattr(socketutil, "__ssl_server_context", None)  # noqa: B010 - Pyro5's module-level cache
    setattr(socketutil, "__ssl_client_context", None)  # noqa: B010
    _process = None
