"""Subscribing to Kafka topics through the sidecar (programmatic subscriptions).

A handler gets the CloudEvent's `data` and returns an `Outcome`. Dapr retries RETRY (under the
component's inbound resiliency policy). A message that can never be handled (DROP, `Rejected`,
or a payload that is not a JSON object) is forwarded by the app itself to the dead-letter topic
as a `DeadLetterEnvelope` (original topic, reason, this app's id, the payload as it came) and
then acknowledged. A message whose retries ran out is forwarded by Dapr: the original
CloudEvent, unchanged, to the subscription's `deadLetterTopic`. Either way one poison message
never blocks its partition, and notification-service keeps it for an operator to redrive.

Each delivery is handled in a CONSUMER span of the publisher's trace (the CloudEvent carries its
`traceparent`), with the message's order id on every log line, and counted in `messages_total`.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError
from pydantic.alias_generators import to_camel
from starlette.concurrency import run_in_threadpool

from apps.common.contracts import DEAD_LETTERS
from apps.common.dapr import DaprClient, SidecarError
from apps.common.logging import order_context
from apps.common.metrics import MESSAGES
from apps.common.settings import get_settings
from apps.common.telemetry import continue_trace

log = logging.getLogger(__name__)
tracer = trace.get_tracer("apps.pubsub")
M = TypeVar("M", bound=BaseModel)
JSON_TYPES = {str: "string", int: "number", float: "number", bool: "boolean", list: "array"}


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


class Rejected(Exception):
    """Raise from a handler for a message that can never be handled; the text is its reason."""


class DeadLetterEnvelope(BaseModel):
    """What a consumer publishes on `dead-letters` for a message it cannot ever handle."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")
    topic: str
    reason: str
    source_app: str
    payload: JsonValue  # the CloudEvent's `data` as it arrived, whatever its JSON type
    event_id: str | None = None  # the original CloudEvent's id


def parse_message(model: type[M], data: dict[str, Any]) -> M:
    """`data` as `model`, or `Rejected` with a short reason naming the offending fields.
    Properties the model does not know are ignored (a tolerant reader): a newer producer may add
    an optional field while this consumer still runs (docs/compatibility.md). Every field the
    model has is checked as strictly as ever."""
    try:
        return model.model_validate(data, extra="ignore")
    except ValidationError as exc:
        errors = [
            f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}"
            for e in exc.errors(include_url=False)[:5]
        ]
        raise Rejected(f"invalid {model.__name__}: {'; '.join(errors)}") from exc


@dataclass(frozen=True)
class Subscription:
    topic: str
    handler: Callable[[Any], Outcome]
    dead_letter: bool = True
    # The handler gets the whole CloudEvent instead of its `data` (which may be any JSON type).
    whole_event: bool = False

    @property
    def route(self) -> str:
        return f"/events/{self.topic}"


def subscription_router(
    subscriptions: list[Subscription], publisher: DaprClient | None = None
) -> APIRouter:
    settings = get_settings()
    publisher = publisher or DaprClient()
    router = APIRouter(include_in_schema=False)

    @router.get("/dapr/subscribe")
    def subscribe() -> list[dict[str, Any]]:
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
        endpoint = _endpoint(sub, settings.app_id, publisher)
        router.add_api_route(sub.route, endpoint, methods=["POST"])
    return router


def _endpoint(
    sub: Subscription, app_id: str, publisher: DaprClient
) -> Callable[[Request], Awaitable[dict[str, Any]]]:
    async def receive(request: Request) -> dict[str, Any]:
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
            outcome, reason = await _run(sub, event if sub.whole_event else data)
            if outcome is Outcome.DROP and sub.dead_letter:
                envelope = DeadLetterEnvelope(
                    topic=sub.topic,
                    reason=reason or f"the {sub.topic} handler refused it (it gave no reason)",
                    source_app=app_id,
                    payload=data,
                    event_id=event.get("id") if isinstance(event.get("id"), str) else None,
                )
                outcome = await _dead_letter(publisher, envelope, order_id)
            log.info("%s: %s", sub.topic, outcome.value.lower(), extra={"topic": sub.topic})
        MESSAGES.labels(app_id, sub.topic, METRIC_OUTCOME[outcome]).inc()
        # Dead-lettered by us: acknowledged, so Dapr does not forward it a second time.
        acknowledged = outcome is Outcome.DUPLICATE or (outcome is Outcome.DROP and sub.dead_letter)
        return {"status": "SUCCESS" if acknowledged else outcome.value}

    return receive


async def _run(sub: Subscription, value: object) -> tuple[Outcome, str | None]:
    if not isinstance(value, dict):
        kind = JSON_TYPES.get(type(value), "null")
        return Outcome.DROP, f"payload is a JSON {kind}, not an object"
    try:
        return await run_in_threadpool(sub.handler, value), None
    except Rejected as exc:
        return Outcome.DROP, str(exc)
    except Exception:
        log.exception("handler failed, will be redelivered", extra={"topic": sub.topic})
        return Outcome.RETRY, None


async def _dead_letter(
    publisher: DaprClient, envelope: DeadLetterEnvelope, order_id: str | None
) -> Outcome:
    try:
        await run_in_threadpool(
            publisher.publish,
            DEAD_LETTERS,
            envelope.model_dump(mode="json", by_alias=True),
            key=order_id,
        )
    except SidecarError as exc:
        log.warning("could not dead-letter, will be redelivered: %s", exc)
        return Outcome.RETRY
    log.warning("dead-lettered: %s", envelope.reason, extra={"topic": envelope.topic})
    return Outcome.DROP
