"""Saga activities: each one is a single side effect, safe to run again after a crash.

Dapr does not hand trace context to activities, so the order's `traceparent` travels in the
workflow input and every activity continues that trace.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from dapr.ext.workflow import WorkflowActivityContext
from opentelemetry import context, propagate, trace

from apps.common.contracts import (
    ORDER_CANCELLED,
    ORDER_CONFIRMED,
    RELEASE_STOCK,
    RESERVE_STOCK,
    ChargePayment,
    OrderCancelled,
    OrderConfirmed,
    ReleaseStock,
    ReserveStock,
)
from apps.common.dapr import SidecarError
from apps.order_service import orders
from apps.order_service.deps import dapr, db

log = logging.getLogger(__name__)
tracer = trace.get_tracer("workflows.activities")
PAYMENT_DEADLINE_SECONDS = float(os.environ.get("PAYMENT_DEADLINE_SECONDS", "20"))
REFUND_DEADLINE_SECONDS = float(os.environ.get("REFUND_DEADLINE_SECONDS", "600"))


@contextmanager
def order_span(name: str, order: dict) -> Iterator[None]:
    carrier = {"traceparent": order["traceparent"]} if order.get("traceparent") else {}
    token = context.attach(propagate.extract(carrier))
    try:
        with tracer.start_as_current_span(name, attributes={"order.id": order["orderId"]}):
            yield
    finally:
        context.detach(token)


def reserve_stock(_ctx: WorkflowActivityContext, order: dict) -> None:
    with order_span("reserve_stock", order):
        cmd = ReserveStock.model_validate({"orderId": order["orderId"], "items": order["items"]})
        dapr.publish(RESERVE_STOCK, cmd.wire(), key=order["orderId"])


def release_stock(_ctx: WorkflowActivityContext, order: dict) -> None:
    with order_span("release_stock", order):
        dapr.publish(
            RELEASE_STOCK, ReleaseStock(order_id=order["orderId"]).wire(), key=order["orderId"]
        )


def charge_payment(_ctx: WorkflowActivityContext, order: dict) -> dict:
    """CHARGED or DECLINED from payment-service, or UNAVAILABLE once the deadline has passed.
    The charge is idempotent per order, so retrying after a lost answer is safe."""
    body = ChargePayment(
        order_id=order["orderId"], customer_id=order["customerId"], amount=order["totalAmount"]
    ).wire()
    with order_span("charge_payment", order):
        return _call_until(PAYMENT_DEADLINE_SECONDS, "payments/charge", body) or {
            "status": "UNAVAILABLE",
            "reason": f"payment service unavailable for {PAYMENT_DEADLINE_SECONDS:g}s",
        }


def refund_payment(_ctx: WorkflowActivityContext, order: dict) -> dict:
    body = {"orderId": order["orderId"], "customerId": order["customerId"]}
    with order_span("refund_payment", order):
        result = _call_until(REFUND_DEADLINE_SECONDS, "payments/refund", body)
    if result is None:
        raise RuntimeError(f"refund for {order['orderId']} not acknowledged")
    return result


def _call_until(deadline_seconds: float, method: str, body: dict) -> dict | None:
    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            resp = dapr.invoke("payment-service", method, body=body)
            if resp.status_code == 200:
                return resp.json()
            log.warning(
                "payment-service %s answered %s",
                method,
                resp.status_code,
                extra={"order_id": body["orderId"]},
            )
        except SidecarError as exc:
            log.warning(
                "payment-service %s failed: %s", method, exc, extra={"order_id": body["orderId"]}
            )
        if time.monotonic() >= deadline:
            return None
        time.sleep(1.0)


def publish_confirmed(_ctx: WorkflowActivityContext, order: dict) -> None:
    with order_span("publish_order_confirmed", order):
        event = OrderConfirmed(
            order_id=order["orderId"],
            customer_id=order["customerId"],
            total_amount=order["totalAmount"],
        )
        dapr.publish(ORDER_CONFIRMED, event.wire(), key=order["orderId"])


def publish_cancelled(_ctx: WorkflowActivityContext, data: dict) -> None:
    order = data["order"]
    with order_span("publish_order_cancelled", order):
        event = OrderCancelled(
            order_id=order["orderId"], customer_id=order["customerId"], reason=data.get("reason")
        )
        dapr.publish(ORDER_CANCELLED, event.wire(), key=order["orderId"])


def record_progress(_ctx: WorkflowActivityContext, update: dict) -> bool:
    """Writes one step to the order database; answers whether a cancel has been requested."""
    order = update.pop("order")
    with order_span(f"record_{update.get('order_status') or update.get('saga_status')}", order):
        return orders.record_progress(db, order["orderId"], **update)


def complete_saga(_ctx: WorkflowActivityContext, order: dict) -> bool:
    """Marks the order CONFIRMED and the saga COMPLETED, unless a cancel got there first."""
    with order_span("complete_saga", order):
        return orders.complete_saga(db, order["orderId"])


ALL = [
    reserve_stock,
    release_stock,
    charge_payment,
    refund_payment,
    publish_confirmed,
    publish_cancelled,
    record_progress,
    complete_saga,
]
