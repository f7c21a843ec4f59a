"""Static checks of the container artefacts: no Docker engine needed."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import yaml

from .conftest import COMPOSE_FILE, DOCKER_DIR, REPLAY_FILE, ROOT, TEST_OVERRIDE, compose_binary, run


def dockerfiles() -> list:
    files = [DOCKER_DIR / "nameserver" / "Dockerfile", *sorted(ROOT.glob("services/*/Dockerfile"))]
    assert files[0].is_file()
    return files


def test_rendered_dockerfiles_match_the_template() -> None:
    proc = run(
        [sys.executable, str(DOCKER_DIR / "render-dockerfiles.py"), "--check"], timeout=30, check=False
    )
    assert proc.returncode == 0, proc.stderr


def test_requirements_match_the_lock() -> None:
    if shutil.which("uv") is None:
        pytest.skip("uv is not installed")
    proc = run([str(DOCKER_DIR / "export-requirements.sh"), "--check"], timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr


def test_hadolint_is_clean() -> None:
    hadolint = shutil.which("hadolint") or str(ROOT / ".venv" / "bin" / "hadolint")
    files = [str(f) for f in dockerfiles()]
    proc = run(
        [hadolint, "--config", str(ROOT / ".hadolint.yaml"), "--no-color", *files], timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfiles_follow_the_container_rules() -> None:
    for path in dockerfiles():
        text = path.read_text()
        assert "# syntax=" not in text and "--mount" not in text, path  # legacy builder, no frontend pull
        assert "ARG BASE_IMAGE=python:3.12-slim" in text, path
        assert "USER 10001:10001" in text and "HEALTHCHECK" in text, path
        assert 'ENTRYPOINT ["' in text, path  # exec form: PID 1 is python, SIGTERM reaches it
        assert "PYRO_" not in text.replace("AGENTCORE_PYRO_", ""), path


def compose_config(*files) -> dict:
    args = [a for f in files for a in ("-f", str(f))]
    proc = run([*compose_binary(), *args, "config", "--format", "json"], timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    import json

    return json.loads(proc.stdout)


def test_compose_config_validates() -> None:
    config = compose_config(COMPOSE_FILE)
    services = config["services"]
    assert {"nameserver", "feeder", "router", "brain-regime", "brain-trend", "trader", "prometheus",
            "grafana"} <= set(services)  # fmt: skip
    strategies = {
        services[b]["environment"]["TRADEHIVE_BRAIN_STRATEGY"] for b in ("brain-regime", "brain-trend")
    }
    assert strategies == {"regime", "ema_cross"}
    for name in ("feeder", "router", "brain-regime", "brain-trend", "trader"):
        svc = services[name]
        assert svc["depends_on"]["nameserver"]["condition"] == "service_healthy"
        assert svc["environment"]["AGENTCORE_ADVERTISE_HOST"] == name
        assert svc["restart"] == "unless-stopped"
        assert not any(k.startswith("PYRO_") for k in svc["environment"])


def test_compose_image_names_follow_the_environment() -> None:
    env = {"TRADEHIVE_IMAGE_PREFIX": "reg.example/th", "TRADEHIVE_TAG": "1.2.3", "PATH": "/usr/bin:/bin"}
    cmd = [*compose_binary(), "-f", str(COMPOSE_FILE), "config", "--images"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "reg.example/th/router:1.2.3" in proc.stdout.split()


def test_replay_override_mounts_data_read_only() -> None:
    feeder = compose_config(COMPOSE_FILE, REPLAY_FILE)["services"]["feeder"]
    (mount,) = [v for v in feeder["volumes"] if v["target"] == "/data"]
    assert mount["read_only"] is True
    assert feeder["environment"]["TRADEHIVE_FEEDER_DATA_DIR"] == "/data"


def test_test_override_publishes_ephemeral_ports_only() -> None:
    services = compose_config(COMPOSE_FILE, TEST_OVERRIDE)["services"]
    for name, svc in services.items():
        for port in svc.get("ports", []):
            assert port["host_ip"] == "127.0.0.1", name
            assert not port.get("published"), (name, port)


def test_compose_files_are_plain_yaml() -> None:
    for path in (COMPOSE_FILE, REPLAY_FILE):
        assert isinstance(yaml.safe_load(path.read_text()), dict)
