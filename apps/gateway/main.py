"""gateway: the public HTTP API; it owns no data and forwards through Dapr.

`create()` builds the app at start-up (uvicorn's factory mode): it reads the token and rate-limit
settings from the environment and loads the token public key then, never at import."""

from __future__ import annotations

import time

from fastapi import FastAPI

from apps.common.app import create_app
from apps.common.dapr import AsyncDaprClient, DaprClient
from apps.gateway.auth import PROBES_AND_METRICS, AccessGuard
from apps.gateway.openapi import install_openapi
from apps.gateway.ratelimit import Clock, RateLimiter
from apps.gateway.routes import router
from apps.gateway.settings import RateLimitSettings, TokenSettings
from apps.gateway.tokens import TokenVerifier, load_public_key


def token_verifier(settings: TokenSettings) -> TokenVerifier:
    path = settings.public_key_file
    try:
        key = load_public_key(path)
    except (OSError, ValueError) as exc:
        raise RuntimeError(
            f"gateway: cannot load the token public key {path} ({exc}); "
            "`make setup` creates the development key pair, or set AUTH_PUBLIC_KEY_FILE"
        ) from exc
    return TokenVerifier(key, settings.issuer, settings.audience)


def open_paths(app: FastAPI) -> set[str]:
    """What answers without a token: the probes, /metrics, and the OpenAPI document and pages."""
    pages = (app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
    return {*PROBES_AND_METRICS, *(p for p in pages if p)}


def create(
    tokens: TokenSettings | None = None,
    limits: RateLimitSettings | None = None,
    dapr: AsyncDaprClient | None = None,
    clock: Clock = time.monotonic,
) -> FastAPI:
    tokens = tokens or TokenSettings.from_env()
    limits = limits or RateLimitSettings.from_env()
    verifier = token_verifier(tokens)
    limiter = RateLimiter(
        limits.per_second, limits.burst, max_clients=limits.max_clients, clock=clock
    )
    app = create_app("gateway", routers=[router], readiness={"sidecar": DaprClient().sidecar_ready})
    app.state.dapr = dapr or AsyncDaprClient()
    install_openapi(app)
    # Added last, so outermost: the guard answers before anything reads the body. (Refusals
    # are counted in gateway_requests_refused_total; http_requests_total sees the rest.)
    app.add_middleware(AccessGuard, verifier=verifier, limiter=limiter, open_paths=open_paths(app))
    return app
