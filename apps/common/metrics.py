"""Prometheus metrics every app serves on /metrics: per-route request rate, errors and latency,
pub/sub message outcomes per topic, and circuit breaker refusals seen by the app.
(order-service adds the saga metrics of workflows/metrics.py.)

Each request also writes one log line (method, path, status, duration) inside its trace."""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

log = logging.getLogger("apps.http")
QUIET_PATHS = {"/healthz", "/readyz", "/metrics"}

REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests by route and status",
    ["app_id", "method", "route", "status"],
)
LATENCY = Histogram(
    "http_request_duration_seconds", "HTTP request latency", ["app_id", "method", "route"]
)
MESSAGES = Counter(
    "messages_total",
    "Pub/sub deliveries handled, by topic and outcome: consumed, duplicate (acknowledged, "
    "already handled), failed (redelivered later), dead_lettered (handed to the dead-letter topic)",
    ["app_id", "topic", "outcome"],
)
DEAD_LETTERS_RECEIVED = Counter(
    "dead_letters_received_total",
    "Messages received on the dead-letter topic, by the topic they were dead-lettered from",
    ["app_id", "topic"],
)
CIRCUIT_BREAKER_OPEN = Counter(
    "circuit_breaker_open_total",
    "Calls the sidecar refused because its circuit breaker to the target was open",
    ["app_id", "target"],
)


def install_metrics(app: FastAPI, app_id: str) -> None:
    @app.middleware("http")
    async def _measure(request: Request, call_next):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        status, location = 500, None
        try:
            response = await call_next(request)
            status, location = response.status_code, response.headers.get("location")
            return response
        finally:
            route = request.scope.get("route")
            path = getattr(route, "path", "unmatched")
            elapsed = time.perf_counter() - start
            if path != "/metrics":
                REQUESTS.labels(app_id, request.method, path, str(status)).inc()
                LATENCY.labels(app_id, request.method, path).observe(elapsed)
            if request.url.path not in QUIET_PATHS:  # probes and scrapes would drown the rest
                http = {"method": request.method, "path": request.url.path, "status": status}
                if location:
                    http["location"] = location
                log.info(
                    "%s %s %s %.0fms",
                    request.method,
                    request.url.path,
                    status,
                    elapsed * 1000,
                    extra={"http": http},
                )

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
