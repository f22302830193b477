"""The order saga: reserve stock, take payment, confirm, notify; on failure undo in reverse.

Workflow code is replayed from history, so it only orchestrates: every side effect is an
activity (workflows/activities.py) and every wait has a timer.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

from dapr.ext.workflow import DaprWorkflowContext, when_any

from workflows import activities as act
from workflows.steps import CANCEL_REQUESTED, INVENTORY_RESERVED, PAYMENT_PROCESSED, STOCK_REPLY

Saga = Generator[Any, Any, None]


def order_saga(ctx: DaprWorkflowContext, order: dict) -> Saga:
    cancel = ctx.wait_for_external_event(CANCEL_REQUESTED)
    undo: list[str] = []  # steps done so far, most recent last

    # 1. Reserve stock: a Kafka command, answered by a reply event (or not, in time).
    yield ctx.call_activity(act.reserve_stock, input=order)
    reply = ctx.wait_for_external_event(STOCK_REPLY)
    timer = ctx.create_timer(timedelta(seconds=order["stockTimeoutSeconds"]))
    winner = yield when_any([reply, timer, cancel])
    if winner is not reply:
        # A reservation may still land later: the release leaves a mark that refuses it.
        reason = "cancelled by request" if winner is cancel else "stock reservation timed out"
        yield from _compensate(ctx, order, [INVENTORY_RESERVED], reason)
        return
    stock = reply.get_result()
    if not stock["reserved"]:
        yield from _fail(ctx, order, stock.get("reason") or "stock not available")
        return
    undo.append(INVENTORY_RESERVED)
    cancelled = yield ctx.call_activity(
        act.record_progress,
        input=_step(order, order_status="PAYMENT_PENDING", completed=INVENTORY_RESERVED),
    )
    if cancelled:
        yield from _compensate(ctx, order, undo, "cancelled by request")
        return

    # 2. Take payment: Dapr service invocation under the resiliency policy.
    payment = yield ctx.call_activity(act.charge_payment, input=order)
    if payment["status"] != "CHARGED":
        reason = f"payment {payment['status'].lower()}: {payment.get('reason') or 'no reason'}"
        # UNAVAILABLE: a charge may still land after we gave up, so a refund voids it.
        void = payment["status"] == "UNAVAILABLE"
        yield from _compensate(ctx, order, undo, reason, void_payment=void)
        return
    undo.append(PAYMENT_PROCESSED)
    cancelled = yield ctx.call_activity(
        act.record_progress, input=_step(order, order_status="PAID", completed=PAYMENT_PROCESSED)
    )
    if cancelled:
        yield from _compensate(ctx, order, undo, "cancelled by request")
        return

    # 3. Confirm and 4. notify (notification-service and inventory react to the event).
    yield ctx.call_activity(act.publish_confirmed, input=order)
    completed = yield ctx.call_activity(act.complete_saga, input=order)
    if not completed:
        yield from _compensate(ctx, order, undo, "cancelled by request")


def cancel_confirmed_order(ctx: DaprWorkflowContext, order: dict) -> Saga:
    """Undoes a CONFIRMED order: refund the charge, return the stock, tell the customer."""
    yield from _compensate(
        ctx, order, [INVENTORY_RESERVED, PAYMENT_PROCESSED], "cancelled by request"
    )


def _compensate(
    ctx: DaprWorkflowContext, order: dict, done: list[str], reason: str, void_payment: bool = False
) -> Saga:
    yield ctx.call_activity(
        act.record_progress, input=_step(order, saga_status="COMPENSATING", failure_reason=reason)
    )
    if void_payment:
        yield ctx.call_activity(act.refund_payment, input=order)
    for step in reversed(done):
        if step == PAYMENT_PROCESSED:
            yield ctx.call_activity(act.refund_payment, input=order)
        elif step == INVENTORY_RESERVED:
            yield ctx.call_activity(act.release_stock, input=order)
    yield ctx.call_activity(
        act.record_progress,
        input=_step(
            order,
            order_status="CANCELLED",
            saga_status="COMPENSATED",
            compensated=list(reversed(done)),
        ),
    )
    yield ctx.call_activity(act.publish_cancelled, input={"order": order, "reason": reason})


def _fail(ctx: DaprWorkflowContext, order: dict, reason: str) -> Saga:
    """Nothing was done yet: the order is cancelled and the saga FAILED."""
    yield ctx.call_activity(
        act.record_progress,
        input=_step(order, order_status="CANCELLED", saga_status="FAILED", failure_reason=reason),
    )
    yield ctx.call_activity(act.publish_cancelled, input={"order": order, "reason": reason})


def _step(order: dict, **update: Any) -> dict:
    return {"order": order, **update}
