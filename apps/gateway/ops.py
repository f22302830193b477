"""Operators' read-only views that no single service owns: the live health of the platform
(GET /api/v1/health) and one order's log lines from every service (GET
/api/v1/orders/{orderId}/logs). Admin only. The data comes from what the stack already exposes
(apps/gateway/monitor.py) and from the run's log files, read with the code `make logs` uses
(apps/common/logsearch.py): on this one-machine stack the gateway can read them; a deployment
with a log store would answer from it instead."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from apps.common.contracts import Identifier
from apps.common.logsearch import merged
from apps.gateway.auth import Admin
from apps.gateway.forwarding import ORDERS, Sidecar, call, json_object, order_not_found, relay
from apps.gateway.monitor import (
    WINDOW_MINUTES,
    ConsumerLag,
    SagaSampler,
    breaker_state,
    consumer_lag,
    p95_seconds,
    per_minute,
)
from apps.gateway.openapi import HealthView, LogLines, answers
from apps.gateway.settings import OpsSettings

router = APIRouter(prefix="/api/v1")


def ops_settings(request: Request) -> OpsSettings:
    settings: OpsSettings = request.app.state.ops
    return settings


def sampler(request: Request) -> SagaSampler:
    saga_sampler: SagaSampler = request.app.state.saga_sampler
    return saga_sampler


Ops = Annotated[OpsSettings, Depends(ops_settings)]
Sampler = Annotated[SagaSampler, Depends(sampler)]


async def _readiness(client: httpx.AsyncClient, app_id: str, url: str) -> dict[str, Any]:
    try:
        resp = await client.get(f"{url}/readyz", timeout=3)
        body = (
            resp.json()
            if resp.headers.get("content-type", "").startswith("application/json")
            else {}
        )
    except (httpx.HTTPError, ValueError) as exc:
        return {"appId": app_id, "ready": False, "checks": {"app": f"down: {type(exc).__name__}"}}
    checks = body.get("checks") if isinstance(body, dict) else None
    return {"appId": app_id, "ready": resp.status_code == 200, "checks": checks or {}}


@router.get("/health", response_model=HealthView, responses=answers(403))
async def health(_admin: Admin, ops: Ops, sagas: Sampler) -> dict[str, Any]:
    """Sagas started, completed, compensated and failed per minute and the p95 saga time over
    the last 15 minutes (order-service's metrics, sampled by the gateway), each service's
    readiness, the state of order-service's circuit breaker to payment-service, and Kafka
    consumer lag per group and topic."""
    async with httpx.AsyncClient() as client:
        latest, ready, breaker, (lag_read, lag) = await asyncio.gather(
            sagas.sample(client),
            asyncio.gather(*(_readiness(client, a, u) for a, u in ops.app_urls.items())),
            _breaker(client, ops.breaker_metrics_url),
            _lag(client, ops.lag_metrics_url),
        )
    window = sagas.window(latest)
    now = latest.at if latest else sagas.clock()
    return {
        "windowMinutes": WINDOW_MINUTES,
        "sampleSeconds": sagas.every_seconds,
        "sagasPerMinute": per_minute(window, now),
        "p95SagaSeconds": p95_seconds(window),
        "metricsRead": latest is not None,
        "services": list(ready),
        "paymentCircuitBreaker": breaker,
        "consumerLag": lag,
        "lagRead": lag_read,
    }


async def _lag(client: httpx.AsyncClient, url: str) -> tuple[bool, list[ConsumerLag]]:
    try:
        resp = await client.get(url, timeout=8)  # the exporter asks Kafka (5 s at most)
        resp.raise_for_status()
    except httpx.HTTPError:
        return False, []
    return consumer_lag(resp.text)


async def _breaker(client: httpx.AsyncClient, url: str) -> str:
    try:
        resp = await client.get(url, timeout=3)
        resp.raise_for_status()
    except httpx.HTTPError:
        return "unknown"
    return breaker_state(resp.text)


@router.get("/orders/{order_id}/logs", response_model=LogLines, responses=answers(403, 404))
async def order_logs(
    order_id: Identifier,
    _admin: Admin,
    dapr: Sidecar,
    ops: Ops,
    limit: int = Query(default=2000, ge=1, le=20000),
) -> object:
    """The order's log lines from every app, sidecar and server of the run, in time order (what
    `make logs ID=<orderId>` prints): the last `limit` of them."""
    upstream = await call(dapr, ORDERS, f"orders/{order_id}")
    if upstream.status_code == 404:
        return order_not_found(order_id)
    if upstream.status_code != 200:
        return relay(upstream)
    trace_id = json_object(upstream).get("traceId")
    if not ops.log_dir.is_dir():
        return {"items": [], "truncated": False, "logDir": str(ops.log_dir)}
    traces = [trace_id] if isinstance(trace_id, str) else []
    lines = await run_in_threadpool(merged, order_id, ops.log_dir, traces)
    return {
        "items": [
            {"source": ln.source, "time": ln.time.isoformat(), "text": ln.text}
            for ln in lines[-limit:]
        ],
        "truncated": len(lines) > limit,
        "logDir": str(ops.log_dir),
    }
