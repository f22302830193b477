"""Bearer tokens: JWTs signed ES256 (ECDSA P-256, SHA-256).

The gateway only verifies (public key); signing is for the development token command
(apps/gateway/devtoken.py) and the tests. A token names its subject (`sub`, the customer id for a
customer) and one role (`role`); it must carry `iss`, `aud`, `iat` and `exp`, and is refused
unless the signature, issuer, audience and expiry all check out. Only ES256 is accepted, whatever
the token's header says, so `alg: none` and HS256 signed with the public key are refused.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from apps.common.contracts import IDENTIFIER_PATTERN

ALGORITHM = "ES256"
REQUIRED_CLAIMS = ["sub", "role", "iss", "aud", "iat", "exp"]
CLOCK_SKEW = timedelta(seconds=30)
MAX_TOKEN_CHARS = 4096
_SUBJECT = re.compile(IDENTIFIER_PATTERN)


class Role(StrEnum):
    CUSTOMER = "customer"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """Who sent a request, as its token says."""

    subject: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def may_act_for(self, customer_id: str) -> bool:
        """An admin acts for any customer; a customer only for itself."""
        return self.is_admin or customer_id == self.subject


class InvalidToken(Exception):
    """A token was given but cannot be trusted; the message is safe to show the client."""


# What the client is told for each way a token fails (RFC 6750 error_description).
_REASONS: list[tuple[type[jwt.PyJWTError], str]] = [
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.ImmatureSignatureError, "token not valid yet"),
    (jwt.InvalidAudienceError, "token is for another audience"),
    (jwt.InvalidIssuerError, "token from an unknown issuer"),
    (jwt.InvalidAlgorithmError, f"only {ALGORITHM} tokens are accepted"),
    (jwt.InvalidSignatureError, "bad signature"),
    (jwt.MissingRequiredClaimError, "a required claim is missing"),
]


def _reason(error: jwt.PyJWTError) -> str:
    return next((text for kind, text in _REASONS if isinstance(error, kind)), "malformed token")


def load_public_key(path: Path) -> ec.EllipticCurvePublicKey:
    key = load_pem_public_key(path.read_bytes())
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError(f"{path}: not an EC P-256 public key")
    return key


def load_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError(f"{path}: not an EC P-256 private key")
    return key


class TokenVerifier:
    """Verifies tokens. Checking the signature is the costliest step of AccessGuard per request,
    and a client sends the same token again and again, so a token that passed is remembered
    (at most `cache_size`, least recently used dropped first) until it expires: from then on it
    is verified afresh, and refused. A refused token is never remembered."""

    def __init__(
        self,
        public_key: ec.EllipticCurvePublicKey,
        issuer: str,
        audience: str,
        cache_size: int = 1024,
    ) -> None:
        self.public_key, self.issuer, self.audience = public_key, issuer, audience
        self.cache_size = cache_size
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def verify(self, token: str) -> Principal:
        cached = self._verified.get(token)
        if cached is not None:
            principal, good_until = cached
            if time.time() < good_until:
                self._verified.move_to_end(token)
                return principal
            del self._verified[token]
        principal, expiry = self._verify(token)
        # PyJWT refuses a token once now >= exp + leeway: it is good until then.
        self._verified[token] = (principal, expiry + CLOCK_SKEW.total_seconds())
        if len(self._verified) > self.cache_size:
            self._verified.popitem(last=False)
        return principal

    def _verify(self, token: str) -> tuple[Principal, int]:
        """The token's principal and expiry (`exp`), or InvalidToken."""
        if len(token) > MAX_TOKEN_CHARS:
            raise InvalidToken("token too long")
        try:
            claims = jwt.decode(
                token,
                self.public_key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                audience=self.audience,
                leeway=CLOCK_SKEW,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(_reason(error)) from error
        subject, role = claims["sub"], claims["role"]
        if not (isinstance(subject, str) and len(subject) <= 64 and _SUBJECT.fullmatch(subject)):
            raise InvalidToken("subject is not a valid id")
        if not isinstance(role, str) or role not in {r.value for r in Role}:
            raise InvalidToken(f"role must be one of {', '.join(Role)}")
        return Principal(subject, Role(role)), int(claims["exp"])


def mint_token(
    private_key: ec.EllipticCurvePrivateKey,
    *,
    subject: str,
    role: Role,
    issuer: str,
    audience: str,
    lifetime: timedelta,
    now: datetime | None = None,
) -> str:
    issued = now or datetime.now(UTC)
    claims = {
        "sub": subject,
        "role": str(role),
        "iss": issuer,
        "aud": audience,
        "iat": int(issued.timestamp()),
        "exp": int((issued + lifetime).timestamp()),
    }
    return jwt.encode(claims, private_key, algorithm=ALGORITHM)
