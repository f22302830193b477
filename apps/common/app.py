"""`create_app` wires the cross-cutting parts every service shares, in one call."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import APIRouter, FastAPI

from apps.common.access import install_access_control, load_policy
from apps.common.body_limit import StreamingBodyLimit
from apps.common.drain import DrainMiddleware, DrainState, DrainTimes
from apps.common.health import health_router
from apps.common.logging import configure_logging
from apps.common.metrics import install_metrics
from apps.common.problems import install_problem_handlers
from apps.common.settings import get_settings
from apps.common.telemetry import configure_tracing, fastapi_telemetry

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


@asynccontextmanager
async def _no_lifespan(_app: FastAPI) -> AsyncIterator[None]:
    yield


def create_app(
    title: str,
    routers: list[APIRouter],
    readiness: dict[str, Callable[[], bool]],
    lifespan: Lifespan = _no_lifespan,
) -> FastAPI:
    settings = get_settings()
    configure_logging(settings.app_id)
    configure_tracing(settings.app_id, settings.zipkin_url)

    app = FastAPI(title=title, lifespan=lifespan, telemetry=fastapi_telemetry())
    install_problem_handlers(app)
    # The last installed runs first: metrics and logs see every call, refused ones included;
    # a call without the app token is refused before its body is read.
    install_body_limit(app, settings.max_body_bytes)
    install_access_control(
        app,
        settings.app_id,
        settings.app_api_token,
        load_policy(settings.app_id, namespace=settings.namespace),
    )
    install_metrics(app, settings.app_id)
    # Outermost: POST /drain (a planned stop) is answered before anything else looks at the call.
    drain = DrainState(DrainTimes.from_settings(settings))
    app.add_middleware(DrainMiddleware, state=drain)
    app.state.drain = drain
    app.include_router(health_router({**readiness, "accepting": drain.accepting}))
    for router in routers:
        app.include_router(router)
    return app


def install_body_limit(app: FastAPI, max_bytes: int) -> None:
    """413 over max_bytes, chunked bodies too: counted as they arrive, never read whole first."""
    app.add_middleware(StreamingBodyLimit, max_bytes=max_bytes)
