"""agentcore.logs: structlog's own lines and stdlib records (Pyro5, warnings) share one format."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(60)

SCRIPT = r"""
import logging, warnings
import Pyro5.core  # imported first: Pyro5 mutes its loggers (level 9999) at import
from agentcore import logs
logs.configure("info", "{fmt}")
logs.bind_agent("a1", "router")
logs.get("agentcore.test").info("own line", n=1)
logging.getLogger("Pyro5.core").warning("handshake failed with %s", "10.0.0.9:1234")
logging.getLogger("Pyro5.core").info("per-call chatter stays out")
logging.getLogger("some.lib").info("library %s", "info")
logging.getLogger("some.lib").debug("below the level")
warnings.warn("deprecated thing", DeprecationWarning, stacklevel=1)
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("some.lib").exception("boom")
"""


def _run(fmt: str) -> list[str]:
    proc = subprocess.run([sys.executable, "-W", "always", "-c", SCRIPT.replace("{fmt}", fmt)],
                          capture_output=True, text=True, timeout=50)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""  # logs go to stderr only
    return [line for line in proc.stderr.splitlines() if line.strip()]


def test_stdlib_records_are_json_lines_with_the_bound_context() -> None:
    records = [json.loads(line) for line in _run("json")]  # every line parses: no stray text
    by_event = {r["event"]: r for r in records}
    assert by_event["own line"]["n"] == 1 and by_event["own line"]["agent"] == "a1"
    pyro = by_event["handshake failed with 10.0.0.9:1234"]  # %-args interpolated
    assert pyro["level"] == "warning" and pyro["logger"] == "Pyro5.core" and pyro["role"] == "router"
    assert "timestamp" in pyro
    assert "per-call chatter stays out" not in by_event  # Pyro5 below WARNING is dropped
    assert by_event["library info"]["logger"] == "some.lib"
    assert "below the level" not in by_event
    (warning,) = [r for r in records if r.get("logger") == "py.warnings"]
    assert "deprecated thing" in warning["event"]
    boom = by_event["boom"]
    assert boom["level"] == "error" and "ZeroDivisionError" in json.dumps(boom["exception"])


def test_console_format_on_request() -> None:
    lines = _run("console")
    assert any("handshake failed with 10.0.0.9:1234" in line and "Pyro5.core" in line for line in lines)
    assert not any(line.startswith("{") for line in lines)
