"""Prometheus metrics: per-route request rate, errors and latency, plus app-specific counters."""

from __future__ import annotations

import time

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

REQUESTS = Counter("http_requests_total", "HTTP requests", ["app_id", "method", "route", "status"])
LATENCY = Histogram(
    "http_request_duration_seconds", "HTTP request latency", ["app_id", "method", "route"]
)
MESSAGES = Counter(
    "messages_total", "Pub/sub messages handled", ["app_id", "topic", "outcome"]
)  # outcome: consumed, duplicate, failed, dead_lettered


def install_metrics(app: FastAPI, app_id: str) -> None:
    @app.middleware("http")
    async def _measure(request: Request, call_next):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            path = getattr(route, "path", "unmatched")
            if path != "/metrics":
                REQUESTS.labels(app_id, request.method, path, str(status)).inc()
                LATENCY.labels(app_id, request.method, path).observe(time.perf_counter() - start)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
