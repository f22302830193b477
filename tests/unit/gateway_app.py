"""The gateway app for unit tests: a throw-away key pair, tokens minted with it, and a fake
sidecar (an httpx mock transport) that answers as the owning services would and records every
call the gateway forwards."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI

from apps.common.dapr import AsyncDaprClient
from apps.gateway.main import create
from apps.gateway.settings import RateLimitSettings, TokenSettings
from apps.gateway.tokens import Role, mint_token

ISSUER, AUDIENCE = "test-issuer", "test-audience"


@dataclass
class Keys:
    private: ec.EllipticCurvePrivateKey
    settings: TokenSettings

    def token(self, subject: str, role: Role | str, **overrides: Any) -> str:
        """A token signed with `key` (default: this pair's); other keywords override claims."""
        key = overrides.pop("key", self.private)
        claims: dict[str, Any] = {
            "subject": subject,
            "role": role,
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "lifetime": timedelta(minutes=5),
            "now": datetime.now(UTC),
        }
        claims.update(overrides)
        return mint_token(key, **claims)

    def headers(self, subject: str, role: Role | str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(subject, role)}"}


def new_keys(directory: Path) -> Keys:
    private = ec.generate_private_key(ec.SECP256R1())
    public_file, private_file = directory / "test.pub", directory / "test.key"
    public_file.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    private_file.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Keys(private, TokenSettings(ISSUER, AUDIENCE, public_file, private_file))


def order(order_id: str, customer_id: str) -> dict[str, Any]:
    return {"orderId": order_id, "customerId": customer_id, "status": "CONFIRMED"}


@dataclass
class FakeSidecar:
    """Answers `/v1.0/invoke/<app>/method/<path>` from `answers`, keyed by (verb, app, path);
    anything else is a 404 problem, as the owners answer."""

    answers: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    calls: list[tuple[str, str, str, dict[str, str]]] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.split("/", 5)  # "", "v1.0", "invoke", app, "method", path
        verb, app_id, path = request.method, parts[3], parts[5]
        self.calls.append((verb, app_id, path, dict(request.url.params)))
        if (verb, app_id, path) in self.answers:
            return httpx.Response(200, json=self.answers[(verb, app_id, path)])
        problem = {"type": "about:blank", "title": "Not found", "status": 404}
        return httpx.Response(
            404,
            content=json.dumps(problem).encode(),
            headers={"content-type": "application/problem+json"},
        )

    def client(self) -> AsyncDaprClient:
        dapr = AsyncDaprClient()
        dapr.http = httpx.AsyncClient(
            transport=httpx.MockTransport(self.handle), base_url="http://sidecar"
        )
        return dapr


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def gateway(
    keys: Keys,
    sidecar: FakeSidecar,
    clock: FakeClock | None = None,
    per_second: float = 1000,
    burst: int = 1000,
) -> FastAPI:
    return create(
        tokens=keys.settings,
        limits=RateLimitSettings(per_second=per_second, burst=burst, max_clients=100),
        dapr=sidecar.client(),
        clock=clock or FakeClock(),
    )
