"""Sentry signs a certificate only for a token its jwks validator accepts. A daprd started here
(outside the stack, with an app id that is none of the stack's) asks it for a certificate with
a token it has no right to; Sentry refuses, and daprd exits without ever serving."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from deploy.stack.identity import (
    NAMESPACE,
    app_spiffe_id,
    sign_token,
    token_claims,
    token_file,
    trust_anchors,
)
from deploy.stack.paths import dapr_bin
from deploy.stack.sentry import SENTRY_ADDRESS

INTRUDER = "intruder-not-of-the-stack"


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def start_intruder(tmp_path: Path, token: str | None) -> tuple[subprocess.Popen, Path]:
    """A daprd for INTRUDER with mTLS, asking the run's Sentry for a certificate with `token`."""
    http, grpc, internal, metrics = free_ports(4)
    resources = tmp_path / "resources"  # none: not the user's ~/.dapr/components
    resources.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "NAMESPACE": NAMESPACE,
        "DAPR_TRUST_ANCHORS": trust_anchors(),
    }
    if token is not None:
        path = tmp_path / "token.jwt"
        path.write_text(token)
        path.chmod(0o600)
        env["DAPR_SENTRY_TOKEN_FILE"] = str(path)
    argv = [
        str(dapr_bin("daprd")),
        "--app-id",
        INTRUDER,
        "--dapr-listen-addresses",
        "127.0.0.1",
        "--dapr-http-port",
        str(http),
        "--dapr-grpc-port",
        str(grpc),
        "--dapr-internal-grpc-port",
        str(internal),
        "--dapr-internal-grpc-listen-address",
        "127.0.0.1",
        "--metrics-port",
        str(metrics),
        "--enable-metrics=false",
        "--resources-path",
        str(resources),
        "--enable-mtls",
        "--sentry-address",
        SENTRY_ADDRESS,
    ]
    log = tmp_path / "daprd.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    return proc, log


@pytest.fixture
def intruder(stack: None, tmp_path: Path) -> Iterator:
    started: list[subprocess.Popen] = []

    def run(token: str | None) -> tuple[int | None, str]:
        """Starts it and waits for it to exit (at most 30 s): its exit code and log."""
        proc, log = start_intruder(tmp_path, token)
        started.append(proc)
        try:
            code: int | None = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            code = None
        return code, log.read_text(errors="replace")

    yield run
    for proc in started:  # only what this test started, by its own handle
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def foreign_token(subject: str) -> str:
    """Right subject and audience, signed by a key that is not the run's."""
    key = ec.generate_private_key(ec.SECP256R1())
    return sign_token(token_claims(subject, int(time.time())), key)


REFUSALS = {  # case -> what Sentry answers, as daprd logs it
    "another-apps-token": '\\"sub\\" not satisfied',
    "foreign-key": "could not verify message",
    "no-token": "a validator name must be specified",
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_sentry_refuses_a_certificate_without_a_valid_token(intruder, case):
    token = {
        # A genuine token of the run, for another app id (anyone who can read it has it)
        "another-apps-token": token_file("payment-service").read_text(),
        "foreign-key": foreign_token(app_spiffe_id(INTRUDER)),
        "no-token": None,
    }[case]
    code, log = intruder(token)
    assert code not in (None, 0), f"daprd did not exit: {log[-2000:]}"
    assert "failed to retrieve the initial identity" in log, log[-2000:]
    assert REFUSALS[case] in log, log[-2000:]
