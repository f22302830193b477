"""Starting saga workflows and delivering events to them, without losing an order.

An order is stored before its workflow is scheduled. If scheduling fails (sidecar restarting,
no worker connected yet), the order keeps `workflow_started = False` and the resume loop
schedules it later. Scheduling is keyed by the order id, so doing it twice starts one saga.

A workflow is scheduled inside the order's trace (`continue_trace`), whoever schedules it: the
sidecar's workflow spans, the activities and all they cause then belong to the order's trace.
"""

from __future__ import annotations

import asyncio
import logging
import os

from dapr.ext.workflow import WorkflowStatus
from starlette.concurrency import run_in_threadpool

from apps.common.telemetry import continue_trace
from apps.order_service import orders
from apps.order_service.deps import async_workflow_client, db, workflow_client
from apps.order_service.store import Order
from workflows.order_saga import cancel_confirmed_order, order_saga

log = logging.getLogger(__name__)
STOCK_TIMEOUT_SECONDS = float(os.environ.get("STOCK_REPLY_TIMEOUT_SECONDS", "30"))
RESUME_EVERY_SECONDS = 5.0
FINISHED = {WorkflowStatus.COMPLETED, WorkflowStatus.FAILED, WorkflowStatus.TERMINATED}


async def _schedule(workflow_name: str, instance_id: str, order: Order, payload: dict) -> None:
    with continue_trace(order.traceparent):
        await async_workflow_client().schedule_new_orchestration(
            workflow_name, input=payload, instance_id=instance_id
        )


async def start_saga(order: Order) -> bool:
    payload = {
        **await run_in_threadpool(orders.saga_input, db, order),
        "stockTimeoutSeconds": STOCK_TIMEOUT_SECONDS,
    }
    try:
        await _schedule(order_saga.__name__, order.order_id, order, payload)
    except Exception as exc:
        if not _already_exists(exc):
            log.warning(
                "saga not started yet, will retry: %s", exc, extra={"order_id": order.order_id}
            )
            return False
    await run_in_threadpool(orders.mark_workflow_started, db, order.order_id)
    return True


async def start_cancellation(order_id: str) -> None:
    order = await run_in_threadpool(orders.get_order, db, order_id)
    assert order is not None
    payload = await run_in_threadpool(orders.saga_input, db, order)
    try:
        await _schedule(cancel_confirmed_order.__name__, f"{order_id}-cancel", order, payload)
    except Exception as exc:
        if not _already_exists(exc):
            raise


def _already_exists(exc: Exception) -> bool:
    return "already exists" in str(exc).lower() or "ALREADY_EXISTS" in str(exc)


async def resume_unstarted_sagas() -> None:
    """Runs for the life of the app: picks up orders whose workflow was never scheduled."""
    while True:
        await asyncio.sleep(RESUME_EVERY_SECONDS)
        try:
            for order in await run_in_threadpool(orders.unstarted_orders, db):
                await start_saga(order)
        except Exception:
            log.exception("resume loop failed; next round in %ss", RESUME_EVERY_SECONDS)


def deliver_event(order_id: str, event: str, data: dict) -> bool:
    """Raises a workflow event. False when no saga is running for the order any more;
    an exception when the sidecar or worker cannot take it now (the caller retries)."""
    client = workflow_client()
    state = client.get_workflow_state(order_id, fetch_payloads=False)
    if state is None or state.runtime_status in FINISHED:
        return False
    client.raise_workflow_event(order_id, event, data=data)
    return True
