"""OpenTelemetry tracing with W3C trace context, exported to Zipkin.

The sidecar starts a span for each call it hands to the app and passes `traceparent`. FastAPI's
native telemetry (`FastAPI(telemetry=...)`) continues that trace with one server span per
request, so app spans sit inside the sidecars' spans. Outgoing calls to the sidecar carry the
current span on: HTTP headers (apps/common/dapr.py), gRPC metadata (`GrpcTraceContext`).
An order's trace lives on after its request: `traceparent()` is what the order stores and
`continue_trace()` picks it up again later (saga start, workflow activities).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import grpc
from fastapi.telemetry import TelemetryConfig
from opentelemetry import context, propagate, trace
from opentelemetry.exporter.zipkin.json import ZipkinExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

UNTRACED_PATHS = {"/healthz", "/readyz", "/metrics"}  # probes and scrapes: no trace each


def configure_tracing(app_id: str, zipkin_url: str | None) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": app_id}))
    if zipkin_url:
        provider.add_span_processor(BatchSpanProcessor(ZipkinExporter(endpoint=zipkin_url)))
    trace.set_tracer_provider(provider)


def fastapi_telemetry() -> TelemetryConfig:
    """One SERVER span per request, named after its route; no per-operation spans."""

    def untraced(scope: MutableMapping[str, Any]) -> bool:
        return scope.get("path") in UNTRACED_PATHS

    return {"exclude": untraced, "operation_spans": False}


def traceparent() -> str | None:
    """The W3C `traceparent` of the current span, or None outside any trace."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def trace_id_of(parent: str | None) -> str | None:
    parts = (parent or "").split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None


@contextmanager
def continue_trace(parent: str | None) -> Iterator[None]:
    """Makes `parent` the current span context, unless the current span already belongs to
    that trace (the sidecar passed it on): then the nearer parent is kept."""
    current = trace.get_current_span().get_span_context()
    wanted = trace_id_of(parent)
    if not wanted or (current.is_valid and format(current.trace_id, "032x") == wanted):
        yield
        return
    token = context.attach(propagate.extract({"traceparent": parent or ""}))
    try:
        yield
    finally:
        context.detach(token)


class GrpcTraceContext(grpc.aio.UnaryUnaryClientInterceptor):
    """Sends the current trace context with each gRPC call (metadata `traceparent`), which
    daprd continues, as it does the header on HTTP calls."""

    async def intercept_unary_unary(
        self,
        continuation: Callable[[Any, Any], Any],
        details: Any,  # grpc's ClientCallDetails: a namedtuple at run time (`_replace`)
        request: Any,
    ) -> Any:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        metadata = [*(details.metadata or ()), *carrier.items()]
        return await continuation(details._replace(metadata=metadata), request)
