"""A real, throw-away Kubernetes API server for the chart's server-side dry run: etcd and
kube-apiserver (built by deploy/setup/kube.sh) on 127.0.0.1, on free ports the kernel picks,
with their data, certificates and logs in a temporary directory. Certificates and the admin
token are made at start. Both processes are stopped by PID. No kubelet, scheduler or
controllers: nothing is ever run, the server only validates, defaults and admits objects.
"""

from __future__ import annotations

import datetime
import ipaddress
import secrets
import socket
import ssl
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"
START_TIMEOUT = 120.0  # the first start of kube-apiserver on a busy 2-core machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer[0].subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=2))
    )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
    else:
        sans = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), False)
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256())


def write_certificates(directory: Path) -> dict[str, Path]:
    """A CA, the server's certificate signed by it (for 127.0.0.1), and the service-account
    signing key pair the API server requires."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("order-platform-test-ca", ca_key, None)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _cert("kube-apiserver", server_key, (ca, ca_key))
    sa_key = ec.generate_private_key(ec.SECP256R1())
    files = {
        "ca": (directory / "ca.crt", ca.public_bytes(serialization.Encoding.PEM)),
        "server_cert": (directory / "server.crt", server.public_bytes(serialization.Encoding.PEM)),
        "server_key": (directory / "server.key", _pem_key(server_key)),
        "sa_key": (directory / "sa.key", _pem_key(sa_key)),
        "sa_pub": (
            directory / "sa.pub",
            sa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        ),
    }
    for path, data in files.values():
        path.write_bytes(data)
        path.chmod(0o600)
    return {name: path for name, (path, _data) in files.items()}


@dataclass
class Process:
    name: str
    proc: subprocess.Popen
    log: Path

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace").splitlines()[-lines:]
        return f"--- last lines of {self.log} ---\n" + "\n".join(text)


@dataclass
class ApiServer:
    """etcd + kube-apiserver; `url`, `token` and `ca` reach it once start() returns."""

    etcd_bin: Path
    apiserver_bin: Path
    work: Path
    url: str = ""
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    ca: Path | None = None
    processes: list[Process] = field(default_factory=list)

    def _spawn(self, name: str, argv: list[str]) -> Process:
        log = self.work / f"{name}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.work
            )
        process = Process(name, proc, log)
        self.processes.append(process)
        return process

    def _wait(self, process: Process, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if process.proc.poll() is not None:
                raise RuntimeError(
                    f"{process.name} exited with {process.proc.returncode}\n{process.tail()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{process.name} not ready after {timeout:.0f}s\n{process.tail()}"
                )
            time.sleep(0.2)

    def start(self) -> None:
        certs = write_certificates(self.work)
        self.ca = certs["ca"]
        client, peer, secure = free_port(), free_port(), free_port()
        etcd = self._spawn(
            "etcd",
            [
                str(self.etcd_bin),
                "--name=test",
                f"--data-dir={self.work / 'etcd'}",
                f"--listen-client-urls=http://{HOST}:{client}",
                f"--advertise-client-urls=http://{HOST}:{client}",
                f"--listen-peer-urls=http://{HOST}:{peer}",
                f"--initial-advertise-peer-urls=http://{HOST}:{peer}",
                f"--initial-cluster=test=http://{HOST}:{peer}",
                "--unsafe-no-fsync",  # a throw-away store: no need to wait for the disk
                "--log-level=warn",
            ],
        )
        self._wait(etcd, lambda: _ok(f"http://{HOST}:{client}/health"), 30)
        tokens = self.work / "tokens.csv"
        tokens.write_text(f"{self.token},admin,admin,system:masters\n")
        tokens.chmod(0o600)
        apiserver = self._spawn(
            "kube-apiserver",
            [
                str(self.apiserver_bin),
                f"--etcd-servers=http://{HOST}:{client}",
                f"--bind-address={HOST}",
                f"--advertise-address={HOST}",
                f"--secure-port={secure}",
                f"--tls-cert-file={certs['server_cert']}",
                f"--tls-private-key-file={certs['server_key']}",
                f"--cert-dir={self.work / 'certs'}",
                f"--token-auth-file={tokens}",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={certs['sa_pub']}",
                f"--service-account-signing-key-file={certs['sa_key']}",
                "--service-cluster-ip-range=10.96.0.0/16",
                "--enable-priority-and-fairness=false",
                "--profiling=false",
            ],
        )
        self.url = f"https://{HOST}:{secure}"
        self._wait(apiserver, self._ready, START_TIMEOUT)

    def _ready(self) -> bool:
        try:
            with self.client(timeout=2) as api:
                return api.get("/readyz").text == "ok"
        except httpx.HTTPError:
            return False

    def client(self, timeout: float = 30) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.token}"},
            verify=ssl.create_default_context(cafile=str(self.ca)),
            timeout=timeout,
        )

    def stop(self) -> None:
        """Stops what start() started, by PID, newest first."""
        for process in reversed(self.processes):
            if process.proc.poll() is None:
                process.proc.terminate()
                try:
                    process.proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.proc.kill()
                    process.proc.wait(timeout=10)
        self.processes.clear()


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
