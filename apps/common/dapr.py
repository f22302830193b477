"""Talking to this app's own Dapr sidecar over its HTTP API (service invocation, pub/sub).

Sync clients on purpose: route handlers that use them are plain `def` functions, which FastAPI
runs in its thread pool, and workflow activities run in worker threads too. The gateway, which
holds no state, uses the async variant. Every call carries the current trace context
(`traceparent`), so the sidecar's spans, and everything after them, join the caller's trace,
and the sidecar's API token (DAPR_API_TOKEN), without which the sidecar answers 401.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
from opentelemetry import propagate

from apps.common.metrics import CIRCUIT_BREAKER_OPEN
from apps.common.settings import Settings, get_settings

log = logging.getLogger(__name__)


class SidecarError(Exception):
    """The sidecar or the target behind it could not be reached or answered 5xx."""


def token_headers(settings: Settings) -> dict[str, str]:
    """What every call to this app's sidecar carries (nothing when no token is configured)."""
    return {"dapr-api-token": settings.dapr_api_token} if settings.dapr_api_token else {}


def _trace_headers() -> dict[str, str]:
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return headers


def breaker_open(resp: httpx.Response) -> bool:
    """daprd refuses a call without trying it while the target's circuit breaker is open
    (HTTP 500, ERR_DIRECT_INVOKE, "... err: circuit breaker is open"), or half-open and already
    probing ("... err: too many requests")."""
    if resp.status_code != 500 or "ERR_DIRECT_INVOKE" not in resp.text:
        return False
    return "circuit breaker is open" in resp.text or "err: too many requests" in resp.text


def _count_breaker(app_id: str, target: str, resp: httpx.Response) -> None:
    if breaker_open(resp):
        CIRCUIT_BREAKER_OPEN.labels(app_id, target).inc()
        log.warning("circuit breaker to %s is open: %s", target, resp.text[:200])


def _publish_request(settings: Settings, topic: str, data: Any, key: str | None) -> dict[str, Any]:
    """What both clients POST to publish `data` on `topic` (keyed: one partition per key)."""
    return {
        "url": f"/v1.0/publish/{settings.pubsub_name}/{topic}",
        "content": json.dumps(data),
        "params": {"metadata.partitionKey": key} if key else None,
        "headers": {"content-type": "application/json", **_trace_headers()},
    }


def _check_published(topic: str, resp: httpx.Response) -> None:
    if resp.status_code >= 300:
        raise SidecarError(f"publish {topic}: HTTP {resp.status_code} {resp.text[:200]}")


class DaprClient:
    def __init__(self, timeout: float = 10.0) -> None:
        self.settings = get_settings()
        self.http = httpx.Client(
            base_url=self.settings.dapr_url, timeout=timeout, headers=token_headers(self.settings)
        )

    def invoke(
        self, app_id: str, method: str, *, verb: str = "POST", body: Any = None
    ) -> httpx.Response:
        try:
            resp = self.http.request(
                verb,
                f"/v1.0/invoke/{app_id}/method/{method.lstrip('/')}",
                content=None if body is None else json.dumps(body),
                headers={"content-type": "application/json", **_trace_headers()},
            )
        except httpx.HTTPError as exc:
            raise SidecarError(f"invoke {app_id}/{method}: {exc}") from exc
        _count_breaker(self.settings.app_id, app_id, resp)
        return resp

    def publish(self, topic: str, data: Any, *, key: str | None = None) -> None:
        try:
            resp = self.http.post(**_publish_request(self.settings, topic, data, key))
        except httpx.HTTPError as exc:
            raise SidecarError(f"publish {topic}: {exc}") from exc
        _check_published(topic, resp)

    def metadata(self) -> dict[str, Any]:
        """The sidecar's view of itself (GET /v1.0/metadata): the subscriptions it loaded, the
        workflow workers connected to it, its components."""
        try:
            resp = self.http.get("/v1.0/metadata", timeout=2)
        except httpx.HTTPError as exc:
            raise SidecarError(f"metadata: {exc}") from exc
        if resp.status_code >= 300:
            raise SidecarError(f"metadata: HTTP {resp.status_code} {resp.text[:200]}")
        metadata: dict[str, Any] = resp.json()
        return metadata

    def sidecar_ready(self) -> bool:
        try:
            return self.http.get("/v1.0/healthz/outbound", timeout=2).status_code < 300
        except httpx.HTTPError:
            return False


class AsyncDaprClient:
    def __init__(self, timeout: float = 15.0) -> None:
        self.settings = get_settings()
        self.http = httpx.AsyncClient(
            base_url=self.settings.dapr_url, timeout=timeout, headers=token_headers(self.settings)
        )

    async def invoke(
        self,
        app_id: str,
        method: str,
        *,
        verb: str = "GET",
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        try:
            resp = await self.http.request(
                verb,
                f"/v1.0/invoke/{app_id}/method/{method.lstrip('/')}",
                content=body,
                params=params,
                headers={**(headers or {}), **_trace_headers()},
            )
        except httpx.HTTPError as exc:
            raise SidecarError(f"invoke {app_id}/{method}: {exc}") from exc
        _count_breaker(self.settings.app_id, app_id, resp)
        return resp

    async def publish(self, topic: str, data: Any, *, key: str | None = None) -> None:
        try:
            resp = await self.http.post(**_publish_request(self.settings, topic, data, key))
        except httpx.HTTPError as exc:
            raise SidecarError(f"publish {topic}: {exc}") from exc
        _check_published(topic, resp)
