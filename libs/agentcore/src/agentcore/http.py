"""One HTTP port per agent: ``/metrics`` (Prometheus), ``/healthz`` (alive), ``/readyz`` (ready).

``/metrics`` is prometheus-client's own handler (:class:`prometheus_client.MetricsHandler`): the exposition
format negotiated from ``Accept`` (OpenMetrics for Prometheus, text 0.0.4 otherwise), gzip when the client
accepts it, and ``?name[]=family`` filtering. The probes answer JSON beside it on the same port.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, MetricsHandler

Probe = Callable[[], tuple[bool, dict[str, object]]]


class _Handler(MetricsHandler):
    """``/metrics`` by prometheus-client, the probes and a 404 for everything else."""

    owner: HealthServer  # set per server by HealthServer (MetricsHandler.factory's pattern)

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        path = urlsplit(self.path).path
        try:
            if path == "/metrics":
                super().do_GET()
            elif path in ("/healthz", "/readyz"):
                ok, detail = (self.owner.healthz if path == "/healthz" else self.owner.readyz)()
                self._send(200 if ok else 503, json.dumps({"ok": ok, **detail}).encode(), "application/json")
            else:
                self._send(404, b"not found\n", "text/plain")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the scraper gave up (timeout): nothing to answer, nothing to log

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class HealthServer:
    """A small threaded HTTP server; the probes are called from its threads and must only read state."""

    def __init__(
        self, host: str, port: int, registry: CollectorRegistry, healthz: Probe, readyz: Probe
    ) -> None:
        self.registry = registry
        self.healthz = healthz
        self.readyz = readyz
        handler = type("AgentHTTPHandler", (_Handler,), {"registry": registry, "owner": self})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="agentcore-http", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
