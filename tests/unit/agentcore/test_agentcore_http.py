"""agentcore.http: /metrics is prometheus-client's handler (negotiation, gzip, name filter); probes beside it."""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from agentcore.http import HealthServer
from agentcore.metrics import AgentMetrics

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def server() -> Iterator[tuple[HealthServer, dict[str, bool]]]:
    metrics = AgentMetrics("a1", "router")
    metrics.socket("ticks", "sub").received = 7
    metrics.counter("tradehive_orders", "Orders.", ["side"]).labels("a1", "buy").inc(3)
    state = {"ready": False}
    srv = HealthServer(
        "127.0.0.1", 0, metrics.registry,
        healthz=lambda: (True, {"agent": "a1"}),
        readyz=lambda: (state["ready"], {"registered": state["ready"]}),
    )  # fmt: skip
    srv.start()
    try:
        yield srv, state
    finally:
        srv.stop()


def get(srv: HealthServer, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(f"http://127.0.0.1:{srv.port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_text_format_by_default(server) -> None:
    srv, _ = server
    code, headers, body = get(srv, "/metrics")
    assert code == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = body.decode()
    assert (
        'agentcore_messages_received_total{agent="a1",alias="ticks",pattern="sub",role="router"} 7.0' in text
    )
    assert 'tradehive_orders_total{agent="a1",side="buy"} 3.0' in text
    assert "# EOF" not in text


def test_openmetrics_when_the_scraper_asks_for_it(server) -> None:
    srv, _ = server
    accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"  # Prometheus' header
    code, headers, body = get(srv, "/metrics", Accept=accept)
    assert code == 200 and headers["Content-Type"].startswith("application/openmetrics-text")
    assert body.decode().rstrip().endswith("# EOF")


def test_gzip_when_accepted(server) -> None:
    srv, _ = server
    code, headers, body = get(srv, "/metrics", **{"Accept-Encoding": "gzip"})
    assert code == 200 and headers["Content-Encoding"] == "gzip"
    assert b"agentcore_messages_received_total" in gzip.decompress(body)


def test_name_filter(server) -> None:
    srv, _ = server
    _, _, body = get(srv, "/metrics?name[]=tradehive_orders_total")
    text = body.decode()
    assert "tradehive_orders_total" in text and "agentcore_messages_received" not in text


def test_probes_and_unknown_paths(server) -> None:
    srv, state = server
    assert get(srv, "/healthz")[0] == 200
    code, headers, body = get(srv, "/readyz")
    assert code == 503 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"ok": False, "registered": False}
    state["ready"] = True
    code, _, body = get(srv, "/readyz?verbose=1")
    assert code == 200 and json.loads(body)["ok"] is True
    assert get(srv, "/nope")[0] == 404
