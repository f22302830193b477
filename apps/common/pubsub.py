"""Subscribing to Kafka topics through the sidecar (programmatic subscriptions).

A handler gets the CloudEvent's `data` and returns an `Outcome`. Dapr retries RETRY (under the
component's inbound resiliency policy) and forwards DROP, and messages whose retries ran out, to
the dead-letter topic, so one poison message never blocks its partition.

Each delivery is handled in a CONSUMER span of the publisher's trace (the CloudEvent carries its
`traceparent`), with the message's order id on every log line, and counted in `messages_total`.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, Request
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from starlette.concurrency import run_in_threadpool

from apps.common.contracts import DEAD_LETTERS
from apps.common.logging import order_context
from apps.common.metrics import DEAD_LETTERS_RECEIVED, MESSAGES
from apps.common.settings import get_settings
from apps.common.telemetry import continue_trace

log = logging.getLogger(__name__)
tracer = trace.get_tracer("apps.pubsub")


class Outcome(enum.StrEnum):
    SUCCESS = "SUCCESS"  # handled now
    DUPLICATE = "DUPLICATE"  # handled before: acknowledged, nothing changes
    RETRY = "RETRY"  # transient failure: deliver again
    DROP = "DROP"  # cannot ever be handled: to the dead-letter topic


METRIC_OUTCOME = {
    Outcome.SUCCESS: "consumed",
    Outcome.DUPLICATE: "duplicate",
    Outcome.RETRY: "failed",
    Outcome.DROP: "dead_lettered",
}


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
        event = event if isinstance(event, dict) else {}
        data = event.get("data")
        order_id = str(data["orderId"]) if isinstance(data, dict) and "orderId" in data else None
        attributes = {"messaging.destination.name": sub.topic}
        if order_id:
            attributes["order.id"] = order_id
        # The sidecar normally continues the CloudEvent's trace already; if not, we do.
        with (
            continue_trace(event.get("traceparent")),
            tracer.start_as_current_span(
                f"consume {sub.topic}", kind=SpanKind.CONSUMER, attributes=attributes
            ),
            order_context(order_id),
        ):
            outcome = await _run(sub, data)
            log.info("%s: %s", sub.topic, outcome.value.lower(), extra={"topic": sub.topic})
        MESSAGES.labels(app_id, sub.topic, METRIC_OUTCOME[outcome]).inc()
        if sub.topic == DEAD_LETTERS:
            DEAD_LETTERS_RECEIVED.labels(app_id, event.get("topic") or "unknown").inc()
        status = "SUCCESS" if outcome is Outcome.DUPLICATE else outcome.value
        return {"status": status}

    return receive


async def _run(sub: Subscription, data: object) -> Outcome:
    if not isinstance(data, dict):
        log.warning("malformed message, dead-lettering", extra={"topic": sub.topic})
        return Outcome.DROP
    try:
        return await run_in_threadpool(sub.handler, data)
    except Exception:
        log.exception("handler failed, will be redelivered", extra={"topic": sub.topic})
        return Outcome.RETRY
