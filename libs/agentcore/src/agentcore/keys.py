"""Key material of a secured deployment: a CA, TLS certificates and CurveZMQ key pairs per identity, a policy.

Layout of a keys directory (``agentcore keys init DIR``)::

    DIR/ca.crt                          the CA certificate (public)
    DIR/ca.key                          the CA's private key: keep it off the agents (never in a Secret or image)
    DIR/policy.yaml                     who may connect to which socket, which Pyro methods agents may call
    DIR/public/<id>.key                 every identity's Curve public key (zmq.auth's format; public)
    DIR/identities/<id>/tls.crt|tls.key the identity's certificate (OU agent or operator) and its private key
    DIR/identities/<id>/curve.key|curve.key_secret  its Curve key pair

An identity is an agent role (``router``: every router agent shares it), the name server (``nameserver``) or an
operator (a person or a tool allowed to steer agents). Nothing here is ever logged.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
from pathlib import Path

import msgspec
import yaml
import zmq.auth

from agentcore.errors import ConfigError

NAMESERVER = "nameserver"
OPERATOR = "operator"  # the role every operator identity has in socket allow-lists
OU_AGENT = "agent"
OU_OPERATOR = "operator"
DEFAULT_AGENT_METHODS = ("status", "ping", "get_attr")


class Policy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Who may talk to whom. ``sockets`` maps ``<role>.<alias>`` to the roles that may connect to it
    (``operator`` = any operator identity); a bound socket not listed admits every known identity."""

    roles: list[str]
    operators: list[str] = msgspec.field(default_factory=lambda: [OPERATOR])
    sockets: dict[str, list[str]] = {}
    # Pyro methods an agent certificate may call (every other @remote method needs an operator certificate)
    agent_methods: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_AGENT_METHODS))
    sans: list[str] = []  # extra DNS names / IP addresses on every certificate
    hosts: dict[str, list[str]] = {}  # identity -> extra DNS names on its certificate (e.g. brain-trend)
    days: int = 365

    def identities(self) -> list[str]:
        return [NAMESERVER, *self.roles, *self.operators]

    def sans_of(self, identity: str) -> list[str]:
        return [*self.sans, *self.hosts.get(identity, [])]

    def role_of(self, identity: str) -> str:
        return OPERATOR if identity in self.operators else identity

    def allowed(self, role: str, alias: str) -> frozenset[str] | None:
        """Roles admitted to ``role``'s socket ``alias``; None = every known identity."""
        roles = self.sockets.get(f"{role}.{alias}")
        return None if roles is None else frozenset(roles)


def load_policy(path: str | Path) -> Policy:
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read security policy {p}: {exc}") from exc
    try:
        policy = msgspec.convert(data, Policy)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"security policy {p}: {exc}") from exc
    bad = [i for i in policy.identities() if not i or "/" in i or i.startswith(".")]
    if bad or len(set(policy.identities())) != len(policy.identities()):
        raise ConfigError(f"security policy {p}: identities must be unique plain names ({bad})")
    return policy


# -------------------------------------------------------------------------------------------- certificates
def _ec_key() -> object:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: object) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_secret(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def make_ca(directory: Path, days: int = 3650) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    key = _ec_key()
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "agentcore"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "agentcore CA")])  # fmt: skip
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key())  # type: ignore[attr-defined]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())  # type: ignore[arg-type]
    )  # fmt: skip
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ca.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_secret(directory / "ca.key", _pem_key(key))


def _sans(identity: str, extra: list[str]) -> list[object]:
    from cryptography import x509

    names: list[object] = []
    for host in ["localhost", identity, "127.0.0.1", "::1", *extra]:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def issue(directory: str | Path, identity: str, *, operator: bool = False, sans: list[str] | None = None,
          days: int = 365) -> Path:  # fmt: skip
    """(Re)issue ``identity``'s certificate (signed by ``DIR/ca.key``) and Curve key pair: also key rotation."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    d = Path(directory)
    try:
        ca_cert = x509.load_pem_x509_certificate((d / "ca.crt").read_bytes())
        ca_key = serialization.load_pem_private_key((d / "ca.key").read_bytes(), None)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"no usable CA in {d} (ca.crt, ca.key): {exc}") from exc
    key = _ec_key()
    subject = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "agentcore"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, OU_OPERATOR if operator else OU_AGENT),
        x509.NameAttribute(NameOID.COMMON_NAME, identity),
    ])  # fmt: skip
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(ca_cert.subject)
        .public_key(key.public_key())  # type: ignore[attr-defined]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(_sans(identity, sans or [])), critical=False)  # type: ignore[arg-type]
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )  # fmt: skip
    home = d / "identities" / identity
    home.mkdir(parents=True, exist_ok=True)
    (home / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_secret(home / "tls.key", _pem_key(key))
    for old in ("curve.key", "curve.key_secret"):
        (home / old).unlink(missing_ok=True)
    pub, secret = zmq.auth.create_certificates(str(home), "curve")
    os.chmod(secret, 0o600)
    (d / "public").mkdir(exist_ok=True)
    shutil.copyfile(pub, d / "public" / f"{identity}.key")
    return home


def init(directory: str | Path, policy_path: str | Path | None = None, roles: list[str] | None = None,
         operators: list[str] | None = None, force: bool = False) -> Policy:  # fmt: skip
    """A new keys directory: CA, policy and every identity of the policy (or of ``roles``/``operators``)."""
    d = Path(directory)
    if (d / "ca.key").exists() and not force:
        raise ConfigError(f"{d} already holds a CA (use `agentcore keys issue` to rotate one identity)")
    if policy_path is not None:
        policy = load_policy(policy_path)
    else:
        policy = Policy(roles=list(roles or []), operators=list(operators or [OPERATOR]))
    d.mkdir(parents=True, exist_ok=True)
    os.chmod(d, 0o700)
    (d / "policy.yaml").write_text(yaml.safe_dump(msgspec.to_builtins(policy), sort_keys=False))
    make_ca(d)
    for identity in policy.identities():
        issue(
            d,
            identity,
            operator=identity in policy.operators,
            sans=policy.sans_of(identity),
            days=policy.days,
        )
    return policy


def k8s_secrets(directory: str | Path, namespace: str = "", prefix: str = "agentcore-keys") -> str:
    """Kubernetes Secrets (one per identity: its own keys, the CA certificate, the policy and the public keys),
    as multi-document YAML. The CA's private key is never included."""
    import base64

    d = Path(directory)
    policy = load_policy(d / "policy.yaml")
    shared = {"ca.crt": d / "ca.crt", "policy.yaml": d / "policy.yaml"}
    shared.update({f"public.{p.name}": p for p in sorted((d / "public").glob("*.key"))})
    docs = []
    for identity in policy.identities():
        home = d / "identities" / identity
        files = dict(shared)
        files.update({f"own.{n}": home / n for n in ("tls.crt", "tls.key", "curve.key", "curve.key_secret")})
        meta: dict[str, object] = {
            "name": f"{prefix}-{identity}",
            "labels": {"app.kubernetes.io/part-of": prefix},
        }
        if namespace:
            meta["namespace"] = namespace
        data = {k: base64.b64encode(p.read_bytes()).decode() for k, p in files.items()}
        docs.append({"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque", "data": data})
    return str(yaml.safe_dump_all(docs, sort_keys=False))


def secret_items(identity: str, public_ids: list[str]) -> list[dict[str, str]]:
    """The ``items`` of a Secret volume that lays a k8s Secret out as a keys directory."""
    items = [{"key": "ca.crt", "path": "ca.crt"}, {"key": "policy.yaml", "path": "policy.yaml"}]
    items += [{"key": f"public.{i}.key", "path": f"public/{i}.key"} for i in public_ids]
    items += [{"key": f"own.{n}", "path": f"identities/{identity}/{n}"}
              for n in ("tls.crt", "tls.key", "curve.key", "curve.key_secret")]  # fmt: skip
    return items
