"""agentcore keys: a CA, per-identity certificates and Curve keys, the policy, rotation, Kubernetes Secrets."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
import yaml
from agentcore import keys, security
from agentcore.errors import ConfigError
from cryptography import x509
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parents[3]
POLICY = ROOT / "deploy" / "security" / "policy.yaml"
pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def keydir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("keys")
    keys.init(d, POLICY)
    return d


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_every_identity_has_a_signed_certificate_and_a_curve_pair(keydir: Path) -> None:
    policy = keys.load_policy(keydir / "policy.yaml")
    assert policy.identities() == [
        "nameserver",
        "feeder",
        "router",
        "brain",
        "trader",
        "viz",
        "recorder",
        "operator",
    ]
    ca = _cert(keydir / "ca.crt")
    for identity in policy.identities():
        home = keydir / "identities" / identity
        cert = _cert(home / "tls.crt")
        ca.public_key().verify(
            cert.signature, cert.tbs_certificate_bytes, cert.signature_algorithm_parameters
        )
        ou = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value
        assert ou == ("operator" if identity == "operator" else "agent")
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == identity
        for secret in (home / "tls.key", home / "curve.key_secret"):
            assert stat.S_IMODE(secret.stat().st_mode) == 0o600  # private keys readable by their owner only
        assert (keydir / "public" / f"{identity}.key").read_text() == (home / "curve.key").read_text()
        assert "secret" not in (keydir / "public" / f"{identity}.key").read_text()
    assert stat.S_IMODE((keydir / "ca.key").stat().st_mode) == 0o600
    sans = _cert(keydir / "identities" / "brain" / "tls.crt").extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)  # fmt: skip
    assert {"brain", "brain-trend", "brain-regime-0.brain-regime", "localhost"} <= set(sans)


def test_init_refuses_to_overwrite_a_ca(keydir: Path) -> None:
    with pytest.raises(ConfigError, match="already holds a CA"):
        keys.init(keydir, POLICY)


def test_issue_rotates_one_identity_and_servers_admit_the_new_key(tmp_path: Path) -> None:
    keys.init(tmp_path, POLICY)
    server = security.KeyStore(tmp_path, "trader")
    old = security.KeyStore(tmp_path, "brain").public
    assert server.identity_of(old) == "brain"
    keys.issue(tmp_path, "brain", sans=["brain-trend"])
    new = security.KeyStore(tmp_path, "brain").public
    assert new != old
    assert server.identity_of(new, reload_after=0.0) == "brain"  # re-read from public/ without a restart
    assert server.identity_of(old, reload_after=0.0) is None  # the old key no longer gets in


def test_policy_allow_lists_follow_the_design_table(keydir: Path) -> None:
    p = keys.load_policy(keydir / "policy.yaml")
    assert p.allowed("trader", "orders") == {"brain"}
    assert p.allowed("feeder", "ticks") == {"router"}
    assert p.allowed("router", "market") == {"brain", "trader", "viz", "recorder"}
    assert p.allowed("trader", "events") == {"brain", "viz", "recorder"}
    assert p.allowed("brain", "signals") == {"brain", "viz", "recorder"}
    assert (
        "stop" not in p.agent_methods and "set_param" not in p.agent_methods and "status" in p.agent_methods
    )


def test_k8s_secrets_hold_one_identity_each_and_never_the_ca_key(keydir: Path, tmp_path: Path) -> None:
    docs = list(yaml.safe_load_all(keys.k8s_secrets(keydir, namespace="tradehive-dev")))
    assert [d["metadata"]["name"] for d in docs] == [f"agentcore-keys-{i}" for i in
                                                       keys.load_policy(keydir / "policy.yaml").identities()]  # fmt: skip
    ca_key = (keydir / "ca.key").read_bytes()
    for doc in docs:
        data = {k: base64.b64decode(v) for k, v in doc["data"].items()}
        assert ca_key not in data.values()
        identity = doc["metadata"]["name"].removeprefix("agentcore-keys-")
        others = [p for p in (keydir / "identities").iterdir() if p.name != identity]
        assert not any((o / "tls.key").read_bytes() in data.values() for o in others)
        # laid out as a mounted Secret volume, it is a keys directory for that identity
        mount = tmp_path / identity
        mount.mkdir()
        for name, blob in data.items():
            (mount / name).write_bytes(blob)
        store = security.KeyStore(mount, identity)
        assert store.identity_of(security.KeyStore(keydir, "operator").public) == "operator"


def test_k8s_secrets_are_schema_valid(keydir: Path) -> None:
    kv = pytest.importorskip("kubernetes_validate")
    for doc in yaml.safe_load_all(keys.k8s_secrets(keydir, namespace="tradehive-dev")):
        kv.validate(doc, "1.30.0", strict=True)


def test_bad_policy_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("roles: [a, a]\n")
    with pytest.raises(ConfigError, match="unique"):
        keys.load_policy(tmp_path / "p.yaml")
    (tmp_path / "p.yaml").write_text("roles: [a]\nwho: 1\n")
    with pytest.raises(ConfigError):
        keys.load_policy(tmp_path / "p.yaml")
