"""The Agent base class: one process, one loop, sockets by alias, remote control through Pyro5.

Subclasses override :meth:`Agent.on_init` (bind/connect, timers), optionally :meth:`Agent.on_stop` and
:meth:`Agent.ready_check`, and mark remotely callable methods with :func:`agentcore.remote`. All user code runs
in the loop thread; Pyro calls and helper threads reach it through :meth:`Agent.safe_call`.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, cast

import msgspec
import Pyro5.api
import Pyro5.errors
import zmq

from agentcore import lifecycle, logs, naming, wire
from agentcore.errors import (
    AgentcoreError,
    ConfigError,
    NameServerError,
    RemoteError,
    RequestTimeout,
    ResolveError,
)
from agentcore.http import HealthServer
from agentcore.loop import ControlChannel, Timers
from agentcore.metrics import AgentMetrics
from agentcore.monitor import SocketMonitor
from agentcore.registrar import Registrar
from agentcore.remoting import idempotent_methods, import_object, remote
from agentcore.settings import AgentSettings, NoConfig
from agentcore.sockets import (
    PATTERNS,
    PEER,
    RECEIVING,
    BatchHandler,
    Channel,
    Handler,
    TopicHandlers,
    check_pattern,
)
from agentcore.wire import Message

if TYPE_CHECKING:
    from agentcore.security import CurveFabric

HandlerSpec = Handler | BatchHandler | str | Mapping[str, Handler | BatchHandler | str] | None
MAX_POLL_MS = 100


class Agent:
    """Base class of every agent. ``role`` names it in the name server; ``Config`` types its own settings."""

    role: ClassVar[str] = "agent"
    Config: ClassVar[type[msgspec.Struct]] = NoConfig
    config_prefix: ClassVar[str] = ""  # env prefix of Config (e.g. "MYAPP_WORKER_"); "" = not read from env
    remote_attributes: ClassVar[tuple[str, ...]] = ()  # attributes get_attr/set_attr may read and change
    _call_guard: Callable[[str], None] | None = None  # security on: checks the caller of every @remote method

    def __init__(
        self, name: str, settings: AgentSettings | None = None, config: msgspec.Struct | None = None
    ) -> None:
        if not name or "." in name or "/" in name:
            raise ConfigError(f"agent name {name!r} must be non-empty and hold no '.' or '/'")
        self.name = name
        self.settings = settings if settings is not None else AgentSettings()
        self.config: Any = config if config is not None else self.Config()
        self.log = logs.get(self.role)  # agent and role come from contextvars bound at start
        self.metrics = AgentMetrics(name, self.role)
        self.errors = 0
        self._last_errors: list[str] = []
        self._channels: dict[str, Channel] = {}
        self._by_socket: dict[zmq.Socket[Any], Channel] = {}
        self._connected: dict[str, tuple[str, str, str]] = {}  # local alias -> (address, pattern, endpoint)
        self._timers = Timers()
        self._pass_end: list[Callable[[], Any]] = []
        self._stopping = threading.Event()
        self._loop_thread: int | None = None
        self._next_port = self.settings.port_base
        self._started = time.time()
        self._heartbeat = time.monotonic()
        self._ns: Any = None
        self.ctx: zmq.Context[Any] | None = None
        self._poller = zmq.Poller()
        self._control: ControlChannel | None = None
        self._daemon: Pyro5.api.Daemon | None = None
        self._http: HealthServer | None = None
        self._registrar: Registrar | None = None
        self.connections: list[dict[str, Any]] = []  # connections a topology asks for, made after on_init
        self._security: CurveFabric | None = None  # security on (settings.security_dir): CurveZMQ set-up
        self._monitor: SocketMonitor | None = None  # libzmq's events of every socket: lost peers, handshakes
        self.host = naming.advertised_host(
            self.settings.bind_host, self.settings.advertise_host, self.settings.ns_host
        )

    # ------------------------------------------------------------------------------------------ user hooks
    def on_init(self) -> None:
        """Bind, connect and set timers here. Runs in the loop thread before the agent registers."""

    def on_stop(self) -> None:
        """Release resources; runs in the loop thread before the sockets close."""

    def ready_check(self) -> tuple[bool, str]:
        """Extra readiness (data fresh, peers connected...); read from the HTTP thread, so only read state."""
        return True, ""

    def extra_status(self) -> dict[str, Any]:
        """Role-specific fields merged into :meth:`status`."""
        return {}

    def on_gap(self, alias: str, msg: Message, last: int | None) -> None:
        """Called in the loop *before* ``msg`` is handled when its sequence number shows missed messages on its
        (sender, topic): ``last`` is the previous number seen there, or None when ``msg`` is the first message
        seen and numbered above 1 (this agent joined a stream already running). Gaps are also counted in
        ``agentcore_sequence_gaps``; override to recover what was missed (the default does nothing)."""

    def report_error(self, where: str, exc: BaseException) -> None:
        """Count and log a failure a handler caught itself (bad input it dropped): shown in ``status()``'s
        ``errors``/``last_errors`` like the failures the loop catches."""
        self.errors += 1
        text = f"{where}: {type(exc).__name__}: {exc}"
        self._last_errors = [*self._last_errors[-9:], text]
        self.log.error("handler failed", where=where, error=f"{type(exc).__name__}: {exc}", exc_info=exc)

    def last_seq(self, alias: str, sender: str, topic: str) -> int | None:
        """The last sequence number received on ``alias`` from ``sender`` on ``topic`` (None: nothing yet)."""
        return self._channel(alias).last_seq(sender, topic)

    # ------------------------------------------------------------------------------------------ sockets
    def _new_socket(self, pattern: str) -> zmq.Socket[Any]:
        assert self.ctx is not None, "sockets exist only while the agent runs"
        sock: zmq.Socket[Any] = self.ctx.socket(PATTERNS[pattern])
        sock.linger = self.settings.linger_ms
        sock.sndhwm = self.settings.sndhwm
        sock.rcvhwm = self.settings.rcvhwm
        if self.settings.max_msg_size > 0:
            sock.setsockopt(zmq.MAXMSGSIZE, self.settings.max_msg_size)
        if pattern in ("DEALER", "ROUTER", "REQ"):
            sock.setsockopt(zmq.HEARTBEAT_IVL, 2000)
            sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, 6000)
        return sock

    def _resolve_handlers(self, handler: HandlerSpec) -> TopicHandlers | None:
        if handler is None:
            return None
        table = handler if isinstance(handler, Mapping) else {"": handler}
        return TopicHandlers({prefix: self._resolve_handler(h) for prefix, h in table.items()})

    def _resolve_handler(self, handler: Handler | BatchHandler | str) -> Handler:
        """A callable, a method name of this agent, or ``module:function`` (called as ``function(agent, msg)``)."""
        if callable(handler):
            return cast(Handler, handler)  # a batch handler is told apart by its mark (sockets.batch_handler)
        if ":" in handler:
            try:
                return functools.partial(import_object(handler), self)
            except (ImportError, AttributeError, ValueError) as exc:
                raise ConfigError(f"cannot import handler {handler!r}: {exc}") from exc
        method = getattr(self, handler, None)
        if not callable(method):
            raise ConfigError(f"{type(self).__name__} has no handler method {handler!r}")
        return method  # type: ignore[no-any-return]

    def _add_channel(self, sock: zmq.Socket[Any], alias: str, pattern: str, handler: HandlerSpec) -> Channel:
        if alias in self._channels:
            raise ConfigError(f"alias {alias!r} is already used by this agent")
        stats = self.metrics.socket(alias, pattern)
        on_gap = (
            self.on_gap if type(self).on_gap is not Agent.on_gap else None
        )  # no hook call unless overridden
        chan = Channel(
            sock, alias, pattern, stats, self.name, self._resolve_handlers(handler), self.report_error, on_gap
        )
        self._channels[alias] = chan
        self._by_socket[sock] = chan
        if pattern in RECEIVING:
            self._poller.register(sock, zmq.POLLIN)
        if self._monitor is not None:
            events = zmq.EVENT_DISCONNECTED
            if self._security is not None and sock.get(zmq.CURVE_SERVER):
                events |= self._security.HANDSHAKE_EVENTS
            self._monitor.watch(sock, alias, events)
        return chan

    def _on_socket_event(self, alias: str, event: dict[str, Any]) -> None:
        """libzmq's monitor (its own thread): a lost peer is counted on the alias (the only writer of that
        counter); a failed handshake goes to security. A message over ``max_msg_size`` shows up here only as a
        lost peer: libzmq 4.3 reports nothing more specific (agentcore.monitor)."""
        if event["event"] == zmq.EVENT_DISCONNECTED:
            stats = self.metrics.sockets.get(alias)
            if stats is not None:
                stats.disconnects += 1
        elif self._security is not None:
            self._security.on_event(alias, event)

    def bind(
        self, pattern: str, alias: str, handler: HandlerSpec = None, transport: str | None = None
    ) -> str:
        """Bind a socket under ``alias`` (published as ``<name>.<alias>``); returns the advertised endpoint."""
        pattern = check_pattern(pattern)
        transport = transport or self.settings.transport
        sock = self._new_socket(pattern)
        if self._security is not None:
            self._security.server(sock, alias)
        if transport == "ipc":
            os.makedirs(self.settings.ipc_dir, exist_ok=True)
            path = os.path.join(self.settings.ipc_dir, f"{self.name}.{alias}")
            if os.path.exists(path):
                os.unlink(path)  # left by a crashed predecessor under the same name
            sock.bind(f"ipc://{path}")
            endpoint = f"ipc://{path}"
        elif transport == "tcp":
            host = self.settings.bind_host
            if self._next_port:
                sock.bind(f"tcp://{host}:{self._next_port}")
                port = self._next_port
                self._next_port += 1
            else:
                port = sock.bind_to_random_port(f"tcp://{host}")
            endpoint = f"tcp://{self.host}:{port}"
        else:
            sock.close(linger=0)
            raise ConfigError(f"unknown transport {transport!r} (tcp or ipc)")
        chan = self._add_channel(sock, alias, pattern, handler)
        chan.endpoints.append(endpoint)
        self._publish_metadata()
        self.log.debug("bound", alias=alias, pattern=pattern, endpoint=endpoint)
        return endpoint

    def connect(
        self,
        address: str,
        handler: HandlerSpec = None,
        alias: str | None = None,
        pattern: str | None = None,
        timeout: float = 10.0,
        server_key: bytes | None = None,
    ) -> str:
        """Connect to ``<agent>.<alias>`` (resolved through the name server) or to a raw endpoint.

        For SUB sockets ``handler`` may map topic prefixes to handlers; only those prefixes are subscribed.
        Returns the local alias to use with :meth:`send` / :meth:`request`. With security on, the peer's Curve
        key comes from its name-server tags (``server_key=`` for a raw endpoint).
        """
        local = alias or address
        if "://" in address:
            if pattern is None:
                raise ConfigError("connecting to a raw endpoint needs pattern= (the local socket pattern)")
            mine, endpoint = check_pattern(pattern), address
        else:
            remote_pattern, endpoint = self._resolve_wait(address, timeout)
            mine = PEER[remote_pattern]
            if pattern is not None and check_pattern(pattern) != mine:
                raise ConfigError(f"{address} is {remote_pattern}; cannot connect a {pattern} to it")
        sock = self._new_socket(mine)
        chan = self._add_channel(sock, local, mine, handler)
        if mine == "SUB":
            prefixes = chan.handlers.prefixes if chan.handlers is not None else [""]
            for prefix in prefixes:
                sock.setsockopt(zmq.SUBSCRIBE, prefix.encode())
        if self._security is not None:
            self._secure_client(sock, local, address, server_key)
        sock.connect(endpoint)
        chan.endpoints.append(endpoint)
        if "://" not in address:
            self._connected[local] = (address, mine, endpoint)
            self._publish_metadata()  # the registrar follows this peer if it moves (also for late connects)
        self.log.debug("connected", alias=local, address=address, endpoint=endpoint)
        return local

    def _secure_client(self, sock: zmq.Socket[Any], local: str, address: str, key: bytes | None) -> None:
        assert self._security is not None
        if key is None:
            if "://" in address:
                raise ConfigError(
                    f"security is on: connecting to the raw endpoint {address} needs server_key="
                )
            _uri, meta = self._nameserver().lookup(naming.split_address(address)[0], return_metadata=True)
            key = self._security.server_key_from(meta, address)
        self._security.client(sock, local, key)

    def _resolve_wait(self, address: str, timeout: float) -> tuple[str, str]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return naming.resolve(self._nameserver(), address, self.settings.network)
            except (ResolveError, NameServerError) as exc:
                if time.monotonic() >= deadline:
                    raise ResolveError(f"could not resolve {address!r} within {timeout}s: {exc}") from exc
                self._ns = None if isinstance(exc, NameServerError) else self._ns
                time.sleep(0.05)

    def discover(self, role: str) -> dict[str, set[str]]:
        """``{name: metadata}`` of the live registrations of ``role`` (blocks up to comm_timeout)."""
        try:
            found = naming.list_agents(self._nameserver(), role)
        except NameServerError:
            self._ns = None
            raise
        return {name: meta for name, (_uri, meta) in found.items()}

    def _nameserver(self) -> Any:
        if self._ns is None:
            self._ns = naming.locate(self.settings.ns_host, self.settings.ns_port)
        return self._ns

    def _reconnect(self, alias: str, endpoint: str) -> None:
        """Follow a peer that came back at another endpoint (called in the loop by the registrar)."""
        entry = self._connected.get(alias)
        chan = self._channels.get(alias)
        if entry is None or chan is None or entry[2] == endpoint:
            return
        address, pattern, old = entry
        chan.sock.disconnect(old)
        chan.sock.connect(endpoint)
        chan.endpoints = [endpoint]
        self._connected[alias] = (address, pattern, endpoint)
        self.log.info("reconnected", alias=alias, old=old, new=endpoint)

    def send(self, alias: str, data: Any, topic: str = "", type_: str = "", origin_ns: int = 0) -> bool:
        """Send on a PUB/PUSH/DEALER (or any) socket; False when a full queue refused the message.

        ``origin_ns``: when the data entered the system (ns since the epoch; 0 = none), carried in the header
        so that receivers further down can measure end-to-end latency (``Message.origin_ns``).
        """
        return self._channel(alias).send(data, topic, type_, origin_ns=origin_ns)

    def reply_later(self, alias: str) -> Callable[[Any], bool]:
        """Inside the handler of the ROUTER socket ``alias``: a function that answers the request being handled
        later, from the loop (a timer, another handler); the handler returns None so that nothing is sent now."""
        return self._channel(alias).reply_later()

    def request(self, alias: str, data: Any, timeout: float = 2.0, type_: str = "") -> Any:
        """Ask a REP peer and wait (the loop waits too) for the answer; raises :class:`RequestTimeout`."""
        chan = self._channel(alias)
        if chan.pattern != "REQ":
            raise ConfigError(f"alias {alias!r} is a {chan.pattern} socket, not REQ")
        chan.send(data, type_=type_)
        if chan.sock.poll(int(timeout * 1000), zmq.POLLIN):
            frames = chan.sock.recv_multipart(copy=False)
            msg = wire.decode(frames)
            chan.stats.received += 1
            chan.stats.bytes_received += msg.nbytes
            if msg.kind == wire.KIND_ERROR:
                raise RemoteError(f"{alias}: {msg.data}")
            return msg.data
        chan.stats.timeouts += 1
        self._reset_req(chan)
        raise RequestTimeout(f"no reply from {alias} within {timeout}s")

    def _reset_req(self, chan: Channel) -> None:
        """A REQ socket that timed out is stuck mid-exchange: replace it with a fresh one."""
        del self._by_socket[chan.sock]
        chan.sock.close(linger=0)
        chan.sock = self._new_socket("REQ")
        if self._security is not None:
            self._security.client(chan.sock, chan.alias, self._security.server_keys[chan.alias])
        if self._monitor is not None:
            self._monitor.watch(chan.sock, chan.alias, zmq.EVENT_DISCONNECTED)
        for endpoint in chan.endpoints:
            chan.sock.connect(endpoint)
        self._by_socket[chan.sock] = chan

    def _channel(self, alias: str) -> Channel:
        try:
            return self._channels[alias]
        except KeyError:
            raise ConfigError(f"no socket under alias {alias!r}; have: {', '.join(self._channels)}") from None

    # ------------------------------------------------------------------------------------------ timers, calls
    def every(self, seconds: float, fn: Callable[[], Any], start: float | None = None) -> int:
        """Call ``fn`` every ``seconds`` from the loop; returns a timer id for :meth:`cancel_timer`."""
        return self._timers.add(seconds if start is None else start, fn, interval=seconds)

    def after(self, seconds: float, fn: Callable[[], Any]) -> int:
        return self._timers.add(seconds, fn)

    def cancel_timer(self, timer_id: int) -> bool:
        return self._timers.cancel(timer_id)

    def at_pass_end(self, fn: Callable[[], Any]) -> None:
        """Call ``fn`` from the loop at the end of every pass: after the sockets, remote calls and timers that pass
        handled, before the loop waits again. For coalescing: handlers note what changed, ``fn`` sends the newest
        state once (a watermark that moved ten times in one batch goes out once). ``fn`` must be cheap when
        nothing changed; an exception is counted and logged like a timer's."""
        self._pass_end.append(fn)

    def safe_call(
        self, fn: Callable[..., Any], *args: Any, timeout: float | None = 30.0, **kwargs: Any
    ) -> Any:
        """Run ``fn`` in the loop thread and return its result (directly when already in the loop)."""
        if self._loop_thread is None or threading.get_ident() == self._loop_thread:
            return fn(*args, **kwargs)
        if self._control is None or self._stopping.is_set():
            raise AgentcoreError(f"agent {self.name} is not running")
        return self._control.submit(fn, *args, **kwargs).result(timeout)

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue ``fn`` to run in the loop without waiting (for helper threads feeding data in)."""
        if self._control is not None:
            self._control.submit(fn, *args)

    # ------------------------------------------------------------------------------------------ remote API
    @remote(idempotent=True)
    def status(self) -> dict[str, Any]:
        """JSON-able state: identity, uptime, counters per socket, errors, plus :meth:`extra_status`."""
        return {
            "name": self.name,
            "role": self.role,
            "pid": os.getpid(),
            "host": self.host,
            "uptime_s": round(time.time() - self._started, 3),
            "ready": self.metrics.ready,
            "metrics_url": self.metrics_url,
            "sockets": {alias: c.stats.as_dict() for alias, c in self._channels.items()},
            "endpoints": {alias: list(c.endpoints) for alias, c in self._channels.items()},
            "networks": {net: {a: e for a, (_p, e) in eps.items()} for net, eps in self.advertised().items()},
            "errors": self.errors,
            "last_errors": list(self._last_errors),
            **self.extra_status(),
        }

    @remote(idempotent=True)
    def ping(self) -> str:
        return "pong"

    @remote(idempotent=True)
    def stop(self) -> None:
        """Stop gracefully (unregister, close sockets with linger, exit 0)."""
        self.request_stop()

    @remote(idempotent=True)
    def get_attr(self, name: str) -> Any:
        self._check_attr(name)
        return getattr(self, name)

    @remote(idempotent=True)
    def set_attr(self, name: str, value: Any) -> Any:
        """Change an attribute listed in ``remote_attributes``; returns the previous value."""
        self._check_attr(name)
        old = getattr(self, name)
        setattr(self, name, value)
        self.log.info("attribute changed remotely", attr=name, old=repr(old), new=repr(value))
        return old

    @remote(idempotent=True)
    def set_handler(self, alias: str, handler: str, prefix: str = "") -> None:
        """Swap the handler of a receiving alias for a named one (method name or ``module:function``)."""
        chan = self._channel(alias)
        table = dict(chan.handlers.items()) if chan.handlers is not None else {}
        table[prefix] = self._resolve_handler(handler)
        chan.handlers = TopicHandlers(table)
        if chan.pattern == "SUB":
            chan.sock.setsockopt(zmq.SUBSCRIBE, prefix.encode())

    def _check_attr(self, name: str) -> None:
        if name not in self.remote_attributes:
            raise AttributeError(
                f"{name!r} is not a remote attribute of {self.name} ({self.remote_attributes})"
            )

    # ------------------------------------------------------------------------------------------ lifecycle
    @property
    def metrics_url(self) -> str:
        return f"http://{self.host}:{self._http.port}/metrics" if self._http else ""

    def request_stop(self) -> None:
        """Ask the loop to finish (safe from signal handlers and any thread)."""
        self._stopping.set()

    def metadata(self) -> set[str]:
        tags = {naming.AGENT_TAG, f"{naming.ROLE_PREFIX}{self.role}", f"pid:{os.getpid()}"}
        if self._http is not None:
            tags.add(f"{naming.METRICS_PREFIX}{self.metrics_url}")
        for alias, chan in self._channels.items():
            if alias not in self._connected and chan.endpoints and "://" not in alias:
                tags.add(naming.endpoint_tag(alias, chan.pattern, chan.endpoints[0]))
        for net, endpoints in self.advertised().items():
            for alias, (pattern, endpoint) in endpoints.items():
                tags.add(naming.network_tag("ep", net, f"{alias}={pattern}@{endpoint}"))
            listener = self.settings.advertise_networks[net]
            if listener.pyro_port:
                uri = f"PYRO:agent.{self.name}@{_url_host(listener.host)}:{listener.pyro_port}"
                tags.add(naming.network_tag("pyro", net, uri))
            if listener.http_port:
                url = f"http://{_url_host(listener.host)}:{listener.http_port}/metrics"
                tags.add(naming.network_tag("metrics", net, url))
        if self._security is not None:
            tags |= self._security.tags()
        return tags

    def _check_listeners(self) -> None:
        """Say which aliases a listener forwards that this agent did not bind over tcp (a typo in a compose file
        or a strategy without that output): they are not advertised on that network."""
        for net, endpoints in self.advertised().items():
            missing = sorted(set(self.settings.advertise_networks[net].ports) - set(endpoints))
            if missing:
                self.log.info(
                    "not advertised at start: no tcp socket bound under", network=net, aliases=missing
                )

    def advertised(self) -> dict[str, dict[str, tuple[str, str]]]:
        """``{network: {alias: (pattern, endpoint)}}``: the bound tcp sockets as clients on each network of
        ``settings.advertise_networks`` dial them (Kafka's advertised listeners)."""
        out: dict[str, dict[str, tuple[str, str]]] = {}
        for net, listener in self.settings.advertise_networks.items():
            host = _url_host(listener.host)
            out[net] = {
                alias: (chan.pattern, f"tcp://{host}:{listener.ports[alias]}")
                for alias, chan in self._channels.items()
                if alias in listener.ports and alias not in self._connected
                and chan.endpoints and chan.endpoints[0].startswith("tcp://")
            }  # fmt: skip
        return out

    def _publish_metadata(self) -> None:
        if self._registrar is not None:
            self._registrar.update(
                self.metadata(), dict((a, (e[0], e[2])) for a, e in self._connected.items())
            )

    def _healthz(self) -> tuple[bool, dict[str, object]]:
        lag = time.monotonic() - self._heartbeat
        return lag < 10.0, {"loop_idle_s": round(lag, 3)}

    def _readyz(self) -> tuple[bool, dict[str, object]]:
        ok, why = self.ready_check()
        ready = self.metrics.ready and ok
        return ready, {"registered": self.metrics.ready, "detail": why}

    def run(
        self, ready: Callable[[str], None] | None = None, connections: Sequence[dict[str, Any]] | None = None
    ) -> int:
        """Run until stopped: set up (ZeroMQ context, control channel, health server, Pyro daemon), ``on_init``,
        the topology's ``connections`` (default :attr:`connections`), register, loop; then stop gracefully.
        ``ready`` is called with the Pyro URI once registered. Returns an exit code."""
        s = self.settings
        logs.bind_agent(self.name, self.role)
        naming.configure_pyro(s.comm_timeout)
        self._loop_thread = threading.get_ident()
        self.ctx = zmq.Context()
        if s.security_dir:
            from agentcore.security import enable_agent

            enable_agent(self)  # before the Pyro daemon: it must speak TLS
        self._monitor = SocketMonitor(self.ctx, self._on_socket_event, f"agentcore-monitor-{self.name}")
        self._control = ControlChannel(self.ctx, self.name)
        self._http = HealthServer(
            s.bind_host, s.http_port, self.metrics.registry, self._healthz, self._readyz
        )
        self._http.start()
        self._daemon, uri = lifecycle.start_pyro(
            self, self.name, s, self.host, idempotent_methods(type(self))
        )
        self._registrar = Registrar(self.name, uri, s, self.log, self._set_registered,
                                    lambda alias, endpoint: self.post(self._reconnect, alias, endpoint))  # fmt: skip
        code = 0
        try:
            self.on_init()
            lifecycle.connect_all(self.connect, self.connections if connections is None else connections)
            self._publish_metadata()
            lifecycle.first_registration(self._registrar, max(5.0, s.comm_timeout * 3), self._stopping)
            self._set_registered(True)
            self._registrar.start()
            self.metrics.up = True
            self.log.info("started", uri=uri, metrics=self.metrics_url, endpoints=sorted(self.metadata()))
            self._check_listeners()
            if ready is not None:
                ready(uri)
            self._loop()
        except (AgentcoreError, zmq.ZMQError) as exc:
            self.log.error("agent failed", error=str(exc))
            code = 1
        finally:
            self._shutdown()
        return code

    def _set_registered(self, registered: bool) -> None:
        self.metrics.ready = registered

    def _shutdown(self) -> None:
        self.metrics.up = False
        self.metrics.ready = False
        try:
            self.on_stop()
        except Exception as exc:  # noqa: BLE001 - stopping must finish
            self.report_error("on_stop", exc)
        if self._registrar is not None:
            self._registrar.stop(unregister=True)
        if self._control is not None:
            self._control.fail_pending(AgentcoreError(f"agent {self.name} stopped"))
        for chan in list(self._channels.values()):
            chan.sock.close(linger=self.settings.linger_ms)
        if self._monitor is not None:
            self._monitor.stop()
        if self._control is not None:
            self._control.close()
        if self._security is not None:
            self._security.stop()
        if self._daemon is not None:
            self._daemon.shutdown()
        if self._http is not None:
            self._http.stop()
        if self.ctx is not None:
            self.ctx.term()
        self.log.info("stopped")

    def _loop(self) -> None:
        control = self._control
        assert control is not None
        poller, timers, by_socket = self._poller, self._timers, self._by_socket
        self._poller.register(control.socket, zmq.POLLIN)
        spin_ns, spin_until = self.settings.busy_poll_us * 1000, 0
        while not self._stopping.is_set():
            self._heartbeat = time.monotonic()
            if spin_ns:  # busy poll: no sleep while work came in the last spin_ns
                events = poller.poll(0)
                now = time.perf_counter_ns()
                if events:
                    spin_until = now + spin_ns
                elif now >= spin_until:
                    events = poller.poll(timers.timeout_ms(MAX_POLL_MS))
                    spin_until = time.perf_counter_ns() + spin_ns if events else 0
            else:
                events = poller.poll(timers.timeout_ms(MAX_POLL_MS))
            for sock, _ev in events:
                if sock is control.socket:
                    control.run_pending(lambda exc: self.report_error("remote call", exc))
                else:
                    chan = by_socket.get(sock)
                    if chan is not None:
                        chan.drain()
            for _tid, fn, late in timers.due():
                self.metrics.loop_lag.observe(late)
                try:
                    fn()
                except Exception as exc:  # noqa: BLE001 - the loop survives its timers
                    self.metrics.timer_errors += 1
                    self.report_error("timer", exc)
            for fn in self._pass_end:
                try:
                    fn()
                except Exception as exc:  # noqa: BLE001 - the loop survives its hooks
                    self.metrics.timer_errors += 1
                    self.report_error("pass end", exc)


def _url_host(host: str) -> str:
    """An IPv6 literal in brackets, as URIs and ZeroMQ endpoints want it."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


__all__ = ["Agent", "Message", "remote"]

if __name__ == "__main__":  # ``python -m agentcore.agent module:Class --name N`` (one agent per container)
    import sys

    from agentcore.runtime import main

    sys.exit(main())
