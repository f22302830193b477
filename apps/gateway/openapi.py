"""What the public API answers, declared in one place: the success bodies (as the owning services
send them; the gateway passes them through) and the problem documents, served as
application/problem+json."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from apps.common.problems import PROBLEM_JSON

Amount = Annotated[str, Field(pattern=r"^\d+\.\d{2}$", examples=["12.50"])]


class View(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str | None


class ProblemDetails(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow")
    type: str = "about:blank"
    title: str
    status: int = Field(ge=400, le=599)
    detail: str | None = None
    errors: list[FieldError] | None = Field(default=None, description="on 422: what is invalid")


class OrderLineView(View):
    product_id: str
    quantity: int
    unit_price: Amount


class SagaEventView(View):
    kind: str = Field(description="step (done), compensation (undone) or saga (its status)")
    name: str = Field(
        description="a step (INVENTORY_RESERVED, PAYMENT_PROCESSED, ORDER_CONFIRMED, "
        "NOTIFICATION_SENT) or a saga status (COMPENSATING, COMPENSATED, FAILED)"
    )
    detail: str | None = Field(description="for a saga status: the failure reason")
    at: datetime
    took_ms: int = Field(
        ge=0,
        description="milliseconds since the previous entry (the first: "
        "since the saga's record was created)",
    )


class SagaView(View):
    status: str | None = Field(description="STARTED, COMPLETED, COMPENSATING, COMPENSATED, ...")
    completed_steps: list[str]
    compensated_steps: list[str]
    failure_reason: str | None
    started_at: datetime | None = Field(default=None, description="when the saga's record began")
    timeline: list[SagaEventView] | None = Field(
        default=None, description="one order's saga, in time order (GET /orders/{orderId} only)"
    )


class OrderView(View):
    order_id: str
    customer_id: str
    status: str = Field(description="PENDING, PAYMENT_PENDING, PAID, CONFIRMED, SHIPPED, ...")
    total_amount: Amount
    items: list[OrderLineView]
    saga: SagaView
    trace_id: str | None
    created_at: datetime
    updated_at: datetime


class OrderPage(View):
    items: list[OrderView]
    next: str | None = Field(description="cursor of the next page; null on the last one")


class DrivenOrderView(OrderView):
    action: str = Field(description="what was done: started (its saga) or resumed")


class OrderCounts(View):
    total: int
    by_status: dict[str, int] = Field(description="orders per order status")
    by_saga_status: dict[str, int] = Field(description="orders per saga status")


class StockView(View):
    product_id: str
    available: int
    reserved: int


class AccountView(View):
    customer_id: str
    balance: Amount


class PaymentView(View):
    payment_id: str
    order_id: str
    customer_id: str
    amount: Amount
    status: str = Field(description="CHARGED, DECLINED or REFUNDED")
    reason: str | None


class PaymentList(View):
    items: list[PaymentView]


class NotificationView(View):
    notification_id: str
    order_id: str
    customer_id: str
    type: str = Field(description="ORDER_CONFIRMED or ORDER_CANCELLED")
    sent_at: datetime


class NotificationList(View):
    items: list[NotificationView]


class DeadLetterView(View):
    id: int
    topic: str | None = Field(description="the topic the message was meant for")
    reason: str | None
    source_app: str | None = Field(description="the consumer that gave up, when it said so")
    payload: str = Field(description="the message's data as JSON text, whatever its JSON type")
    received_at: datetime
    redriven_at: datetime | None


class DeadLetterList(View):
    items: list[DeadLetterView]


class MinuteView(View):
    minute: datetime = Field(description="the minute's start (UTC)")
    started: int
    completed: int
    compensated: int
    failed: int


class ServiceReadiness(View):
    app_id: str
    ready: bool
    checks: dict[str, str] = Field(description="the app's /readyz checks: ok or why not")


class ConsumerLagView(View):
    consumer_group: str
    topic: str
    lag: int = Field(description="messages on the topic the group has not consumed (committed)")


class HealthView(View):
    window_minutes: int
    sample_seconds: float = Field(description="how often the gateway samples the saga metrics")
    sagas_per_minute: list[MinuteView] = Field(description="oldest first; the last one so far")
    p95_saga_seconds: float | None = Field(
        description="95th percentile of saga duration over the window; null without sagas"
    )
    metrics_read: bool = Field(description="whether order-service's metrics answered now")
    services: list[ServiceReadiness]
    payment_circuit_breaker: str = Field(
        description="order-service's breaker to payment-service: closed, half-open, open, or "
        "unknown (no call through it yet, or its sidecar does not answer)"
    )
    consumer_lag: list[ConsumerLagView] = Field(
        default_factory=list,
        description="Kafka consumer lag per group and topic, from the lag exporter "
        "(kafka_consumergroup_lag_sum); empty when it or Kafka did not answer",
    )
    lag_read: bool = Field(
        default=False, description="whether the lag exporter answered with Kafka's offsets now"
    )


class LogLineView(View):
    source: str = Field(description="the log file, e.g. order-service.log")
    time: datetime
    text: str


class LogLines(View):
    items: list[LogLineView]
    truncated: bool = Field(description="whether older lines were left out (`limit`)")
    log_dir: str


PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetails"}
MEANINGS = {
    400: "Malformed request: a body that cannot be decoded, or a cursor no page returned",
    401: "No valid bearer token (missing, expired, badly signed, for another issuer or audience)",
    403: "The token's role may not do this (an admin-only operation, or acting for another "
    "customer)",
    404: "No such resource (for a customer: none of its own)",
    409: "The request conflicts with the resource's current state",
    413: "Request body too large",
    422: "Invalid request; `errors` says what",
    429: "Over the caller's rate limit; retry after `Retry-After` seconds",
    502: "The service that owns the data failed",
    503: "The service that owns the data cannot be reached, or (placing an order) too many "
    "orders are in flight: then retry after `Retry-After` seconds",
}
HEADERS = {
    401: {
        "WWW-Authenticate": {
            "description": 'the challenge (RFC 6750): `Bearer realm="order-platform"`, with '
            '`error="invalid_token"` when a token was given but refused',
            "required": True,
            "schema": {"type": "string"},
        }
    },
    503: {
        "Retry-After": {
            "description": "when too many orders are in flight: seconds until the caller may "
            "try again",
            "required": False,
            "schema": {"type": "integer", "minimum": 1},
        }
    },
    429: {
        "Retry-After": {
            "description": "seconds until the caller may send again",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        }
    },
}
# Every call needs a token and is rate limited; every forwarded call can be invalid or meet a
# failing or unreachable owner.
ALWAYS = (401, 422, 429, 502, 503)


def answers(*statuses: int, location: bool = False) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: the problem statuses it can answer besides its success."""
    declared: dict[int | str, dict[str, Any]] = {
        status: {
            "description": MEANINGS[status],
            "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
            **({"headers": HEADERS[status]} if status in HEADERS else {}),
        }
        for status in sorted({*statuses, *ALWAYS})
    }
    if location:
        declared[202] = {
            "description": "Accepted",
            "headers": {
                "Location": {"description": "the new order's URL", "schema": {"type": "string"}}
            },
        }
    return declared


def install_openapi(app: FastAPI) -> None:
    """Adds ProblemDetails (which the routes reference by hand, under its own media type) to the
    generated document's schemas."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = app.openapi_schema
        if schema is None:
            schema = generate()  # FastAPI keeps it as app.openapi_schema
            problem = ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(problem.pop("$defs", {}))
            schemas["ProblemDetails"] = problem
        return schema

    # FastAPI's documented way to extend the document: replace the app's openapi method.
    app.openapi = openapi  # type: ignore[method-assign]
