"""Saga activities: each one a single side effect, safe to run again after a crash.

`SagaActivities` holds what they need (the order database's saga records, the sidecar), so
importing this module opens nothing and a test builds one with its own. Each activity validates
its input where it starts (workflows/models.py) and answers plain JSON. An activity raises on a
transient fault (sidecar or broker unreachable) and the workflow engine retries it;
payment-service being unreachable is an answer of its own (UNAVAILABLE), which the saga waits
out with timers. Each runs in an `order_span` (workflows/spans.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

import httpx

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
from workflows.limits import LIMIT_WINDOW, limit_verdict
from workflows.models import (
    PaymentResult,
    PaymentStatus,
    ProgressUpdate,
    SagaEnding,
    SagaInput,
)
from workflows.spans import order_span
from workflows.statuses import OrderStatus
from workflows.steps import INVENTORY_RESERVED, NOTIFICATION_SENT, PAYMENT_PROCESSED, Activity

log = logging.getLogger(__name__)
PAYMENT_SERVICE = "payment-service"
CANCELLED_BY_REQUEST = "cancelled by request"


class SagaRecords(Protocol):
    """The saga's record in the order database (apps/order_service/saga_record.py)."""

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


def span(name: str, order: SagaInput) -> Any:
    return order_span(name, order.order_id, order.traceparent)


class SagaActivities:
    """The activities, each a method taking (workflow context, input) as the SDK calls it."""

    def __init__(self, records: SagaRecords, sidecar: Sidecar) -> None:
        self.records, self.sidecar = records, sidecar

    def by_name(self) -> dict[str, Callable[[object, Any], Any]]:
        """What order-service registers, by the name the saga calls (workflows/steps.py)."""
        methods = {
            Activity.LOAD_SAGA: self.load_saga,
            Activity.RESERVE_STOCK: self.reserve_stock,
            Activity.TAKE_PAYMENT: self.take_payment,
            Activity.REFUND_PAYMENT: self.refund_payment,
            Activity.RELEASE_STOCK: self.release_stock,
            Activity.CONFIRM_ORDER: self.confirm_order,
            Activity.FINISH_CANCELLED: self.finish_cancelled,
            Activity.RECORD_PROGRESS: self.record_progress,
            Activity.CHECK_LIMIT: self.check_limit,
        }
        return {name: _registrable(method) for name, method in methods.items()}

    def load_saga(self, _ctx: object, data: Any) -> dict[str, Any]:
        order = SagaInput.read(data)
        with span("load_saga", order):
            return self.records.saga_state(order.order_id)

    def reserve_stock(self, _ctx: object, data: Any) -> bool:
        """Sends the reservation command; False if this order's saga is not in progress (a
        finished instance id can be scheduled again: a second run must change nothing)."""
        order = SagaInput.read(data)
        with span("reserve_stock", order):
            if not self.records.saga_in_progress(order.order_id):
                log.warning("saga not in progress; this run stops")
                return False
            items = [item.wire() for item in order.items]
            cmd = ReserveStock.model_validate({"orderId": order.order_id, "items": items})
            self.sidecar.publish(RESERVE_STOCK, cmd.wire(), key=order.order_id)
            return True

    def release_stock(self, _ctx: object, data: Any) -> None:
        order = SagaInput.read(data)
        with span("release_stock", order):
            cmd = ReleaseStock(order_id=order.order_id)
            self.sidecar.publish(RELEASE_STOCK, cmd.wire(), key=order.order_id)
            self.records.record_compensation(order.order_id, INVENTORY_RESERVED)  # its time

    def take_payment(self, _ctx: object, data: Any) -> dict[str, Any]:
        """Records the reservation, then one charge: CHARGED (with `cancelRequested`), DECLINED,
        CANCELLED (a cancel came first, nothing charged) or UNAVAILABLE. The charge is
        idempotent per order, so trying again after an outage or a crash is safe. Once charged,
        and unless a cancel came meanwhile, it confirms the order (`confirmed`): the saga's
        last forward step, in this activity rather than one of its own, because every activity
        costs the workflow engine a round of scheduling, state and history (two scheduler jobs
        each; their CPU was within the noise of our measurements, docs/measurements.md)."""
        order = SagaInput.read(data)
        with span("take_payment", order):
            if self.records.record_progress(
                order.order_id,
                order_status=OrderStatus.PAYMENT_PENDING,
                completed=INVENTORY_RESERVED,
            ):
                return {"status": PaymentStatus.CANCELLED, "reason": CANCELLED_BY_REQUEST}
            charge = ChargePayment(
                order_id=order.order_id, customer_id=order.customer_id, amount=order.total_amount
            )
            result = self._call_payment("payments/charge", charge.wire())
            if result.status == PaymentStatus.CHARGED:
                # PAID, and CONFIRMED unless a cancel came first: one transaction.
                cancel_requested, confirmed = self.records.record_paid(order.order_id)
                result.cancel_requested = cancel_requested
                if not cancel_requested:
                    result.confirmed = confirmed and self._announce_confirmed(order)
            return result.wire()

    def refund_payment(self, _ctx: object, data: Any) -> dict[str, Any]:
        """One refund (or void: a refund before the charge refuses the late charge)."""
        order = SagaInput.read(data)
        body = {"orderId": order.order_id, "customerId": order.customer_id}
        with span("refund_payment", order):
            result = self._call_payment("payments/refund", body)
            if result.status == PaymentStatus.REFUNDED:  # money given back: its time
                self.records.record_compensation(order.order_id, PAYMENT_PROCESSED)
            return result.wire()

    def confirm_order(self, _ctx: object, data: Any) -> bool:
        """The confirmation alone: for a resumed saga whose order-confirmed event may not have
        gone out, and for histories from before take_payment confirmed. CONFIRMED and saga
        COMPLETED (unless a cancel got there first: False), then the order-confirmed event,
        which makes the sale final in inventory and tells the customer. Safe to repeat: a
        COMPLETED saga answers True again and the event's consumers are idempotent."""
        order = SagaInput.read(data)
        with span("confirm_order", order):
            return self.records.complete_saga(order.order_id) and self._announce_confirmed(order)

    def finish_cancelled(self, _ctx: object, data: Any) -> None:
        """The order-cancelled event (inventory gives back what the order holds, the customer
        is told), then the order ends CANCELLED. In this order: an order that is CANCELLED has
        always been announced, and one that is not yet is still the reconciler's to finish."""
        ending = SagaEnding.read(data)
        order = ending.order
        with span("finish_cancelled", order):
            event = OrderCancelled(
                order_id=order.order_id, customer_id=order.customer_id, reason=ending.reason
            )
            self.sidecar.publish(ORDER_CANCELLED, event.wire(), key=order.order_id)
            self.records.record_progress(
                order.order_id,
                order_status=OrderStatus.CANCELLED,
                saga_status=ending.saga_status,
                compensated=ending.compensated,
                failure_reason=ending.reason,
            )

    def check_limit(self, _ctx: object, data: Any) -> dict[str, Any]:
        """The customer's daily limit (saga v2): allowed, or not and why (workflows/limits.py)."""
        order = SagaInput.read(data)
        if order.daily_limit is None:
            raise ValueError("check_limit needs the order's dailyLimit")
        with span("check_limit", order):
            since = datetime.now(UTC) - LIMIT_WINDOW
            spent = self.records.spent_since(order.customer_id, since, order.order_id)
            amount, limit = Decimal(order.total_amount), Decimal(order.daily_limit)
            return limit_verdict(spent, amount, limit)

    def record_progress(self, _ctx: object, data: Any) -> bool:
        """Writes one step to the order database; answers whether a cancel has been requested."""
        update = ProgressUpdate.read(data)
        name = f"record_{update.order_status or update.saga_status}"
        with span(name, update.order):
            return self.records.record_progress(update.order.order_id, **update.changes())

    def _announce_confirmed(self, order: SagaInput) -> bool:
        """The order-confirmed event, then its step recorded (a resumed saga sends it again
        if that record is missing)."""
        event = OrderConfirmed(
            order_id=order.order_id,
            customer_id=order.customer_id,
            total_amount=order.total_amount,
            confirmed_at=datetime.now(UTC),  # order-confirmed v2 (an activity: may read the clock)
        )
        self.sidecar.publish(ORDER_CONFIRMED, event.wire(), key=order.order_id)
        self.records.record_progress(order.order_id, completed=NOTIFICATION_SENT)
        return True

    def _call_payment(self, method: str, body: dict[str, Any]) -> PaymentResult:
        """payment-service's answer, or UNAVAILABLE when it cannot give one now (sidecar or
        service down, 5xx, circuit breaker open): the saga decides how long to wait."""
        try:
            resp = self.sidecar.invoke(PAYMENT_SERVICE, method, body=body)
        except SidecarError as exc:
            log.warning("%s %s failed: %s", PAYMENT_SERVICE, method, exc)
            return _unavailable("payment service unreachable")
        if resp.status_code == 200:
            return PaymentResult.read(resp.json())
        if 400 <= resp.status_code < 500:
            # Not transient: the request itself was refused. Logged loudly; the saga treats a
            # refused charge as declined and keeps trying a refund (money must come back).
            log.error("%s %s refused: %s %s", PAYMENT_SERVICE, method, resp.status_code, resp.text)
            if method.endswith("charge"):
                reason = f"charge refused ({resp.status_code})"
                return PaymentResult(status=PaymentStatus.DECLINED, reason=reason)
        else:
            log.warning("%s %s answered %s", PAYMENT_SERVICE, method, resp.status_code)
        return _unavailable(f"payment service answered {resp.status_code}")


def _unavailable(reason: str) -> PaymentResult:
    return PaymentResult(status=PaymentStatus.UNAVAILABLE, reason=reason)


def _registrable(method: Callable[[object, Any], Any]) -> Callable[[object, Any], Any]:
    """A function of its own for each registration: the SDK marks what it registers with
    attributes, which on a bound method would land on the class's function and refuse the same
    activity in a second runtime of the process."""

    def activity(ctx: object, data: Any) -> Any:
        return method(ctx, data)

    activity.__name__ = activity.__qualname__ = method.__name__
    activity.__doc__ = method.__doc__
    return activity
