"""Starting, resuming and signalling order sagas: Dapr Workflow instances whose id is the
order id.

An order is stored before its saga is scheduled. If scheduling fails (sidecar restarting, no
worker connected yet) the order keeps `workflow_started = False` and the reconciler schedules it
later; scheduling is keyed by the order id, so doing it twice starts one saga. A saga is resumed
by scheduling the same instance id again once the previous run has ended (Dapr allows reusing a
finished instance's id), with `resume` in its input (workflows/order_saga.py `_resume`).

A workflow is scheduled inside the order's trace (`continue_trace`), whoever schedules it: the
sidecar's workflow spans, the activities and all they cause then belong to the order's trace.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from dapr.ext.workflow import DaprWorkflowClient, WorkflowState, WorkflowStatus
from dapr.ext.workflow._durabletask.aio.client import AsyncTaskHubGrpcClient
from starlette.concurrency import run_in_threadpool

from apps.common.db import Database
from apps.common.telemetry import continue_trace
from apps.order_service import orders
from apps.order_service.store import Order
from workflows.steps import ORDER_SAGA

log = logging.getLogger(__name__)
ENDED = {WorkflowStatus.COMPLETED, WorkflowStatus.FAILED, WorkflowStatus.TERMINATED}


@dataclass(frozen=True)
class SagaTimeouts:
    stock_reply_seconds: float = 30.0  # STOCK_REPLY_TIMEOUT_SECONDS
    payment_deadline_seconds: float = 20.0  # PAYMENT_DEADLINE_SECONDS


class Sagas:
    def __init__(
        self,
        db: Database,
        workflows: DaprWorkflowClient,
        scheduler: AsyncTaskHubGrpcClient,
        timeouts: SagaTimeouts,
    ) -> None:
        self.db, self.workflows, self.scheduler, self.timeouts = db, workflows, scheduler, timeouts

    async def start(self, order: Order) -> bool:
        """Schedules the order's saga; False (logged) if that cannot be done now."""
        if not await self._schedule(order, resume=False):
            return False
        await run_in_threadpool(orders.mark_workflow_started, self.db, order.order_id)
        return True

    async def resume(self, order: Order) -> bool:
        """Runs the order's saga again from what its record says; False if its previous run has
        not ended yet (or the sidecar cannot take it now)."""
        return await self._schedule(order, resume=True)

    def state(self, order_id: str) -> WorkflowState | None:
        return self.workflows.get_workflow_state(order_id, fetch_payloads=False)

    def terminate(self, order_id: str) -> None:
        self.workflows.terminate_workflow(order_id)

    def deliver_event(self, order_id: str, event: str, data: dict) -> bool:
        """Raises a workflow event. False when no saga is running for the order any more;
        an exception when the sidecar or worker cannot take it now (the caller retries)."""
        state = self.state(order_id)
        if state is None or state.runtime_status in ENDED:
            return False
        self.workflows.raise_workflow_event(order_id, event, data=data)
        return True

    async def _schedule(self, order: Order, resume: bool) -> bool:
        payload = {
            **await run_in_threadpool(orders.saga_input, self.db, order),
            "stockTimeoutSeconds": self.timeouts.stock_reply_seconds,
            "paymentDeadlineSeconds": self.timeouts.payment_deadline_seconds,
            "resume": resume,
        }
        try:
            with continue_trace(order.traceparent):
                await self.scheduler.schedule_new_orchestration(
                    ORDER_SAGA, input=payload, instance_id=order.order_id
                )
        except Exception as exc:
            if _already_exists(exc) and not resume:
                return True  # a first start that raced another: one saga runs
            log.warning("saga not scheduled now: %s", exc, extra={"order_id": order.order_id})
            return False
        return True


def _already_exists(exc: Exception) -> bool:
    return "already exists" in str(exc).lower() or "ALREADY_EXISTS" in str(exc)
