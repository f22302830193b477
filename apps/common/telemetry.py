"""OpenTelemetry tracing with W3C trace context, exported to Zipkin.

The sidecar starts a span for each call it hands to the app and passes `traceparent`; the
middleware continues that trace, so app spans sit inside the sidecars' spans.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from opentelemetry import context, propagate, trace
from opentelemetry.exporter.zipkin.json import ZipkinExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind


def configure_tracing(app_id: str, zipkin_url: str | None) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": app_id}))
    if zipkin_url:
        provider.add_span_processor(BatchSpanProcessor(ZipkinExporter(endpoint=zipkin_url)))
    trace.set_tracer_provider(provider)


def install_tracing(app: FastAPI) -> None:
    tracer = trace.get_tracer("apps.http")

    @app.middleware("http")
    async def _trace(request: Request, call_next):  # type: ignore[no-untyped-def]
        if request.url.path in ("/healthz", "/readyz", "/metrics"):
            return await call_next(request)
        token = context.attach(propagate.extract(dict(request.headers)))
        try:
            with tracer.start_as_current_span(
                f"{request.method} {request.url.path}", kind=SpanKind.SERVER
            ) as span:
                response = await call_next(request)
                span.set_attribute("http.status_code", response.status_code)
                return response
        finally:
            context.detach(token)
