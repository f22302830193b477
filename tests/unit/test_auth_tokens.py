"""Bearer token validation (apps/gateway/tokens.py): only an ES256 token signed by our key, for
our issuer and audience, unexpired, with a valid subject and a known role, is accepted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from apps.gateway.auth import bearer_token
from apps.gateway.devtoken import issue
from apps.gateway.main import token_verifier
from apps.gateway.tokens import CLOCK_SKEW, InvalidToken, Principal, Role, TokenVerifier
from tests.unit.gateway_app import AUDIENCE, ISSUER, Keys, new_keys


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    return new_keys(tmp_path)


@pytest.fixture
def verifier(keys: Keys) -> TokenVerifier:
    return token_verifier(keys.settings)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**changes: object) -> dict:
    now = int(datetime.now(UTC).timestamp())
    base = {
        "sub": "alice",
        "role": "customer",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 300,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def refused(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token)
    return str(caught.value)


def test_a_good_token_names_its_subject_and_role(keys, verifier):
    assert verifier.verify(keys.token("alice", Role.CUSTOMER)) == Principal("alice", Role.CUSTOMER)
    admin = verifier.verify(keys.token("ops-1", Role.ADMIN))
    assert admin.is_admin and admin.may_act_for("anyone")


def test_a_customer_acts_for_itself_only():
    alice = Principal("alice", Role.CUSTOMER)
    assert alice.may_act_for("alice")
    assert not alice.may_act_for("bob")
    assert not alice.may_act_for("Alice")


def test_another_keys_signature_is_refused(keys, verifier):
    stranger = ec.generate_private_key(ec.SECP256R1())
    assert refused(verifier, keys.token("alice", Role.CUSTOMER, key=stranger)) == "bad signature"


def test_a_tampered_payload_is_refused(keys, verifier):
    header, _payload, signature = keys.token("alice", Role.CUSTOMER).split(".")
    forged = b64(json.dumps(claims(role="admin")).encode())
    assert refused(verifier, f"{header}.{forged}.{signature}") == "bad signature"


def test_an_expired_token_is_refused(keys, verifier):
    issued = datetime.now(UTC) - timedelta(hours=2)
    token = keys.token("alice", Role.CUSTOMER, now=issued, lifetime=timedelta(hours=1))
    assert refused(verifier, token) == "token expired"


def test_expiry_allows_a_little_clock_skew_but_no_more(keys, verifier):
    just_expired = datetime.now(UTC) - timedelta(minutes=5, seconds=10)
    assert verifier.verify(keys.token("alice", Role.CUSTOMER, now=just_expired))
    long_expired = datetime.now(UTC) - timedelta(minutes=5, seconds=60)
    assert refused(verifier, keys.token("alice", Role.CUSTOMER, now=long_expired))


def test_a_token_verified_before_is_refused_once_it_expires(keys, verifier):
    """Verified tokens are remembered, but only until their expiry (plus the clock skew)."""
    issued = datetime.now(UTC) - CLOCK_SKEW - timedelta(seconds=1)
    token = keys.token("alice", Role.CUSTOMER, now=issued, lifetime=timedelta(seconds=4))
    assert verifier.verify(token) == Principal("alice", Role.CUSTOMER)
    assert verifier.verify(token) == Principal("alice", Role.CUSTOMER)
    expiry = jwt.decode(token, options={"verify_signature": False})["exp"]
    while time.time() < expiry + CLOCK_SKEW.total_seconds():
        time.sleep(0.05)
    assert refused(verifier, token) == "token expired"


def test_a_token_verified_before_does_not_vouch_for_an_altered_copy(keys, verifier):
    token = keys.token("alice", Role.CUSTOMER)
    assert verifier.verify(token)
    header, payload, signature = token.split(".")
    forged = b64(json.dumps(claims(role="admin")).encode())
    assert refused(verifier, f"{header}.{forged}.{signature}") == "bad signature"
    assert refused(verifier, token + "x")


def test_a_token_of_another_issuer_is_refused(keys, verifier):
    token = keys.token("alice", Role.CUSTOMER, issuer="someone-else")
    assert refused(verifier, token) == "token from an unknown issuer"


def test_a_token_for_another_audience_is_refused(keys, verifier):
    token = keys.token("alice", Role.CUSTOMER, audience="another-api")
    assert refused(verifier, token) == "token is for another audience"


@pytest.mark.parametrize("claim", ["sub", "role", "iss", "aud", "iat", "exp"])
def test_a_token_without_a_required_claim_is_refused(keys, verifier, claim):
    token = jwt.encode(claims(**{claim: None}), keys.private, algorithm="ES256")
    assert refused(verifier, token)


@pytest.mark.parametrize("role", ["superuser", "", "ADMIN", 1, ["admin"], None])
def test_a_missing_or_unknown_role_is_refused(keys, verifier, role):
    token = jwt.encode(claims(role=role), keys.private, algorithm="ES256")
    assert refused(verifier, token)


@pytest.mark.parametrize("subject", ["", "a b", "-dash", "alice\n", "x" * 65, "é"])
def test_a_subject_that_is_not_an_id_is_refused(keys, verifier, subject):
    token = jwt.encode(claims(sub=subject), keys.private, algorithm="ES256")
    assert refused(verifier, token)


def test_alg_none_is_refused(verifier):
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    token = f"{header}.{b64(json.dumps(claims(role='admin')).encode())}."
    assert refused(verifier, token) == "only ES256 tokens are accepted"


def test_hs256_signed_with_the_public_key_is_refused(keys, verifier):
    """The classic algorithm confusion: an HMAC keyed with the (public) verification key."""
    public_pem = keys.settings.public_key_file.read_bytes()
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims(role="admin")).encode())
    mac = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert refused(verifier, f"{header}.{payload}.{b64(mac)}") == "only ES256 tokens are accepted"


def test_another_ecdsa_curve_is_refused(verifier):
    p384 = ec.generate_private_key(ec.SECP384R1())
    token = jwt.encode(claims(role="admin"), p384, algorithm="ES384")
    assert refused(verifier, token) == "only ES256 tokens are accepted"


@pytest.mark.parametrize("garbage", ["x", "a.b.c", "....", "e30.e30.e30", "x" * 5000])
def test_garbage_is_refused_not_raised(verifier, garbage):
    assert refused(verifier, garbage)


@pytest.mark.parametrize(
    ("header", "token"),
    [
        (None, None),
        ("Basic dXNlcjpwYXNz", None),  # another scheme: as if no token was sent
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer   abc.def.ghi ", "abc.def.ghi"),
    ],
)
def test_the_bearer_token_is_read_from_the_header(header, token):
    assert bearer_token(header) == token


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer a b"])
def test_a_malformed_bearer_header_is_an_invalid_token(header):
    with pytest.raises(InvalidToken):
        bearer_token(header)


def test_the_gateway_refuses_to_start_with_a_key_that_is_not_p256(keys, tmp_path):
    p384_public = ec.generate_private_key(ec.SECP384R1()).public_key()
    other = tmp_path / "p384.pub"
    other.write_bytes(
        p384_public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    with pytest.raises(RuntimeError, match="cannot load the token public key"):
        token_verifier(type(keys.settings)(ISSUER, AUDIENCE, other, other))
    with pytest.raises(RuntimeError, match="make setup"):
        token_verifier(type(keys.settings)(ISSUER, AUDIENCE, tmp_path / "absent", other))


def test_the_token_command_signs_what_the_gateway_accepts(keys, verifier):
    token = issue("bob", Role.ADMIN, timedelta(minutes=1), keys.settings)
    assert verifier.verify(token) == Principal("bob", Role.ADMIN)
