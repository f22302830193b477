"""gateway: the public HTTP API; it owns no data and forwards through Dapr.

`create()` builds the app at start-up (uvicorn's factory mode): it reads the token and rate-limit
settings from the environment and loads the token public key then, never at import."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI

from apps.common.app import create_app
from apps.common.dapr import AsyncDaprClient, DaprClient
from apps.gateway.auth import PROBES_AND_METRICS, AccessGuard
from apps.gateway.console import ASSETS, console_router
from apps.gateway.monitor import SagaSampler
from apps.gateway.openapi import install_openapi
from apps.gateway.ops import router as ops_router
from apps.gateway.ratelimit import Clock, RateLimiter
from apps.gateway.routes import router
from apps.gateway.settings import GatewaySettings, OpsSettings, RateLimitSettings, TokenSettings
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
    """What answers without a token: the probes, /metrics, the OpenAPI document and pages, and
    the console's static files (they hold no data; the console's API calls carry the token)."""
    pages = (app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
    return {*PROBES_AND_METRICS, *(p for p in pages if p), *ASSETS}


def create(
    tokens: TokenSettings | None = None,
    limits: RateLimitSettings | None = None,
    dapr: AsyncDaprClient | None = None,
    clock: Clock = time.monotonic,
    ops: OpsSettings | None = None,
) -> FastAPI:
    settings = GatewaySettings()
    tokens = tokens or settings.tokens()
    limits = limits or settings.limits()
    verifier = token_verifier(tokens)
    limiter = RateLimiter(
        limits.per_second, limits.burst, max_clients=limits.max_clients, clock=clock
    )
    ops = ops or settings.ops()
    orders = ops.app_urls.get("order-service")  # none in a pod without OPS_APP_URLS
    sampler = SagaSampler(f"{orders}/metrics" if orders else None, ops.sample_seconds)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The console's health view: saga metrics sampled for the last 15 minutes.
        sampling = ops.sample_seconds > 0 and sampler.metrics_url is not None
        task = asyncio.create_task(sampler.run_forever()) if sampling else None
        yield
        if task:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    app = create_app(
        "gateway",
        routers=[router, ops_router, console_router(ops.zipkin_ui)],
        readiness={"sidecar": DaprClient().sidecar_ready},
        lifespan=lifespan,
    )
    app.state.dapr = dapr or AsyncDaprClient()
    app.state.ops, app.state.saga_sampler = ops, sampler
    install_openapi(app)
    # Added last, so outermost: the guard answers before anything reads the body. (Refusals
    # are counted in gateway_requests_refused_total; http_requests_total sees the rest.)
    app.add_middleware(AccessGuard, verifier=verifier, limiter=limiter, open_paths=open_paths(app))
    return app
