"""The order saga: reserve stock, take payment, confirm, notify; on failure undo in reverse.

Workflow code is replayed from history, so it only orchestrates: every side effect is an
activity (workflows/activities.py) and every wait has a timer. Each activity is one round trip
through the sidecar, so steps that always go together share one activity.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

from dapr.ext.workflow import DaprWorkflowContext, when_any

from workflows import activities as act
from workflows.metrics import SagaClock
from workflows.steps import CANCEL_REQUESTED, INVENTORY_RESERVED, PAYMENT_PROCESSED, STOCK_REPLY

Saga = Generator[Any, Any, None]
Ending = Generator[Any, Any, str]  # ends with the saga's outcome: COMPLETED, FAILED, COMPENSATED
CANCELLED_BY_REQUEST = "cancelled by request"


def order_saga(ctx: DaprWorkflowContext, order: dict) -> Saga:
    clock = SagaClock(ctx)  # counts and times the saga (workflows/metrics.py)
    clock.ended((yield from _order_steps(ctx, order)))


def _order_steps(ctx: DaprWorkflowContext, order: dict) -> Ending:
    # A cancel request sets a flag in the order database, which every step checks; the event
    # only wakes the saga early while it waits for stock.
    cancel = ctx.wait_for_external_event(CANCEL_REQUESTED)

    # 1. Reserve stock: a Kafka command, answered by a reply event (or not, in time).
    if not (yield ctx.call_activity(act.reserve_stock, input=order)):
        return
    reply = ctx.wait_for_external_event(STOCK_REPLY)
    timer = ctx.create_timer(timedelta(seconds=order["stockTimeoutSeconds"]))
    winner = yield when_any([reply, timer, cancel])
    if winner is not reply:
        # A reservation may still land later: the release leaves a mark that refuses it.
        reason = CANCELLED_BY_REQUEST if winner is cancel else "stock reservation timed out"
        return (yield from _compensate(ctx, order, [INVENTORY_RESERVED], reason))
    stock = reply.get_result()
    if not stock["reserved"]:
        reason = stock.get("reason") or "stock not available"
        return (yield from _finish(ctx, order, "FAILED", reason))

    # 2. Take payment: Dapr service invocation under the resiliency policy.
    payment = yield ctx.call_activity(act.take_payment, input=order)
    if payment["status"] != "CHARGED":
        reason = payment.get("reason") or "no reason given"
        if payment["status"] != "CANCELLED":
            reason = f"payment {payment['status'].lower()}: {reason}"
        # UNAVAILABLE: a charge may still land after we gave up, so a refund voids it.
        void = payment["status"] == "UNAVAILABLE"
        return (yield from _compensate(ctx, order, [INVENTORY_RESERVED], reason, void))
    done = [INVENTORY_RESERVED, PAYMENT_PROCESSED]
    if payment.get("cancelRequested"):
        return (yield from _compensate(ctx, order, done, CANCELLED_BY_REQUEST))

    # 3. Confirm, and 4. notify: inventory and notification-service react to the event.
    confirmed = yield ctx.call_activity(act.confirm_order, input=order)
    if not confirmed:
        return (yield from _compensate(ctx, order, done, CANCELLED_BY_REQUEST))
    return "COMPLETED"


def cancel_confirmed_order(ctx: DaprWorkflowContext, order: dict) -> Saga:
    """Undoes a CONFIRMED order: refund the charge, return the stock, tell the customer."""
    yield from _compensate(
        ctx, order, [INVENTORY_RESERVED, PAYMENT_PROCESSED], CANCELLED_BY_REQUEST
    )


def _compensate(
    ctx: DaprWorkflowContext, order: dict, done: list[str], reason: str, void_payment: bool = False
) -> Ending:
    yield ctx.call_activity(
        act.record_progress,
        input={"order": order, "saga_status": "COMPENSATING", "failure_reason": reason},
    )
    if void_payment:
        yield ctx.call_activity(act.refund_payment, input=order)
    for step in reversed(done):
        if step == PAYMENT_PROCESSED:
            yield ctx.call_activity(act.refund_payment, input=order)
        elif step == INVENTORY_RESERVED:
            yield ctx.call_activity(act.release_stock, input=order)
    return (yield from _finish(ctx, order, "COMPENSATED", reason, list(reversed(done))))


def _finish(
    ctx: DaprWorkflowContext,
    order: dict,
    saga_status: str,
    reason: str,
    compensated: list[str] | None = None,
) -> Ending:
    yield ctx.call_activity(
        act.finish_cancelled,
        input={
            "order": order,
            "saga_status": saga_status,
            "reason": reason,
            "compensated": compensated or [],
        },
    )
    return saga_status
