"""Static checks of the container artefacts: no Docker engine needed."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from .conftest import COMPOSE_FILE, DOCKER_DIR, REPLAY_FILE, ROOT, TEST_OVERRIDE, compose_binary, run

DOCKERFILE = ROOT / "Dockerfile"


def stages() -> dict[str, str]:
    """Stage name -> its text (from its FROM line to the next), in file order."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("FROM "):
            name = line.split(" AS ")[-1].strip() if " AS " in line else f"#{len(found)}"
            current = found.setdefault(name, [])
        if current is not None:
            current.append(line)
    return {name: "\n".join(lines) for name, lines in found.items()}


def role_packages() -> list[str]:
    return sorted(p.parent.name for p in ROOT.glob("services/*/pyproject.toml"))


def test_one_dockerfile_with_a_final_stage_per_role() -> None:
    assert not list(ROOT.glob("services/*/Dockerfile")), "roles are stages of the one Dockerfile"
    found = stages()
    roles = role_packages()
    assert "nameserver" in roles and "router" in roles
    for role in roles:
        assert role in found, f"no final stage {role!r} for services/{role}"
        assert f"build-{role}" in found, f"no build stage for services/{role}"
        assert f"COPY services/{role} " in found[f"build-{role}"], role
        stage = found[role]
        assert f"COPY --from=build-{role} " in stage, role
        assert 'ENTRYPOINT ["python", "-m", ' in stage, role  # exec form: PID 1 is python, SIGTERM reaches it
        assert "USER" not in stage or "USER 10001:10001" in stage, role
    # A role's package is copied only into its own build stage: a change to one role rebuilds one image.
    for name, text in found.items():
        for role in roles:
            if name != f"build-{role}":
                assert f"COPY services/{role} " not in text, (name, role)


def test_dockerfile_follows_the_container_rules() -> None:
    text = DOCKERFILE.read_text()
    assert "# syntax=" not in text and "--mount" not in text  # legacy builder, no frontend pull
    assert text.count("ARG BASE_IMAGE=python:3.12-slim") == 1
    found = stages()
    assert "USER 10001:10001" in found["runtime"] and "HEALTHCHECK" in found["agent"]
    for role in role_packages():
        # every role stage runs as the unprivileged user and has a health check (its own or the agent's)
        chain, name = [], role
        while name in found:
            chain.append(found[name])
            parent = found[name].splitlines()[0].split()[1]
            name = parent
        joined = "\n".join(chain)
        assert "USER 10001:10001" in joined and "HEALTHCHECK" in joined, role
    assert "PYRO_" not in text.replace("AGENTCORE_PYRO_", "")


def test_compose_builds_every_role_from_its_stage() -> None:
    services = compose_config(COMPOSE_FILE)["services"]
    found = stages()
    built = {name: svc["build"] for name, svc in services.items() if "build" in svc}
    assert {"nameserver", "feeder", "router", "brain-regime", "trader"} <= set(built)
    for name, build in built.items():
        assert build.get("dockerfile", "Dockerfile") == "Dockerfile", name
        assert build["target"] in found, (name, build["target"])
        assert services[name]["image"].rsplit("/", 1)[-1].split(":")[0] == build["target"], name


def test_requirements_match_the_lock() -> None:
    if shutil.which("uv") is None:
        pytest.skip("uv is not installed")
    proc = run([str(DOCKER_DIR / "export-requirements.sh"), "--check"], timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr


def test_hadolint_is_clean() -> None:
    hadolint = shutil.which("hadolint") or str(ROOT / ".venv" / "bin" / "hadolint")
    proc = run(
        [hadolint, "--config", str(ROOT / ".hadolint.yaml"), "--no-color", str(DOCKERFILE)],
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


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


def test_strategy_override_mounts_the_example_into_the_trend_brain() -> None:
    """deploy/docker-compose.strategy.yml (docs/strategies.md): the examples directory read-only at /strategies
    and the brain told the file's path there; the brain config it gives loads the strategy."""
    import json

    from tradehive.loader import load_strategy_class

    override = ROOT / "deploy" / "docker-compose.strategy.yml"
    trend = compose_config(COMPOSE_FILE, override)["services"]["brain-trend"]
    (mount,) = [v for v in trend["volumes"] if v["target"] == "/strategies"]
    assert mount["read_only"] is True and mount["source"] == str(ROOT / "examples")
    env = trend["environment"]
    path, _, cls = env["TRADEHIVE_BRAIN_STRATEGY"].rpartition(":")
    assert path.startswith("/strategies/")
    host_ref = f"{mount['source']}/{path.removeprefix('/strategies/')}:{cls}"
    assert (
        load_strategy_class(host_ref).name == "bollinger_rsi"
        and json.loads(env["TRADEHIVE_BRAIN_PARAMS"]) == {}
    )
    assert env["TRADEHIVE_BRAIN_SIGNALS_FROM"] == '["brain-regime"]'  # the base service's settings kept


def test_test_override_publishes_ephemeral_ports_only() -> None:
    services = compose_config(COMPOSE_FILE, TEST_OVERRIDE)["services"]
    for name, svc in services.items():
        for port in svc.get("ports", []):
            assert port["host_ip"] == "127.0.0.1", name
            assert not port.get("published"), (name, port)


def test_compose_files_are_plain_yaml() -> None:
    for path in (COMPOSE_FILE, REPLAY_FILE):
        assert isinstance(yaml.safe_load(path.read_text()), dict)


def test_debian_mirror_is_read_by_apt_from_both_source_formats(tmp_path) -> None:
    """build-base.sh's mirror comes from `apt-get indextargets`: one-line and deb822 sources, exact suite only."""
    if shutil.which("apt-get") is None:
        pytest.skip(
            "apt-get is not installed (not a Debian-family host): build-base.sh cannot run here either"
        )
    parts = tmp_path / "sources.list.d"
    parts.mkdir()
    (tmp_path / "sources.list").write_text(
        "# a comment\ndeb [arch=amd64 signed-by=/k.gpg] http://one-line.example/debian/ trixie main # note\n"
    )
    (parts / "debian.sources").write_text(
        "Types: deb-src\nURIs: http://src-only.example/debian\nSuites: bookworm\nComponents: main\n\n"
        "Types: deb\nURIs: http://disabled.example/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n\n"
        "Types: deb deb-src\nURIs: http://deb822.example/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\n\n"
        "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\n"
        "Components: main\n"
    )

    def mirror(suite: str) -> subprocess.CompletedProcess[str]:
        script = f'source "{DOCKER_DIR}/lib.sh" && debian_mirror {suite}'
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "TRADEHIVE_APT_ETC": str(tmp_path)}
        return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, env=env)

    assert mirror("bookworm").stdout.strip() == "http://deb822.example/debian"
    assert mirror("trixie").stdout.strip() == "http://one-line.example/debian"
    assert mirror("bookworm-security").stdout.strip() == "http://security.example/debian-security"
    assert mirror("sid").returncode == 1 and not mirror("sid").stdout.strip()
