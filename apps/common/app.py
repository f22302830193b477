"""`create_app` wires the cross-cutting parts every service shares, in one call."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import APIRouter, FastAPI, Request

from apps.common.health import health_router
from apps.common.logging import configure_logging
from apps.common.metrics import install_metrics
from apps.common.problems import install_problem_handlers, problem_response
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
    install_body_limit(app, settings.max_body_bytes)
    install_metrics(app, settings.app_id)
    app.include_router(health_router(readiness))
    for router in routers:
        app.include_router(router)
    return app


def install_body_limit(app: FastAPI, max_bytes: int) -> None:
    @app.middleware("http")
    async def _limit(request: Request, call_next):  # type: ignore[no-untyped-def]
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > max_bytes):
            return problem_response(413, "Request body too large", f"limit is {max_bytes} bytes")
        if length is None and request.method in ("POST", "PUT", "PATCH"):
            body = await request.body()  # chunked upload: Starlette caches it for the route
            if len(body) > max_bytes:
                return problem_response(
                    413, "Request body too large", f"limit is {max_bytes} bytes"
                )
        return await call_next(request)
