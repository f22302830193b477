"""/healthz: the process answers. /readyz: its database and its Dapr sidecar answer too."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter
from fastapi.responses import JSONResponse


def health_router(checks: dict[str, Callable[[], bool]]) -> APIRouter:
    router = APIRouter()

    @router.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        results = {}
        for name, check in checks.items():
            try:
                results[name] = "ok" if check() else "down"
            except Exception as exc:  # a readiness probe reports, it never raises
                results[name] = f"down: {type(exc).__name__}"
        ok = all(v == "ok" for v in results.values())
        return JSONResponse(
            {"status": "ok" if ok else "down", "checks": results}, status_code=200 if ok else 503
        )

    return router
