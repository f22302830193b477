"""Saga activities: each one a single side effect, safe to run again after a crash.

They are built by `saga_activities` from what they need (the order database's saga records,
the sidecar), so importing this module opens nothing. An activity raises on a transient fault
(sidecar or broker unreachable) and the workflow engine retries it; payment-service being
unreachable is an answer of its own (UNAVAILABLE), which the saga waits out with timers.

Each runs in an `order_span`: a span of the order's trace (the order's `traceparent` travels in
the workflow input), every log line carrying the order id, and its duration in the step metrics.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

import httpx
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
from workflows.limits import LIMIT_WINDOW, limit_verdict
from workflows.metrics import STEP_DURATION
from workflows.steps import INVENTORY_RESERVED, NOTIFICATION_SENT, PAYMENT_PROCESSED, Activity

log = logging.getLogger(__name__)
tracer = trace.get_tracer("workflows.activities")
PAYMENT_SERVICE = "payment-service"


class SagaRecords(Protocol):
    """The saga's record in the order database (order-service implements it)."""

    def saga_state(self, order_id: str) -> dict[str, Any]: ...
    def saga_in_progress(self, order_id: str) -> bool: ...
    def record_progress(self, order_id: str, **update: Any) -> bool: ...
    def complete_saga(self, order_id: str) -> bool: ...
    def record_paid(self, order_id: str) -> tuple[bool, bool]: ...
    def record_compensation(self, order_id: str, step: str) -> None: ...
    def spent_since(self, customer_id: str, since: datetime, excluding: str) -> Decimal: ...


class Sidecar(Protocol):
    def publish(self, topic: str, data: dict[str, Any], *, key: str | None = None) -> None: ...
    def invoke(self, app_id: str, method: str, *, body: Any = None) -> httpx.Response: ...


@contextmanager
def order_span(name: str, order: dict[str, Any]) -> Iterator[None]:
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


def saga_activities(records: SagaRecords, sidecar: Sidecar) -> dict[str, Callable[..., Any]]:
    """The activities, by the name the saga calls them (workflows/steps.py `Activity`)."""

    def load_saga(_ctx: object, order: dict[str, Any]) -> dict[str, Any]:
        with order_span("load_saga", order):
            return records.saga_state(order["orderId"])

    def reserve_stock(_ctx: object, order: dict[str, Any]) -> bool:
        """Sends the reservation command; False if this order's saga is not in progress (a
        finished instance id can be scheduled again: a second run must change nothing)."""
        with order_span("reserve_stock", order):
            if not records.saga_in_progress(order["orderId"]):
                log.warning("saga not in progress; this run stops")
                return False
            cmd = ReserveStock.model_validate(
                {"orderId": order["orderId"], "items": order["items"]}
            )
            sidecar.publish(RESERVE_STOCK, cmd.wire(), key=order["orderId"])
            return True

    def release_stock(_ctx: object, order: dict[str, Any]) -> None:
        with order_span("release_stock", order):
            cmd = ReleaseStock(order_id=order["orderId"])
            sidecar.publish(RELEASE_STOCK, cmd.wire(), key=order["orderId"])
            records.record_compensation(order["orderId"], INVENTORY_RESERVED)  # its time

    def confirm(order: dict[str, Any]) -> bool:
        """CONFIRMED and saga COMPLETED (unless a cancel got there first: False), then the
        order-confirmed event, which makes the sale final in inventory and tells the customer.
        Safe to repeat: a COMPLETED saga answers True again and the event's consumers are
        idempotent."""
        return records.complete_saga(order["orderId"]) and announce_confirmed(order)

    def announce_confirmed(order: dict[str, Any]) -> bool:
        """The order-confirmed event, then its step recorded (a resumed saga sends it again
        if that record is missing)."""
        event = OrderConfirmed(
            order_id=order["orderId"],
            customer_id=order["customerId"],
            total_amount=order["totalAmount"],
            confirmed_at=datetime.now(UTC),  # order-confirmed v2 (an activity: may read the clock)
        )
        sidecar.publish(ORDER_CONFIRMED, event.wire(), key=order["orderId"])
        records.record_progress(order["orderId"], completed=NOTIFICATION_SENT)
        return True

    def take_payment(_ctx: object, order: dict[str, Any]) -> dict[str, Any]:
        """Records the reservation, then one charge: CHARGED (with `cancelRequested`), DECLINED,
        CANCELLED (a cancel came first, nothing charged) or UNAVAILABLE. The charge is
        idempotent per order, so trying again after an outage or a crash is safe. Once charged,
        and unless a cancel came meanwhile, it confirms the order (`confirmed`): the saga's
        last forward step, in this activity rather than one of its own, because every activity
        costs the workflow engine a round of scheduling, state and history (two scheduler jobs
        each; their CPU was within the noise of our measurements, docs/measurements.md)."""
        order_id = order["orderId"]
        with order_span("take_payment", order):
            if records.record_progress(
                order_id, order_status="PAYMENT_PENDING", completed=INVENTORY_RESERVED
            ):
                return {"status": "CANCELLED", "reason": "cancelled by request"}
            body = ChargePayment(
                order_id=order_id, customer_id=order["customerId"], amount=order["totalAmount"]
            ).wire()
            result = _call_payment(sidecar, "payments/charge", body)
            if result["status"] == "CHARGED":
                # PAID, and CONFIRMED unless a cancel came first: one transaction.
                cancel_requested, confirmed = records.record_paid(order_id)
                result["cancelRequested"] = cancel_requested
                if not cancel_requested:
                    result["confirmed"] = confirmed and announce_confirmed(order)
            return result

    def refund_payment(_ctx: object, order: dict[str, Any]) -> dict[str, Any]:
        """One refund (or void: a refund before the charge refuses the late charge)."""
        body = {"orderId": order["orderId"], "customerId": order["customerId"]}
        with order_span("refund_payment", order):
            result = _call_payment(sidecar, "payments/refund", body)
            if result["status"] == "REFUNDED":  # money given back: its time, for the timeline
                records.record_compensation(order["orderId"], PAYMENT_PROCESSED)
            return result

    def confirm_order(_ctx: object, order: dict[str, Any]) -> bool:
        """The confirmation alone: for a resumed saga whose order-confirmed event may not have
        gone out, and for histories from before take_payment confirmed."""
        with order_span("confirm_order", order):
            return confirm(order)

    def finish_cancelled(_ctx: object, data: dict[str, Any]) -> None:
        """The order-cancelled event (inventory gives back what the order holds, the customer
        is told), then the order ends CANCELLED. In this order: an order that is CANCELLED has
        always been announced, and one that is not yet is still the reconciler's to finish."""
        order, reason = data["order"], data.get("reason")
        with order_span("finish_cancelled", order):
            event = OrderCancelled(
                order_id=order["orderId"], customer_id=order["customerId"], reason=reason
            )
            sidecar.publish(ORDER_CANCELLED, event.wire(), key=order["orderId"])
            records.record_progress(
                order["orderId"],
                order_status="CANCELLED",
                saga_status=data["saga_status"],
                compensated=data.get("compensated"),
                failure_reason=reason,
            )

    def check_limit(_ctx: object, order: dict[str, Any]) -> dict[str, Any]:
        """The customer's daily limit (saga v2): allowed, or not and why (workflows/limits.py)."""
        with order_span("check_limit", order):
            since = datetime.now(UTC) - LIMIT_WINDOW
            spent = records.spent_since(order["customerId"], since, order["orderId"])
            return limit_verdict(spent, Decimal(order["totalAmount"]), Decimal(order["dailyLimit"]))

    def record_progress(_ctx: object, update: dict[str, Any]) -> bool:
        """Writes one step to the order database; answers whether a cancel has been requested."""
        update = dict(update)
        order = update.pop("order")
        name = f"record_{update.get('order_status') or update.get('saga_status')}"
        with order_span(name, order):
            return records.record_progress(order["orderId"], **update)

    return {
        Activity.LOAD_SAGA: load_saga,
        Activity.RESERVE_STOCK: reserve_stock,
        Activity.TAKE_PAYMENT: take_payment,
        Activity.REFUND_PAYMENT: refund_payment,
        Activity.RELEASE_STOCK: release_stock,
        Activity.CONFIRM_ORDER: confirm_order,
        Activity.FINISH_CANCELLED: finish_cancelled,
        Activity.RECORD_PROGRESS: record_progress,
        Activity.CHECK_LIMIT: check_limit,
    }


def _call_payment(sidecar: Sidecar, method: str, body: dict[str, Any]) -> dict[str, Any]:
    """payment-service's answer, or UNAVAILABLE when it cannot give one now (sidecar or
    service down, 5xx, circuit breaker open): the saga decides how long to wait."""
    try:
        resp = sidecar.invoke(PAYMENT_SERVICE, method, body=body)
    except SidecarError as exc:
        log.warning("%s %s failed: %s", PAYMENT_SERVICE, method, exc)
        return {"status": "UNAVAILABLE", "reason": "payment service unreachable"}
    if resp.status_code == 200:
        reply: dict[str, Any] = resp.json()
        return reply
    if 400 <= resp.status_code < 500:
        # Not transient: the request itself was refused. Logged loudly; the saga treats a
        # refused charge as declined and keeps trying a refund (money must come back).
        log.error("%s %s refused: %s %s", PAYMENT_SERVICE, method, resp.status_code, resp.text)
        if method.endswith("charge"):
            return {"status": "DECLINED", "reason": f"charge refused ({resp.status_code})"}
    else:
        log.warning("%s %s answered %s", PAYMENT_SERVICE, method, resp.status_code)
    return {"status": "UNAVAILABLE", "reason": f"payment service answered {resp.status_code}"}
