"""The file-SD writer: target parsing, atomic rewrite only on change, discovery from a real name server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agentcore import naming
from tradehive import promsd


def test_target_for_parses_the_metrics_tag() -> None:
    g = promsd.target_for("router", {"agentcore", "role:router", "metrics:http://10.0.0.5:40123/metrics"})
    assert g == promsd.TargetGroup(targets=["10.0.0.5:40123"], labels={"agent": "router", "role": "router"})
    odd = promsd.target_for("x", {"metrics:http://h:1/custom"})
    assert odd is not None and odd.labels == {"agent": "x", "role": "unknown", "__metrics_path__": "/custom"}
    assert promsd.target_for("x", {"role:brain"}) is None  # no metrics tag
    assert promsd.target_for("x", {"metrics:"}) is None  # HTTP server not up
    assert promsd.target_for("x", {"metrics:http://noport/metrics"}) is None


def test_target_for_a_network_uses_its_metrics_tag() -> None:
    tags = {"role:router", "metrics:http://router:9100/metrics", "metrics@host:http://127.0.0.1:9102/metrics"}
    outside, inside = promsd.target_for("router", tags, "host"), promsd.target_for("router", tags, "internal")
    assert outside is not None and outside.targets == ["127.0.0.1:9102"]
    assert inside is not None and inside.targets == ["router:9100"]


def test_write_if_changed_is_atomic_and_idempotent(tmp_path: Path) -> None:
    out = tmp_path / "sd" / "targets.json"
    text = promsd.render([promsd.TargetGroup(["h:1"], {"agent": "a", "role": "r"})])
    assert promsd.write_if_changed(out, text)
    assert json.loads(out.read_text()) == [{"targets": ["h:1"], "labels": {"agent": "a", "role": "r"}}]
    mtime = out.stat().st_mtime_ns
    assert not promsd.write_if_changed(out, text) and out.stat().st_mtime_ns == mtime
    assert promsd.write_if_changed(out, promsd.render([]))
    assert json.loads(out.read_text()) == [] and [p.name for p in out.parent.iterdir()] == ["targets.json"]


@pytest.mark.timeout(60)
def test_discover_from_a_real_name_server(nameserver: Any, tmp_path: Path) -> None:
    ns = naming.locate(nameserver.host, nameserver.port)
    ns.register("feeder", "PYRO:agent.feeder@127.0.0.1:1", metadata={
        "agentcore", "role:feeder", "metrics:http://127.0.0.1:45001/metrics"})  # fmt: skip
    ns.register("brain-x", "PYRO:agent.brain-x@127.0.0.1:2", metadata={
        "agentcore", "role:brain", "metrics:http://127.0.0.1:45002/metrics"})  # fmt: skip
    ns.register("silent", "PYRO:agent.silent@127.0.0.1:3", metadata={"agentcore", "role:brain"})
    out = tmp_path / "targets.json"
    n, written = promsd.sync_once(nameserver.host, nameserver.port, out)
    assert (n, written) == (2, True)
    assert json.loads(out.read_text()) == [
        {"targets": ["127.0.0.1:45002"], "labels": {"agent": "brain-x", "role": "brain"}},
        {"targets": ["127.0.0.1:45001"], "labels": {"agent": "feeder", "role": "feeder"}},
    ]
    ns.remove("brain-x")
    assert promsd.sync_once(nameserver.host, nameserver.port, out) == (1, True)


@pytest.mark.timeout(30)
def test_unreachable_name_server_is_a_clear_error(tmp_path: Path) -> None:
    from agentcore.testing import free_port

    naming.configure_pyro(2.0)
    with pytest.raises(promsd.PromSdError, match="cannot list agents"):
        promsd.sync_once("127.0.0.1", free_port(), tmp_path / "t.json")
    assert not (tmp_path / "t.json").exists()
