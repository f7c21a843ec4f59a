"""The Pyro5 name server: multiplexed, broadcast off, optionally persistent; in-process or as a child process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import Pyro5
import Pyro5.nameserver

from agentcore import logs, naming
from agentcore.errors import NameServerError
from agentcore.forked import can_fork, fork_call


def serve(host: str = "127.0.0.1", port: int = 9090, advertise: str = "", storage: str | None = None,
          comm_timeout: float = 2.0, security_dir: str = "") -> None:  # fmt: skip
    """Run a name server in this process until interrupted (what ``agentcore nameserver`` does).

    SIGTERM stops it like Ctrl-C: as PID 1 in a container a signal without a handler would be ignored.
    Pyro5's ``start_ns_loop`` prints its banner to stdout; this is the same loop (``start_ns`` +
    ``requestLoop``) with the banner as structured log records, so every line is JSON off a TTY.
    """
    signal.signal(signal.SIGTERM, _interrupt)
    naming.configure_pyro(comm_timeout)
    if security_dir:  # TLS with client certificates signed by the keys directory's CA
        from agentcore import security

        security.for_nameserver(security_dir)
    cfg: Any = Pyro5.config
    cfg.SERVERTYPE = "multiplex"
    cfg.NS_AUTOCLEAN = 0.0
    nathost = advertise or (None if host not in ("0.0.0.0", "") else _own_address())
    uri, daemon, bcserver = Pyro5.nameserver.start_ns(
        host=host, port=port, enableBroadcast=False, nathost=nathost, natport=port if nathost else None,
        storage=storage,
    )  # fmt: skip
    assert bcserver is None  # broadcast is always off
    log = logs.get("agentcore.nameserver")
    log.info(
        "nameserver started",
        uri=str(uri),
        internal_uri=str(daemon.uriFor(daemon.nameserver, nat=False)),
        bind=daemon.locationStr,
        storage=storage or "memory",
        registrations=daemon.nameserver.count() - 1,  # its own entry not counted
    )
    try:
        daemon.requestLoop()
    finally:
        daemon.close()
        log.info("nameserver stopped", uri=str(uri))


def _own_address() -> str:
    """This host's address as others see it (its hostname's address; in a container: the container's IP)."""
    import socket

    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


class NameServerProcess:
    """A name server in a child process (``agentcore nameserver``), ready when it answers a ping."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 9090,
        timeout: float = 10.0,
        method: str = "exec",
        security_dir: str = "",
    ) -> None:
        """``method="fork"`` forks this process (tens of ms instead of an interpreter start) when it is
        single-threaded; otherwise, or with ``"exec"``, runs ``python -m agentcore.cli nameserver``."""
        self.host, self.port = host, port
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
        self.proc: Any
        if method == "fork" and can_fork():
            self.proc = fork_call(lambda: serve(host, port, security_dir=security_dir), env)
        else:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "agentcore.cli", "nameserver", "--ns-host", host, "--ns-port", str(port),
                 *(["--security-dir", security_dir] if security_dir else [])],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise NameServerError(f"name server exited with {self.proc.returncode}: {err.strip()[-500:]}")
            try:
                naming.locate(self.host, self.port).ping()
                return
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.02)
        self.stop()
        raise NameServerError(f"name server on {self.host}:{self.port} not ready within {timeout}s")

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()

    def __enter__(self) -> NameServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
