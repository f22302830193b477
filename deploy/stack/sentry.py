"""Dapr Sentry, the stack's certificate authority, and what every other Dapr process needs to
use it: the flags and environment of mTLS for placement, scheduler and each daprd.

Sentry must be ready before any of them starts (daprd waits at "Fetching initial identity"
until it answers), so the runner starts it in a phase of its own, right before the control plane.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from deploy.stack.identity import (
    CONTROL_PLANE_TRUST_DOMAIN,
    ISSUER_DIR,
    JWKS_FILE,
    NAMESPACE,
    TRUST_ANCHORS_FILE,
    token_file,
    trust_anchors,
)
from deploy.stack.paths import LOG_DIR, ROOT, RUN_DIR, dapr_bin
from deploy.stack.process import Service, http_ok

# Dapr's 50001 moved below the ephemeral range like the other gRPC ports; healthz next to the
# placement's (8081) and scheduler's (8082). Dapr 1.18's Sentry ignores
# --healthz-listen-address: its healthz listens on every interface (README "Security").
SENTRY_PORT, SENTRY_HEALTH = 20001, 8083
SENTRY_ADDRESS = f"127.0.0.1:{SENTRY_PORT}"
SENTRY_CONFIG_TEMPLATE = ROOT / "dapr" / "sentry.yaml"


def sentry_configuration(template: Path, jwks_file: Path) -> str:
    """The Configuration Sentry is given: `template` with its jwks validator reading jwks_file."""
    doc = yaml.safe_load(template.read_text())
    validators = doc["spec"]["mtls"]["tokenValidators"]
    jwks = next(v for v in validators if v["name"] == "jwks")
    jwks["options"]["source"] = str(jwks_file)
    header = f"# Written by deploy/stack/sentry.py from {template.name}; do not edit.\n"
    return header + yaml.safe_dump(doc, sort_keys=False)


def insecure_sentry_configuration(template: Path) -> str:
    """`template` without its token validators: Sentry's default "insecure" one then signs a
    certificate for any app id to anyone who asks (`make infra`, for the dapr CLI, whose daprd
    processes share one environment and so cannot each show a token of their own)."""
    doc = yaml.safe_load(template.read_text())
    doc["spec"]["mtls"].pop("tokenValidators", None)
    header = (
        f"# Written by deploy/stack/sentry.py from {template.name} for `make infra`, without"
        " token validators (insecure: any app id to anyone who asks); do not edit.\n"
    )
    return header + yaml.safe_dump(doc, sort_keys=False)


def sentry_service(port: int = SENTRY_PORT, validate_tokens: bool = True) -> Service:
    """validate_tokens: Sentry's jwks validator with the run's JWKS (`make up`); without it,
    the insecure validator (`make infra`, see insecure_sentry_configuration)."""
    config = RUN_DIR / "sentry" / "config.yaml"

    def prepare() -> None:
        config.parent.mkdir(parents=True, exist_ok=True)
        if not validate_tokens:
            config.write_text(insecure_sentry_configuration(SENTRY_CONFIG_TEMPLATE))
            return
        if not JWKS_FILE.is_file():
            raise RuntimeError(f"no {JWKS_FILE}: the run's identity material is missing")
        config.write_text(sentry_configuration(SENTRY_CONFIG_TEMPLATE, JWKS_FILE))

    return Service(
        name="sentry",
        argv=[
            str(dapr_bin("sentry")),
            "--config",
            str(config),
            # Its CA: generated here at its first start of the run, kept if it restarts.
            "--issuer-credentials",
            str(ISSUER_DIR),
            "--trust-domain",
            CONTROL_PLANE_TRUST_DOMAIN,
            "--port",
            str(port),
            "--listen-address",
            "127.0.0.1",
            "--healthz-port",
            str(SENTRY_HEALTH),
            "--enable-metrics=false",
            "--log-as-json",
        ],
        log=LOG_DIR / "sentry.log",
        cwd=RUN_DIR,
        ports=[port, SENTRY_HEALTH],
        ready=lambda: http_ok(f"http://127.0.0.1:{SENTRY_HEALTH}/healthz"),
        prepare=prepare,
        ready_timeout=30.0,
    )


def identity_env(name: str, with_token: bool = True) -> dict[str, str]:
    """Where a Dapr process finds the token that gets it its certificate (none for an insecure
    Sentry, which refuses a token it has no validator for). NAMESPACE is set so one in the
    caller's shell cannot change the SPIFFE ID it asks for."""
    env = {"NAMESPACE": NAMESPACE}
    if with_token:
        env["DAPR_SENTRY_TOKEN_FILE"] = str(token_file(name))
    return env


def control_plane_mtls_args(sentry_address: str = SENTRY_ADDRESS) -> list[str]:
    """Placement's and scheduler's flags: serve mTLS only, with a certificate from Sentry."""
    return [
        "--tls-enabled",
        "--sentry-address",
        sentry_address,
        "--trust-anchors-file",
        str(TRUST_ANCHORS_FILE),
        "--trust-domain",
        CONTROL_PLANE_TRUST_DOMAIN,
    ]


def daprd_mtls_args() -> list[str]:
    return ["--enable-mtls", "--sentry-address", SENTRY_ADDRESS]


def daprd_trust_env() -> dict[str, str]:
    """The CA daprd trusts, as PEM text: known only once Sentry has started (Service.late_env)."""
    return {"DAPR_TRUST_ANCHORS": trust_anchors()}
