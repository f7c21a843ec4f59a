"""Kubernetes manifests (deploy/k8s): schema-valid, and the invariants the platform depends on.

Every resource file of the base and the overlays is validated against the Kubernetes OpenAPI schemas shipped
in the PyPI package ``kubernetes-validate`` (offline, ``strict``: unknown fields are errors). The overlays are
rendered with ``kubectl kustomize`` (kustomize built into kubectl) where kubectl is installed; without it the
rendered-overlay tests skip and the base is still checked file by file.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from agentcore.errors import ConfigError
from agentcore.runtime import import_object
from agentcore.settings import FABRIC_PREFIX, AgentSettings, from_env

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
OVERLAYS = {"dev": "tradehive-dev", "replay": "tradehive-replay", "attach": "tradehive-dev"}  # -> namespace
PROMETHEUS_K8S = ROOT / "deploy" / "prometheus" / "prometheus.k8s.yml"
# Oldest Kubernetes minor still in wide use, and the newest the package knows.
K8S_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
AGENT_KINDS = ("StatefulSet", "Deployment")

Doc = dict[str, Any]


# ---------------------------------------------------------------- loading and rendering


def load_docs(path: Path) -> list[Doc]:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    assert all(isinstance(d, dict) for d in docs), path
    return docs


def kustomization(directory: Path) -> Doc:
    (doc,) = load_docs(directory / "kustomization.yaml")
    assert doc["kind"] == "Kustomization"
    return doc


def resource_files(directory: Path) -> list[Path]:
    """The local files a kustomization lists as resources (full manifests, not patches)."""
    out = []
    for entry in kustomization(directory).get("resources", []):
        path = (directory / entry).resolve()
        if path.is_file():
            out.append(path)
    return out


def patch_files(directory: Path) -> list[Path]:
    return [
        (directory / p["path"]).resolve() for p in kustomization(directory).get("patches", []) if "path" in p
    ]


def all_directories() -> list[Path]:
    return [BASE, *(K8S / "overlays" / name for name in OVERLAYS)]


def base_docs() -> list[Doc]:
    return [d for f in resource_files(BASE) for d in load_docs(f)]


def kustomize_command() -> list[str] | None:
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    return None


@functools.cache
def render(overlay: str) -> tuple[Doc, ...]:
    cmd = kustomize_command()
    if cmd is None:
        pytest.skip(
            "neither kubectl nor kustomize is installed: overlays not rendered (base checked file by file)"
        )
    proc = subprocess.run(
        [*cmd, str(K8S / "overlays" / overlay)], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return tuple(d for d in yaml.safe_load_all(proc.stdout) if d is not None)


def workloads(docs: list[Doc] | tuple[Doc, ...]) -> list[Doc]:
    return [d for d in docs if d["kind"] in AGENT_KINDS]


def agent_sets(docs: list[Doc] | tuple[Doc, ...]) -> list[Doc]:
    return [d for d in docs if d["kind"] == "StatefulSet"]


def by_kind_name(docs: list[Doc] | tuple[Doc, ...], kind: str, name: str) -> Doc:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def containers(workload: Doc) -> list[Doc]:
    spec = workload["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def env_list(container: Doc) -> list[Doc]:
    return list(container.get("env", []))


def env_value(container: Doc, name: str) -> str:
    values = [e["value"] for e in env_list(container) if e["name"] == name and "value" in e]
    assert len(values) == 1, f"{container['name']}: {name} set {len(values)} times"
    return str(values[0])


def effective_env(docs: list[Doc] | tuple[Doc, ...], workload: Doc, container: Doc) -> dict[str, str]:
    """What the container's process sees from the manifests: envFrom ConfigMaps, then env (which wins),
    with the downward-API pod name of the first replica substituted."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        assert "prefix" not in source, "an envFrom prefix would rename the settings"
        ref = source["configMapRef"]["name"]
        cm = by_kind_name(docs, "ConfigMap", ref)
        env.update({k: str(v) for k, v in cm.get("data", {}).items()})
    pod_name = f"{workload['metadata']['name']}-0"
    for e in env_list(container):
        if "value" in e:
            env[e["name"]] = re.sub(
                r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m[1], m[0]), str(e["value"])
            )
        elif e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name":
            env[e["name"]] = pod_name
    return env


def named_port(container: Doc, port: int | str) -> int:
    if isinstance(port, int):
        return port
    numbers = [p["containerPort"] for p in container.get("ports", []) if p.get("name") == port]
    assert len(numbers) == 1, f"port {port!r} not declared once on {container['name']}"
    return int(numbers[0])


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|k|M|G)?$")
_SCALE = {
    None: 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}


def quantity(text: str | int) -> float:
    match = _QUANTITY.match(str(text))
    assert match, f"unparsed quantity {text!r}"
    return float(match[1]) * _SCALE[match[2]]


def role_class(image: str) -> Any:
    """The agent class the image runs, read from the ENTRYPOINT of the role's stage in the one Dockerfile."""
    role = image.split("/")[-1].split(":")[0]
    stage: list[str] = []
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("FROM "):
            stage = [line]
        elif stage:
            stage.append(line)
        if stage and stage[0].endswith(f" AS {role}") and line.startswith("ENTRYPOINT"):
            argv = json.loads(line.removeprefix("ENTRYPOINT").strip())
            return import_object(argv[-1])
    raise AssertionError(f"no stage {role!r} with an ENTRYPOINT in the Dockerfile for image {image}")


# ---------------------------------------------------------------- schema validation


def schema_targets() -> Iterator[tuple[str, Doc]]:
    for directory in all_directories():
        for path in resource_files(directory):
            for doc in load_docs(path):
                yield f"{path.relative_to(ROOT)}:{doc['kind']}/{doc['metadata']['name']}", doc


def test_every_yaml_file_is_used_by_its_kustomization() -> None:
    for directory in all_directories():
        used = {
            *resource_files(directory),
            *patch_files(directory),
            (directory / "kustomization.yaml").resolve(),
        }
        present = {p.resolve() for p in directory.glob("*.yaml")} | {
            p.resolve() for p in directory.glob("*.yml")
        }
        assert present == used, f"{directory}: unused {sorted(map(str, present - used))}"


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_resource_files_are_schema_valid(version: str) -> None:
    targets = list(schema_targets())
    assert len(targets) >= 14  # 6 ConfigMaps, 6 Services, 5 StatefulSets, 1 Deployment, namespaces, PVC
    for where, doc in targets:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{where} is invalid for Kubernetes {version}: {exc.message} at {list(exc.path)}")


def test_strict_validation_rejects_an_unknown_field() -> None:
    """The validator is live: a misspelt field (the classic silent typo) fails strict validation."""
    sts = json.loads(json.dumps(agent_sets(base_docs())[0]))
    sts["spec"]["template"]["spec"]["enableServicelinks"] = False
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(sts, K8S_VERSIONS[-1], strict=True)


@pytest.mark.timeout(60)
def test_kubernetes_validate_cli_passes_on_the_base() -> None:
    """The documented command: ``kubernetes-validate --strict`` on every base resource file."""
    exe = Path(sys.executable).with_name("kubernetes-validate")
    assert exe.is_file(), exe
    proc = subprocess.run(
        [str(exe), "--strict", "--quiet", *map(str, resource_files(BASE))],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_rendered_overlay_is_schema_valid(overlay: str, version: str) -> None:
    docs = render(overlay)
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(
                f"{overlay}: {doc['kind']}/{doc['metadata']['name']}: {exc.message} at {list(exc.path)}"
            )


# ---------------------------------------------------------------- invariants (base and every overlay)


def check_invariants(docs: list[Doc] | tuple[Doc, ...]) -> None:
    services = [d for d in docs if d["kind"] == "Service"]
    configmaps = [d for d in docs if d["kind"] == "ConfigMap"]

    # No Kubernetes-made or hand-written PYRO_* variable anywhere: Pyro5 refuses to import with one.
    for wl in workloads(docs):
        spec = wl["spec"]["template"]["spec"]
        assert spec.get("enableServiceLinks") is False, (
            f"{wl['metadata']['name']}: enableServiceLinks must be false"
        )
        assert spec.get("automountServiceAccountToken") is False, wl["metadata"]["name"]
        for c in containers(wl):
            assert not [e["name"] for e in env_list(c) if e["name"].startswith("PYRO_")], wl["metadata"][
                "name"
            ]
    for cm in configmaps:
        pyro_keys = [k for k in cm.get("data", {}) if k.startswith("PYRO_")]
        assert not pyro_keys, f"ConfigMap {cm['metadata']['name']} sets {pyro_keys}"
    for svc in services:
        assert not svc["metadata"]["name"].upper().replace("-", "_").startswith("PYRO"), svc["metadata"][
            "name"
        ]

    # Name server: a Deployment behind a ClusterIP Service; the agents' fabric settings point at it.
    ns = by_kind_name(docs, "Deployment", "nameserver")
    ns_svc = by_kind_name(docs, "Service", "nameserver")
    assert ns_svc["spec"].get("clusterIP") != "None"
    assert selects(ns_svc["spec"]["selector"], ns["spec"]["template"]["metadata"]["labels"])
    assert ns["spec"]["replicas"] == 1 and ns["spec"]["strategy"]["type"] == "Recreate"
    (ns_container,) = ns["spec"]["template"]["spec"]["containers"]
    ns_port = int(env_value(ns_container, "AGENTCORE_NS_PORT"))
    assert env_value(ns_container, "AGENTCORE_NS_HOST") == "0.0.0.0"
    assert env_value(ns_container, "AGENTCORE_NS_ADVERTISE") == "nameserver"
    assert [p["port"] for p in ns_svc["spec"]["ports"]] == [ns_port]
    assert named_port(ns_container, ns_svc["spec"]["ports"][0]["targetPort"]) == ns_port
    assert ns_container["image"].startswith("tradehive/nameserver:")

    # Agents others dial: StatefulSets behind headless Services; nothing load-balances a PUB socket.
    sets = agent_sets(docs)
    assert {s["metadata"]["name"] for s in sets} == {
        "feeder",
        "router",
        "trader",
        "brain-regime",
        "brain-trend",
    }
    for svc in services:
        if svc["spec"].get("clusterIP") == "None":
            continue
        for sts in sets:
            pod_labels = sts["spec"]["template"]["metadata"]["labels"]
            assert not selects(svc["spec"].get("selector", {}), pod_labels), (
                f"ClusterIP Service {svc['metadata']['name']} load-balances agent {sts['metadata']['name']}"
            )

    names: list[str] = []
    envs: dict[str, dict[str, str]] = {}
    for sts in sets:
        name: str
        name = sts["metadata"]["name"]
        spec = sts["spec"]
        pod = spec["template"]
        headless = by_kind_name(docs, "Service", spec["serviceName"])
        assert headless["spec"]["clusterIP"] == "None", f"{name}: governing Service must be headless"
        assert headless["spec"].get("publishNotReadyAddresses") is True, name
        assert selects(headless["spec"]["selector"], pod["metadata"]["labels"]), name
        assert selects(spec["selector"]["matchLabels"], pod["metadata"]["labels"]), name
        assert spec["replicas"] == 1, f"{name}: a fixed agent name allows one pod"
        (c,) = pod["spec"]["containers"]

        # The agent name: unique, the one others connect to, the Prometheus `agent` label.
        assert c["args"][:2] == ["--name", name] and len(c["args"]) == 2, f"{name}: args {c['args']}"
        assert pod["metadata"]["labels"]["app.kubernetes.io/instance"] == name
        names.append(name)

        # It advertises its own stable pod DNS name: $(POD_NAME).<headless service>.
        order = [e["name"] for e in env_list(c)]
        pod_name = next(e for e in env_list(c) if e["name"] == "POD_NAME")
        assert pod_name["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
        assert order.index("POD_NAME") < order.index("AGENTCORE_ADVERTISE_HOST"), (
            "$(POD_NAME) must be defined first"
        )
        advertised = env_value(c, "AGENTCORE_ADVERTISE_HOST")
        assert advertised == f"$(POD_NAME).{spec['serviceName']}", (
            f"{name}: advertises {advertised!r}, not its pod"
        )
        assert env_value(c, "AGENTCORE_BIND_HOST") == "0.0.0.0"

        # Fixed ports: HTTP (probes, scrape), Pyro, ZeroMQ from the port base, all declared.
        http = int(env_value(c, "AGENTCORE_HTTP_PORT"))
        pyro = int(env_value(c, "AGENTCORE_PYRO_PORT"))
        base = int(env_value(c, "AGENTCORE_PORT_BASE"))
        assert named_port(c, "http") == http and named_port(c, "pyro") == pyro
        zmq = sorted(p["containerPort"] for p in c["ports"] if p["name"].startswith("zmq-"))
        assert zmq and zmq == list(range(base, base + len(zmq))), f"{name}: ZeroMQ ports {zmq} from {base}"
        assert {p["port"] for p in headless["spec"]["ports"]} == {p["containerPort"] for p in c["ports"]}

        ready, live = c["readinessProbe"]["httpGet"], c["livenessProbe"]["httpGet"]
        assert ready["path"] == "/readyz", f"{name}: readiness on {ready['path']}"
        assert named_port(c, ready["port"]) == http, name
        assert live["path"] == "/healthz" and named_port(c, live["port"]) == http, name
        assert named_port(c, c["startupProbe"]["httpGet"]["port"]) == http

        notes = pod["metadata"]["annotations"]
        assert notes["prometheus.io/scrape"] == "true"
        assert int(notes["prometheus.io/port"]) == http, f"{name}: scraped on {notes['prometheus.io/port']}"
        assert notes["prometheus.io/path"] == "/metrics"
        assert pod["metadata"]["labels"]["app.kubernetes.io/component"] in {
            "feeder",
            "router",
            "trader",
            "brain",
        }

        # The settings parse exactly as the agent will parse them (unknown keys are errors there too).
        full = effective_env(docs, sts, c)
        assert full["AGENTCORE_ADVERTISE_HOST"] == f"{name}-0.{spec['serviceName']}"
        fabric = from_env(AgentSettings, FABRIC_PREFIX, full)
        assert (fabric.ns_host, fabric.ns_port) == ("nameserver", ns_port)
        assert (fabric.http_port, fabric.pyro_port, fabric.port_base) == (http, pyro, base)
        cls = role_class(c["image"])
        from_env(cls.Config, cls.config_prefix, full)
        assert not [k for k in full if k.startswith("TRADEHIVE_") and not k.startswith(cls.config_prefix)], (
            name
        )
        envs[name] = full

    assert len(names) == len(set(names))

    # The agents' references to each other are agent names that exist.
    assert envs["trader"].get("TRADEHIVE_TRADER_ROUTER", "router") in names
    for brain in ("brain-regime", "brain-trend"):
        assert envs[brain]["TRADEHIVE_BRAIN_ROUTER"] in names
        assert envs[brain]["TRADEHIVE_BRAIN_TRADER"] in {"", *names}
    assert envs["brain-regime"]["TRADEHIVE_BRAIN_STRATEGY"] == "regime"
    assert envs["brain-regime"]["TRADEHIVE_BRAIN_TRADER"] == ""
    assert json.loads(envs["brain-trend"]["TRADEHIVE_BRAIN_SIGNALS_FROM"]) == ["brain-regime"]
    assert envs["brain-trend"]["TRADEHIVE_BRAIN_TRADER"] == "trader"

    # Non-root, no privilege escalation, bounded resources, a writable /tmp on a read-only root.
    for wl in workloads(docs):
        pod_sc = wl["spec"]["template"]["spec"]["securityContext"]
        assert pod_sc["runAsNonRoot"] is True and pod_sc["runAsUser"] != 0
        mounts_needed = {v["name"] for v in wl["spec"]["template"]["spec"].get("volumes", [])}
        mounts_needed |= {
            t["metadata"]["name"] for t in wl["spec"].get("volumeClaimTemplates", [])
        }  # StatefulSet
        for c in containers(wl):
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"]
            if sc.get("readOnlyRootFilesystem"):
                assert "/tmp" in {m["mountPath"] for m in c.get("volumeMounts", [])}
            assert {m["name"] for m in c.get("volumeMounts", [])} <= mounts_needed
            res = c["resources"]
            for key in ("cpu", "memory"):
                assert quantity(res["requests"][key]) <= quantity(res["limits"][key]), (
                    wl["metadata"]["name"],
                    key,
                )


def test_base_invariants() -> None:
    check_invariants(base_docs())


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_overlay_invariants(overlay: str) -> None:
    docs = render(overlay)
    check_invariants(docs)
    namespace = OVERLAYS[overlay]
    assert by_kind_name(docs, "Namespace", namespace)
    for d in docs:
        if d["kind"] != "Namespace":
            assert d["metadata"].get("namespace") == namespace, f"{d['kind']}/{d['metadata']['name']}"


def _lb_router(ds: list[Doc]) -> None:
    selector = {"app.kubernetes.io/component": "router", "app.kubernetes.io/instance": "router"}
    spec = {"selector": selector, "ports": [{"port": 5550}]}
    ds.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "router-lb"}, "spec": spec})


def _links_on(ds: list[Doc]) -> None:
    by_kind_name(ds, "StatefulSet", "feeder")["spec"]["template"]["spec"]["enableServiceLinks"] = True


def _agent_container(ds: list[Doc], name: str) -> Doc:
    return by_kind_name(ds, "StatefulSet", name)["spec"]["template"]["spec"]["containers"][0]


def _shared_name(ds: list[Doc]) -> None:
    env = _agent_container(ds, "router")["env"]
    next(e for e in env if e["name"] == "AGENTCORE_ADVERTISE_HOST")["value"] = "router"


def _pyro_var(ds: list[Doc]) -> None:
    by_kind_name(ds, "ConfigMap", "tradehive-fabric")["data"]["PYRO_NS_HOST"] = "x"


def _readiness_on_healthz(ds: list[Doc]) -> None:
    _agent_container(ds, "trader")["readinessProbe"]["httpGet"]["path"] = "/healthz"


def _unknown_setting(ds: list[Doc]) -> None:
    by_kind_name(ds, "ConfigMap", "tradehive-brain-trend")["data"]["TRADEHIVE_BRAIN_SIGNAL_FROM"] = "[]"


def _two_routers(ds: list[Doc]) -> None:
    by_kind_name(ds, "StatefulSet", "router")["spec"]["replicas"] = 2


def _scrape_wrong_port(ds: list[Doc]) -> None:
    sts = by_kind_name(ds, "StatefulSet", "brain-trend")
    sts["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] = "9901"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_lb_router, "ClusterIP Service router-lb load-balances agent router"),
        (_links_on, "feeder: enableServiceLinks must be false"),
        (_shared_name, "router: advertises 'router', not its pod"),
        (_pyro_var, r"ConfigMap tradehive-fabric sets \['PYRO_NS_HOST'\]"),
        (_readiness_on_healthz, "trader: readiness on /healthz"),
        (_unknown_setting, "TRADEHIVE_BRAIN_SIGNAL_FROM"),
        (_two_routers, "router: a fixed agent name allows one pod"),
        (_scrape_wrong_port, "brain-trend: scraped on 9901"),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else "",
)
def test_invariant_check_catches_violations(change: Any, message: str) -> None:
    """The checks above can fail, each for the reason it names."""
    docs = json.loads(json.dumps(base_docs()))
    check_invariants(docs)
    change(docs)
    with pytest.raises((AssertionError, ConfigError), match=message):
        check_invariants(docs)


def test_prometheus_k8s_config_matches_the_annotations() -> None:
    if not PROMETHEUS_K8S.is_file():
        pytest.skip(f"{PROMETHEUS_K8S.relative_to(ROOT)} does not exist")
    (job,) = yaml.safe_load(PROMETHEUS_K8S.read_text())["scrape_configs"]
    assert job["kubernetes_sd_configs"] == [{"role": "pod"}]
    sources = {tuple(r.get("source_labels", [])): r for r in job["relabel_configs"]}
    keep = sources[("__meta_kubernetes_pod_annotation_prometheus_io_scrape",)]
    assert keep["action"] == "keep" and keep["regex"] == "true"
    assert ("__address__", "__meta_kubernetes_pod_annotation_prometheus_io_port") in sources
    assert (
        sources[("__meta_kubernetes_pod_annotation_prometheus_io_path",)]["target_label"]
        == "__metrics_path__"
    )
    # The labels it turns into `agent` and `role` are on every agent pod.
    assert ("__meta_kubernetes_pod_label_app_kubernetes_io_instance",) in sources
    assert ("__meta_kubernetes_pod_label_app_kubernetes_io_component",) in sources
    for sts in agent_sets(base_docs()):
        labels = sts["spec"]["template"]["metadata"]["labels"]
        assert {"app.kubernetes.io/instance", "app.kubernetes.io/component"} <= set(labels)


def test_dev_overlay_runs_the_simulator_one_replica_each() -> None:
    docs = render("dev")
    feeder = by_kind_name(docs, "StatefulSet", "feeder")
    env = effective_env(docs, feeder, feeder["spec"]["template"]["spec"]["containers"][0])
    assert env["TRADEHIVE_FEEDER_DATA_DIR"] == ""
    assert all(w["spec"]["replicas"] == 1 for w in workloads(docs))
    assert not [d for d in docs if d["kind"] == "PersistentVolumeClaim"]


def test_replay_overlay_mounts_the_data_read_only() -> None:
    docs = render("replay")
    feeder = by_kind_name(docs, "StatefulSet", "feeder")
    pod = feeder["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    env = effective_env(docs, feeder, c)
    data_dir = env["TRADEHIVE_FEEDER_DATA_DIR"]
    assert data_dir.startswith("/")
    (mount,) = [m for m in c["volumeMounts"] if m["mountPath"] == data_dir]
    assert mount["readOnly"] is True
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume["persistentVolumeClaim"]["readOnly"] is True
    assert by_kind_name(docs, "PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
    # Only the feeder reads the data.
    for sts in agent_sets(docs):
        if sts["metadata"]["name"] != "feeder":
            (other,) = sts["spec"]["template"]["spec"]["containers"]
            assert "/data" not in {m["mountPath"] for m in other.get("volumeMounts", [])}


def test_attach_overlay_advertises_what_port_forward_forwards() -> None:
    """Each agent's ``host`` listener names the local ports that port-forward.sh forwards to its Pyro port, its
    HTTP port and the container port of each alias (``zmq-<alias>``); the other agent settings are the dev
    overlay's; the same host ports as deploy/docker-compose.yml."""
    from agentcore.settings import Listener

    script = (K8S / "overlays" / "attach" / "port-forward.sh").read_text()
    forwards = {
        m[1]: {int(local): int(remote) for local, remote in re.findall(r"(\d+):(\d+)", m[2])}
        for m in re.finditer(r"^fwd pod/([a-z-]+)-0 (.*)$", script, re.M)
    }
    assert "fwd svc/nameserver 9090:9090" in script
    docs, dev = render("attach"), render("dev")
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())["services"]
    assert {s["metadata"]["name"] for s in agent_sets(docs)} == set(forwards)
    for sts in agent_sets(docs):
        name = sts["metadata"]["name"]
        (c,) = sts["spec"]["template"]["spec"]["containers"]
        full = effective_env(docs, sts, c)
        listener = from_env(AgentSettings, FABRIC_PREFIX, full).advertise_networks["host"]
        assert listener.host == "127.0.0.1"
        fwd = forwards[name]
        assert fwd[listener.pyro_port] == named_port(c, "pyro") and fwd[listener.http_port] == named_port(
            c, "http"
        )
        assert {alias: fwd[port] for alias, port in listener.ports.items()} == {
            alias: named_port(c, f"zmq-{alias}") for alias in listener.ports
        }
        assert set(fwd) == {listener.pyro_port, listener.http_port, *listener.ports.values()}
        (dev_c,) = by_kind_name(dev, "StatefulSet", name)["spec"]["template"]["spec"]["containers"]
        before = effective_env(dev, by_kind_name(dev, "StatefulSet", name), dev_c)
        assert {k: v for k, v in full.items() if k != "AGENTCORE_ADVERTISE_NETWORKS"} == before
        raw = compose[name]["environment"]["AGENTCORE_ADVERTISE_NETWORKS"]
        in_compose = json.loads(raw.replace("${TRADEHIVE_ADVERTISE_ADDR:-127.0.0.1}", "127.0.0.1"))["host"]
        assert listener == Listener(**in_compose), f"{name}: compose and the cluster advertise other ports"
