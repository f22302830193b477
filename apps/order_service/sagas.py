"""Starting, resuming and signalling order sagas: Dapr Workflow instances whose id is the
order id.

An order is stored before its saga is scheduled. If scheduling fails (sidecar restarting, no
worker connected yet) the order keeps `workflow_started = False` and the reconciler schedules it
later; scheduling is keyed by the order id, so doing it twice starts one saga. A saga is resumed
by scheduling the same instance id again once the previous run has ended (Dapr allows reusing a
finished instance's id), with `resume` in its input (workflows/order_saga.py `_resume`).

A new saga's first command (reserve-stock) is sent here, once its workflow is scheduled, not by
an activity of its own: every activity costs the workflow engine a round of scheduling, state
and history. It is sent in the background, so a broker outage never holds up placing an order;
if it does not go out, the saga sends it again itself (workflows/order_saga.py).

A workflow is scheduled inside the order's trace (`continue_trace`), whoever schedules it: the
sidecar's workflow spans, the activities and all they cause then belong to the order's trace.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import grpc
from dapr.ext.workflow import DaprWorkflowClient, WorkflowState, WorkflowStatus
from dapr.ext.workflow._durabletask.aio.client import AsyncTaskHubGrpcClient
from starlette.concurrency import run_in_threadpool

from apps.common.contracts import RESERVE_STOCK, ReserveStock
from apps.common.dapr import AsyncDaprClient, SidecarError
from apps.common.db import Database
from apps.common.money import format_amount
from apps.common.telemetry import continue_trace
from apps.order_service import saga_record
from apps.order_service.store import Order
from workflows.models import SagaInput
from workflows.spans import order_span
from workflows.steps import ORDER_SAGA

log = logging.getLogger(__name__)
ENDED = {WorkflowStatus.COMPLETED, WorkflowStatus.FAILED, WorkflowStatus.TERMINATED}
COMMANDS_PENDING_AT_MOST = 100  # past this (the sidecar is slow or away) the sagas send them
RESUME_WAIT_SECONDS = 8.0  # a cancel of a confirmed order waits this long for the run to end
RESUME_RETRY_SECONDS = 0.2
# Scheduling normally takes milliseconds; it hangs while the sidecar cannot place the workflow
# (placement or the scheduler down). Past this the order is answered and the reconciler
# schedules the saga later: placing an order must answer within the gateway's per-attempt
# timeout (components/common/resiliency-gateway.yaml).
SCHEDULE_TIMEOUT_SECONDS = 1.0
# Scheduling an id again right after its previous run ended (a resume) takes about 1 s in Dapr
# 1.18.3 (seen after an operator's termination); still within the gateway's 2 s.
RESCHEDULE_TIMEOUT_SECONDS = 1.5
# A workflow's state read or termination hangs while its actor cannot be placed (seen: 107 s
# for a terminate after placement and the scheduler restarted): the reconciler gives up on the
# round past this, instead of holding every other order back.
WORKFLOW_CALL_SECONDS = 5.0


@dataclass(frozen=True)
class SagaTimeouts:
    # From OrderServiceSettings (apps/order_service/settings.py), where the defaults are.
    stock_reply_seconds: float
    stock_resend_seconds: float  # no reply by then: the command sent again
    payment_deadline_seconds: float


class Sagas:
    def __init__(
        self,
        db: Database,
        workflows: DaprWorkflowClient,
        scheduler: AsyncTaskHubGrpcClient,
        timeouts: SagaTimeouts,
        commands: AsyncDaprClient,
        daily_limit: Decimal | None = None,
    ) -> None:
        self.db, self.workflows, self.scheduler, self.timeouts = db, workflows, scheduler, timeouts
        self.commands, self.daily_limit = commands, daily_limit
        self._sending: set[asyncio.Task[None]] = set()

    async def start(self, order: Order) -> bool:
        """Schedules the order's saga and sends its reservation; False (logged) if the saga
        cannot be scheduled now."""
        payload = await self._input(order, resume=False)
        if not await self._schedule(order, payload):
            return False
        await run_in_threadpool(saga_record.mark_workflow_started, self.db, order.order_id)
        if len(self._sending) < COMMANDS_PENDING_AT_MOST:
            task = asyncio.create_task(self._reserve_stock(payload))
            self._sending.add(task)  # held until done: the loop keeps only weak references
            task.add_done_callback(self._sending.discard)
        return True

    async def resume(self, order: Order) -> bool:
        """Runs the order's saga again from what its record says; False if its previous run has
        not ended yet (or the sidecar cannot take it now)."""
        return await self._schedule(order, await self._input(order, resume=True))

    async def resume_once_ended(self, order: Order, within: float = RESUME_WAIT_SECONDS) -> bool:
        """Resumes the order's saga, waiting up to `within` seconds for its previous run to end
        first. A client may cancel an order the moment it shows CONFIRMED, which the payment
        step writes before the workflow has recorded its own end; scheduling the same id then
        fails (ALREADY_EXISTS) for as long as that last turn takes (hundreds of ms while
        placement moves the workflow actors, seen at a rejoin of an instance)."""
        deadline = time.monotonic() + within
        while not await self.resume(order):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(RESUME_RETRY_SECONDS)
        return True

    def state(self, order_id: str) -> WorkflowState | None:
        return self.workflows.get_workflow_state(order_id, fetch_payloads=False)

    async def state_within(self, order_id: str) -> WorkflowState | None:
        """The workflow's state, None if there is none; TimeoutError past
        WORKFLOW_CALL_SECONDS."""
        ask = self.scheduler.get_orchestration_state(order_id, fetch_payloads=False)
        try:
            found = await asyncio.wait_for(ask, WORKFLOW_CALL_SECONDS)
        except grpc.RpcError as error:
            if "no such instance exists" in str(error):
                return None
            raise
        return None if found is None else WorkflowState(found)

    async def terminate_within(self, order_id: str) -> None:
        """Terminates the workflow; TimeoutError past WORKFLOW_CALL_SECONDS (it may still end)."""
        await asyncio.wait_for(
            self.scheduler.terminate_orchestration(order_id), WORKFLOW_CALL_SECONDS
        )

    def deliver_event(self, order_id: str, event: str, data: dict[str, Any]) -> bool:
        """Raises a workflow event: True once the engine has it (a saga that has already ended
        ignores it), False when no saga exists for the order, an exception when the sidecar or
        worker cannot take it now (the caller retries). One round trip in the common case; the
        state is read only when raising fails."""
        try:
            self.workflows.raise_workflow_event(order_id, event, data=data)
            return True
        except Exception:
            state = self.state(order_id)
            if state is None or state.runtime_status in ENDED:
                return False
            raise

    async def _input(self, order: Order, resume: bool) -> dict[str, Any]:
        """The workflow's input, in the shape the saga validates (workflows/models.py)."""
        payload = {
            **await run_in_threadpool(saga_record.saga_input, self.db, order),
            "stockTimeoutSeconds": self.timeouts.stock_reply_seconds,
            "paymentDeadlineSeconds": self.timeouts.payment_deadline_seconds,
            "resume": resume,
            # A first run: the reservation goes out from start(), the saga waits this long
            # for its reply before sending it again.
            **({} if resume else {"stockRequested": True}),
            "stockResendSeconds": min(
                self.timeouts.stock_resend_seconds, self.timeouts.stock_reply_seconds
            ),
            # Saga v2 checks it before payment (workflows/limits.py); absent: no check.
            **({"dailyLimit": format_amount(self.daily_limit)} if self.daily_limit else {}),
        }
        return SagaInput.read(payload).wire()

    async def _schedule(self, order: Order, payload: dict[str, Any]) -> bool:
        try:
            with continue_trace(order.traceparent):
                await asyncio.wait_for(
                    self.scheduler.schedule_new_orchestration(
                        ORDER_SAGA, input=payload, instance_id=order.order_id
                    ),
                    RESCHEDULE_TIMEOUT_SECONDS if payload["resume"] else SCHEDULE_TIMEOUT_SECONDS,
                )
        except Exception as exc:
            if _already_exists(exc) and not payload["resume"]:
                return True  # a first start that raced another: one saga runs
            why = exc if str(exc) else "no answer in time"
            log.warning("saga not scheduled now: %s", why, extra={"order_id": order.order_id})
            return False
        return True

    async def _reserve_stock(self, payload: dict[str, Any]) -> None:
        order_id = payload["orderId"]
        cmd = ReserveStock.model_validate({"orderId": order_id, "items": payload["items"]})
        try:
            # The saga's step, timed and traced as an activity's is.
            with order_span("reserve_stock", order_id, payload.get("traceparent")):
                await self.commands.publish(RESERVE_STOCK, cmd.wire(), key=order_id)
        except SidecarError as exc:
            log.warning(
                "reservation not sent now (the saga sends it again): %s",
                exc,
                extra={"order_id": order_id},
            )


def _already_exists(exc: Exception) -> bool:
    return "already exists" in str(exc).lower() or "ALREADY_EXISTS" in str(exc)
