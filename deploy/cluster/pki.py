"""The cluster's certificates: one CA, the API server's serving certificate, a client
certificate per component (its user and groups are what RBAC authorises), and the
service-account signing key. Made once per `k8s-up` into the state directory."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from deploy.cluster import settings

VALIDITY = datetime.timedelta(days=2)

# component -> (user, groups) of its client certificate
CLIENTS: dict[str, tuple[str, list[str]]] = {
    "admin": ("op-admin", ["system:masters"]),
    "controller-manager": ("system:kube-controller-manager", []),
    "scheduler": ("system:kube-scheduler", []),
    "kubelet": (f"system:node:{settings.NODE_NAME}", ["system:nodes"]),
    "proxy": ("system:kube-proxy", []),
    "apiserver-kubelet-client": ("kube-apiserver-kubelet-client", ["system:masters"]),
}


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    path.chmod(0o600)


def _name(common: str, orgs: list[str]) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    return x509.Name([*attrs, x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _builder(subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey):
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
    )


def _issue(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    name: str,
    subject: x509.Name,
    usage: ExtendedKeyUsageOID,
    sans: list[x509.GeneralName] | None = None,
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = _builder(subject, ca[0].subject, key).add_extension(
        x509.ExtendedKeyUsage([usage]), critical=False
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca[1], hashes.SHA256())
    (settings.PKI / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(settings.PKI / f"{name}.key", key)


def _api_sans() -> list[x509.GeneralName]:
    names = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"]
    names.append(f"kubernetes.default.svc.{settings.CLUSTER_DOMAIN}")
    ips = ["127.0.0.1", settings.NODE_IP, settings.API_SERVICE_IP]
    return [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]


def write_all() -> None:
    settings.PKI.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("order-platform-k8s-ca", [])
    ca_cert = (
        _builder(ca_name, ca_name, ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    (settings.PKI / "ca.crt").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    _write_key(settings.PKI / "ca.key", ca_key)
    ca = (ca_cert, ca_key)
    server = ExtendedKeyUsageOID.SERVER_AUTH
    _issue(ca, "apiserver", _name("kube-apiserver", []), server, _api_sans())
    for component, (user, groups) in CLIENTS.items():
        _issue(ca, component, _name(user, groups), ExtendedKeyUsageOID.CLIENT_AUTH)
    sa_key = ec.generate_private_key(ec.SECP256R1())
    _write_key(settings.PKI / "sa.key", sa_key)
    public = sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (settings.PKI / "sa.pub").write_bytes(public)
