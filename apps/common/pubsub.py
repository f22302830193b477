"""Subscribing to Kafka topics through the sidecar (programmatic subscriptions).

A handler gets the CloudEvent's `data` and returns an `Outcome`. Dapr retries RETRY (under the
component's inbound resiliency policy) and forwards DROP, and messages whose retries ran out, to
the dead-letter topic, so one poison message never blocks its partition.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, Request
from opentelemetry import context, propagate

from apps.common.contracts import DEAD_LETTERS
from apps.common.metrics import MESSAGES
from apps.common.settings import get_settings

log = logging.getLogger(__name__)


class Outcome(enum.StrEnum):
    SUCCESS = "SUCCESS"  # handled now
    DUPLICATE = "DUPLICATE"  # handled before: acknowledged, nothing changes
    RETRY = "RETRY"  # transient failure: deliver again
    DROP = "DROP"  # cannot ever be handled: to the dead-letter topic


@dataclass(frozen=True)
class Subscription:
    topic: str
    handler: Callable[[dict], Outcome]
    dead_letter: bool = True

    @property
    def route(self) -> str:
        return f"/events/{self.topic}"


def subscription_router(subscriptions: list[Subscription]) -> APIRouter:
    settings = get_settings()
    router = APIRouter(include_in_schema=False)

    @router.get("/dapr/subscribe")
    def subscribe() -> list[dict]:
        return [
            {
                "pubsubname": settings.pubsub_name,
                "topic": s.topic,
                "route": s.route,
                **({"deadLetterTopic": DEAD_LETTERS} if s.dead_letter else {}),
            }
            for s in subscriptions
        ]

    for sub in subscriptions:
        router.add_api_route(sub.route, _endpoint(sub, settings.app_id), methods=["POST"])
    return router


def _endpoint(sub: Subscription, app_id: str) -> Callable[[Request], dict]:
    async def receive(request: Request) -> dict:
        try:
            event = await request.json()
        except ValueError:
            event = None
        data = event.get("data") if isinstance(event, dict) else None
        # The CloudEvent carries the publisher's trace context: continue that trace.
        carrier = {"traceparent": event.get("traceparent", "")} if isinstance(event, dict) else {}
        token = context.attach(propagate.extract(carrier))
        try:
            outcome = await _run(sub, data)
        finally:
            context.detach(token)
        MESSAGES.labels(app_id, sub.topic, outcome.value.lower()).inc()
        status = "SUCCESS" if outcome is Outcome.DUPLICATE else outcome.value
        return {"status": status}

    return receive


async def _run(sub: Subscription, data: object) -> Outcome:
    from starlette.concurrency import run_in_threadpool

    if not isinstance(data, dict):
        log.warning("malformed message, dead-lettering", extra={"topic": sub.topic})
        return Outcome.DROP
    try:
        return await run_in_threadpool(sub.handler, data)
    except Exception:
        log.exception("handler failed, will be redelivered", extra={"topic": sub.topic})
        return Outcome.RETRY
