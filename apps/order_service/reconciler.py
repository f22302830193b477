"""Drives every order to an end, whatever happened to its saga's workflow.

Every few seconds it looks for orders whose saga never started (scheduling failed) and for
orders that are not settled in the database although their saga has not moved for a while
(`queries.unsettled_orders`). An order whose workflow is still running is left to it: its own
timers and retry policies drive it. One whose workflow is missing, failed, was terminated, or
ended without settling the order is resumed (apps/order_service/sagas.py): the saga goes on
from its record, completing or compensating.

A workflow that says RUNNING but has not changed for `stalled_after` is not trusted: no step of
the saga waits that long without a timer firing (the longest wait is the stock reply's timeout,
and retries back off to at most 15 s), so its engine lost what would have woken it (seen: 19
sagas RUNNING for hours after a stack was stopped in the middle of a chaos run). It is
terminated, and resumed the next round like any ended saga.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dapr.ext.workflow import WorkflowStatus
from prometheus_client import Counter
from starlette.concurrency import run_in_threadpool

from apps.common.db import Database
from apps.order_service import queries
from apps.order_service.sagas import ENDED, Sagas

log = logging.getLogger(__name__)
RECONCILED = Counter(
    "order_saga_reconciled_total",
    "Sagas the reconciler started late (started), ran again (resumed), or ended because their "
    "workflow had stalled (terminated_stalled)",
    ["action"],
)
ALIVE = {WorkflowStatus.RUNNING, WorkflowStatus.PENDING, WorkflowStatus.SUSPENDED}


@dataclass(frozen=True)
class ReconcilerSettings:
    every_seconds: float = 5.0
    unstarted_after: timedelta = timedelta(seconds=2)  # the request that stored it may be slow
    idle_after: timedelta = timedelta(seconds=10)
    stalled_after: timedelta = timedelta(minutes=5)  # RUNNING, yet unchanged for this long
    batch: int = 200  # oldest first; running ones are skipped cheaply (one state read each)


class Reconciler:
    def __init__(self, db: Database, sagas: Sagas, settings: ReconcilerSettings) -> None:
        self.db, self.sagas, self.settings = db, sagas, settings

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.every_seconds)
            try:
                await self.reconcile_once()
            except TimeoutError:  # a workflow call hung (its actor not placed yet): next round
                log.warning("reconcile round cut short: the sidecar did not answer in time")
            except Exception as exc:  # sidecar or database away: next round
                log.warning("reconcile round failed: %s", exc)

    async def reconcile_once(self) -> int:
        """One round; returns how many sagas it started or resumed."""
        acted = 0
        s = self.settings
        for order in await run_in_threadpool(
            queries.unstarted_orders, self.db, s.unstarted_after, s.batch
        ):
            if await self.sagas.start(order):
                RECONCILED.labels("started").inc()
                acted += 1
        for order in await run_in_threadpool(
            queries.unsettled_orders, self.db, s.idle_after, s.batch
        ):
            state = await self.sagas.state_within(order.order_id)
            status = state.runtime_status if state else None
            if status in ALIVE:
                if (
                    state is not None
                    and status != WorkflowStatus.SUSPENDED
                    and stalled(state, s.stalled_after)
                ):
                    log.error(
                        "saga stalled: workflow %s unchanged since %s; terminated, to be resumed",
                        status.name,
                        state.last_updated_at,
                        extra={"order_id": order.order_id},
                    )
                    await self.sagas.terminate_within(order.order_id)
                    RECONCILED.labels("terminated_stalled").inc()
                continue
            if status is not None and status not in ENDED:  # e.g. STALLED: end it first
                await self.sagas.terminate_within(order.order_id)
                continue  # resumed next round, once it has ended
            if await self.sagas.resume(order):
                log.warning(
                    "saga resumed (workflow %s)",
                    status.name if status else "missing",
                    extra={"order_id": order.order_id},
                )
                RECONCILED.labels("resumed").inc()
                acted += 1
        return acted


def stalled(state: object, after: timedelta, now: datetime | None = None) -> bool:
    """Whether a live workflow has not changed for `after` (its engine's last update time)."""
    updated = getattr(state, "last_updated_at", None)
    if not isinstance(updated, datetime):
        return False
    if updated.tzinfo is None:  # the SDK gives the protobuf timestamp as naive UTC
        updated = updated.replace(tzinfo=UTC)
    return (now or datetime.now(UTC)) - updated > after
