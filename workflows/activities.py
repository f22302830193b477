"""Saga activities: each one is a single side effect, safe to run again after a crash.

Each runs in an `order_span`: a span of the order's trace (the sidecar hands the workflow's
trace context to the activity, and the order's `traceparent` travels in the workflow input in
case it does not), every log line carrying the order id, and its duration in the step metrics.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from dapr.ext.workflow import WorkflowActivityContext
from opentelemetry import trace

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
from apps.common.logging import order_context
from apps.common.telemetry import continue_trace
from apps.order_service import orders
from apps.order_service.deps import dapr, db
from workflows.metrics import STEP_DURATION
from workflows.steps import INVENTORY_RESERVED, NOTIFICATION_SENT, PAYMENT_PROCESSED

log = logging.getLogger(__name__)
tracer = trace.get_tracer("workflows.activities")
PAYMENT_DEADLINE_SECONDS = float(os.environ.get("PAYMENT_DEADLINE_SECONDS", "20"))
REFUND_DEADLINE_SECONDS = float(os.environ.get("REFUND_DEADLINE_SECONDS", "600"))


@contextmanager
def order_span(name: str, order: dict) -> Iterator[None]:
    start = time.perf_counter()
    with (
        continue_trace(order.get("traceparent")),
        tracer.start_as_current_span(name, attributes={"order.id": order["orderId"]}),
        order_context(order["orderId"]),
    ):
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            STEP_DURATION.labels(name).observe(elapsed)
            log.info("saga step %s took %.0fms", name, elapsed * 1000)


def reserve_stock(_ctx: WorkflowActivityContext, order: dict) -> bool:
    """Sends the reservation command; False if this order's saga has already run (a finished
    instance id can be scheduled again: a second run must change nothing)."""
    with order_span("reserve_stock", order):
        if not orders.saga_in_progress(db, order["orderId"]):
            log.warning("saga already ran; this run stops", extra={"order_id": order["orderId"]})
            return False
        cmd = ReserveStock.model_validate({"orderId": order["orderId"], "items": order["items"]})
        dapr.publish(RESERVE_STOCK, cmd.wire(), key=order["orderId"])
        return True


def release_stock(_ctx: WorkflowActivityContext, order: dict) -> None:
    with order_span("release_stock", order):
        dapr.publish(
            RELEASE_STOCK, ReleaseStock(order_id=order["orderId"]).wire(), key=order["orderId"]
        )


def take_payment(_ctx: WorkflowActivityContext, order: dict) -> dict:
    """Records the reservation, then charges: CHARGED (with `cancelRequested`), DECLINED,
    CANCELLED (a cancel came first, nothing charged) or UNAVAILABLE once the deadline passed.
    The charge is idempotent per order, so running this again after a crash is safe."""
    order_id = order["orderId"]
    with order_span("take_payment", order):
        if orders.record_progress(
            db, order_id, order_status="PAYMENT_PENDING", completed=INVENTORY_RESERVED
        ):
            return {"status": "CANCELLED", "reason": "cancelled by request"}
        body = ChargePayment(
            order_id=order_id, customer_id=order["customerId"], amount=order["totalAmount"]
        ).wire()
        result = _call_until(PAYMENT_DEADLINE_SECONDS, "payments/charge", body) or {
            "status": "UNAVAILABLE",
            "reason": f"payment service unavailable for {PAYMENT_DEADLINE_SECONDS:g}s",
        }
        if result["status"] == "CHARGED":
            result["cancelRequested"] = orders.record_progress(
                db, order_id, order_status="PAID", completed=PAYMENT_PROCESSED
            )
        return result


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


def confirm_order(_ctx: WorkflowActivityContext, order: dict) -> bool:
    """CONFIRMED and saga COMPLETED (unless a cancel got there first: False), then the
    order-confirmed event, which makes the sale final in inventory and notifies the customer."""
    with order_span("confirm_order", order):
        if not orders.complete_saga(db, order["orderId"]):
            return False
        event = OrderConfirmed(
            order_id=order["orderId"],
            customer_id=order["customerId"],
            total_amount=order["totalAmount"],
        )
        dapr.publish(ORDER_CONFIRMED, event.wire(), key=order["orderId"])
        orders.record_progress(db, order["orderId"], completed=NOTIFICATION_SENT)
        return True


def finish_cancelled(_ctx: WorkflowActivityContext, data: dict) -> None:
    """The order ends CANCELLED; the order-cancelled event tells inventory and the customer."""
    order, reason = data["order"], data.get("reason")
    with order_span("finish_cancelled", order):
        orders.record_progress(
            db,
            order["orderId"],
            order_status="CANCELLED",
            saga_status=data["saga_status"],
            compensated=data.get("compensated"),
            failure_reason=reason,
        )
        event = OrderCancelled(
            order_id=order["orderId"], customer_id=order["customerId"], reason=reason
        )
        dapr.publish(ORDER_CANCELLED, event.wire(), key=order["orderId"])


def record_progress(_ctx: WorkflowActivityContext, update: dict) -> bool:
    """Writes one step to the order database; answers whether a cancel has been requested."""
    order = update.pop("order")
    with order_span(f"record_{update.get('order_status') or update.get('saga_status')}", order):
        return orders.record_progress(db, order["orderId"], **update)


ALL = [
    reserve_stock,
    release_stock,
    take_payment,
    refund_payment,
    confirm_order,
    finish_cancelled,
    record_progress,
]
