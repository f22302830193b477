"""deploy/stack/identity.py and sentry.py: the tokens Sentry's jwks validator accepts, the files
they live in, and the flags that put every Dapr process on mTLS."""

from __future__ import annotations

import json
from pathlib import Path

import jwt
import pytest
import yaml

from deploy.stack.identity import (
    SENTRY_AUDIENCE,
    TOKEN_TTL_SECONDS,
    app_spiffe_id,
    control_plane_spiffe_id,
    new_identity_material,
    subjects,
    token_claims,
)
from deploy.stack.paths import ROOT
from deploy.stack.sentry import (
    SENTRY_ADDRESS,
    SENTRY_CONFIG_TEMPLATE,
    control_plane_mtls_args,
    daprd_mtls_args,
    identity_env,
    sentry_configuration,
)

APPS = ["gateway", "order-service"]
NOW = 1_800_000_000


def test_spiffe_ids_are_those_daprd_and_the_control_plane_ask_for():
    assert app_spiffe_id("order-service") == "spiffe://public/ns/default/order-service"
    assert control_plane_spiffe_id("dapr-placement") == (
        "spiffe://localhost/ns/default/dapr-placement"
    )
    assert SENTRY_AUDIENCE == "spiffe://localhost/ns/default/dapr-sentry"
    assert set(subjects(APPS)) == {*APPS, "dapr-placement", "dapr-scheduler"}


def test_token_claims():
    claims = token_claims(app_spiffe_id("gateway"), NOW)
    assert claims == {
        "sub": "spiffe://public/ns/default/gateway",
        "aud": SENTRY_AUDIENCE,
        "iat": NOW,
        "nbf": NOW - 60,
        "exp": NOW + TOKEN_TTL_SECONDS,
    }


@pytest.fixture
def material(tmp_path: Path) -> Path:
    directory = tmp_path / "secrets" / "identity"
    new_identity_material(APPS, directory=directory)
    return directory


def test_every_token_verifies_against_the_jwks_and_nothing_else(material):
    jwks = jwt.PyJWKSet.from_dict(json.loads((material / "jwks.json").read_text()))
    (key,) = jwks.keys
    for name, subject in subjects(APPS).items():
        token = (material / "tokens" / f"{name}.jwt").read_text()
        assert jwt.get_unverified_header(token)["kid"] == key.key_id
        claims = jwt.decode(token, key.key, algorithms=["ES256"], audience=SENTRY_AUDIENCE)
        assert claims["sub"] == subject
    published = json.loads((material / "jwks.json").read_text())["keys"]
    assert [sorted(k) for k in published] == [["alg", "crv", "kid", "kty", "use", "x", "y"]]


def test_the_files_are_private_and_the_signing_key_is_not_kept(material):
    assert material.stat().st_mode & 0o777 == 0o700
    assert material.parent.stat().st_mode & 0o777 == 0o700
    assert (material / "sentry").stat().st_mode & 0o777 == 0o700
    files = [p for p in material.rglob("*") if p.is_file()]
    assert {p.name for p in files} == {"jwks.json", *(f"{n}.jwt" for n in subjects(APPS))}
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in files)


def test_a_new_run_replaces_every_token(material):
    before = (material / "tokens" / "gateway.jwt").read_text()
    new_identity_material(APPS, directory=material)
    assert (material / "tokens" / "gateway.jwt").read_text() != before


def test_sentry_configuration_uses_the_run_jwks_and_no_insecure_validator(tmp_path):
    doc = yaml.safe_load(sentry_configuration(SENTRY_CONFIG_TEMPLATE, tmp_path / "jwks.json"))
    mtls = doc["spec"]["mtls"]
    assert mtls["enabled"] is True
    assert mtls["tokenValidators"] == [
        {"name": "jwks", "options": {"source": str(tmp_path / "jwks.json")}}
    ]


def test_every_dapr_process_is_on_mtls():
    assert daprd_mtls_args() == ["--enable-mtls", "--sentry-address", SENTRY_ADDRESS]
    args = control_plane_mtls_args()
    assert "--tls-enabled" in args and args[args.index("--trust-domain") + 1] == "localhost"
    env = identity_env("dapr-scheduler")
    assert env["NAMESPACE"] == "default"
    assert env["DAPR_SENTRY_TOKEN_FILE"].endswith("/secrets/identity/tokens/dapr-scheduler.jwt")
    assert (ROOT / "dapr" / "sentry.yaml") == SENTRY_CONFIG_TEMPLATE
