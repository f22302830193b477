"""Prometheus metrics every app serves on /metrics: per-route request rate, errors and latency,
pub/sub message outcomes per topic, and circuit breaker refusals seen by the app.
(order-service adds the saga metrics of workflows/metrics.py.)

Each request also writes one log line (method, path, status, duration) inside its trace."""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class RequestMetrics:
    """ASGI middleware: counts and times each request by its route template ("unmatched" when
    no route took it) and writes its log line, refused and failed requests included."""

    def __init__(self, app: ASGIApp, app_id: str) -> None:
        self.app, self.app_id = app, app_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status, location = 500, None  # 500 unless the app answers: it raised

        async def send_and_note(message: Message) -> None:
            nonlocal status, location
            if message["type"] == "http.response.start":
                status = message["status"]
                location = Headers(raw=message.get("headers", [])).get("location")
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            method, url_path = scope["method"], scope["path"]
            path = getattr(scope.get("route"), "path", "unmatched")
            elapsed = time.perf_counter() - start
            if path != "/metrics":
                REQUESTS.labels(self.app_id, method, path, str(status)).inc()
                LATENCY.labels(self.app_id, method, path).observe(elapsed)
            if url_path not in QUIET_PATHS:  # probes and scrapes would drown the rest
                http = {"method": method, "path": url_path, "status": status}
                if location:
                    http["location"] = location
                log.info(
                    "%s %s %s %.0fms",
                    method,
                    url_path,
                    status,
                    elapsed * 1000,
                    extra={"http": http},
                )


def install_metrics(app: FastAPI, app_id: str) -> None:
    app.add_middleware(RequestMetrics, app_id=app_id)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
