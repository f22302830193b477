"""What an operator can do to an order that is stuck: drive it to an end now, by the code paths
the reconciler uses (apps/order_service/reconciler.py), without waiting for its next round.

A saga that never started is started (`Sagas.start`); one whose workflow is still alive is
terminated first, then resumed (`Sagas.resume`): the saga goes on from its record in the order
database, completing or compensating, as a resumed saga always does (workflows/order_saga.py
`_resume`). Every step is idempotent, so driving an order whose workflow was about to move by
itself does no harm, and neither does the gateway's sidecar sending a drive again that took
longer than its per-attempt timeout (components/common/resiliency-gateway.yaml). Each workflow
call is bounded (`Sagas.state_within`, `Sagas.terminate_within`): a sidecar that cannot place
the workflow makes the drive answer "try again", not hang.
"""

from __future__ import annotations

import asyncio
import logging
import time

from apps.order_service.errors import SagaNotDriven
from apps.order_service.reconciler import RECONCILED
from apps.order_service.sagas import ENDED, Sagas
from apps.order_service.store import Order

log = logging.getLogger(__name__)
TERMINATION_WAIT_SECONDS = 10.0


async def drive_to_end(sagas: Sagas, order: Order) -> str:
    """Starts or resumes the order's saga now; what was done ('started', 'resumed')."""
    if not order.workflow_started:
        if not await sagas.start(order):
            raise SagaNotDriven("Saga not scheduled", "the sidecar cannot take it now; try again")
        RECONCILED.labels("started").inc()
        return "started"
    try:
        await _end_alive_run(sagas, order.order_id)
    except TimeoutError as exc:
        raise SagaNotDriven(
            "Saga not driven", "the sidecar did not answer in time; try again"
        ) from exc
    if not await sagas.resume(order):
        raise SagaNotDriven("Saga not resumed", "its workflow has not ended yet; try again")
    log.warning("saga resumed by an operator", extra={"order_id": order.order_id})
    RECONCILED.labels("resumed").inc()
    return "resumed"


async def _end_alive_run(sagas: Sagas, order_id: str) -> None:
    """Terminates the order's workflow if it is still alive, and waits until it has ended."""
    state = await sagas.state_within(order_id)
    if state is not None and state.runtime_status not in ENDED:
        log.warning(
            "operator drives the saga: workflow %s terminated, to be resumed",
            state.runtime_status.name,
            extra={"order_id": order_id},
        )
        await sagas.terminate_within(order_id)
        await _until_ended(sagas, order_id)


async def _until_ended(sagas: Sagas, order_id: str) -> None:
    deadline = time.monotonic() + TERMINATION_WAIT_SECONDS
    while time.monotonic() < deadline:
        state = await sagas.state_within(order_id)
        if state is None or state.runtime_status in ENDED:
            return
        await asyncio.sleep(0.2)
    raise SagaNotDriven("Saga not terminated", "its workflow did not end in time; try again")
