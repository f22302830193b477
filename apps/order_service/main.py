"""order-service: owns orders and hosts the order saga (a Dapr Workflow)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from apps.common.app import create_app
from apps.common.pubsub import subscription_router
from apps.order_service import routes, saga_starter
from apps.order_service.deps import dapr, db, workflow_runtime
from workflows import activities
from workflows.order_saga import cancel_confirmed_order, order_saga

log = logging.getLogger(__name__)
db.create_tables()
workflow_runtime.register_workflow(order_saga)
workflow_runtime.register_workflow(cancel_confirmed_order)
for activity in activities.ALL:
    workflow_runtime.register_activity(activity)


async def start_workflow_worker() -> None:
    # The sidecar may come up after the app: keep trying instead of failing start-up.
    while True:
        try:
            await run_in_threadpool(workflow_runtime.start)
            log.info("workflow worker connected")
            return
        except Exception as exc:
            log.warning("workflow worker not connected yet: %s", exc)
            await asyncio.sleep(2)


def worker_ready() -> bool:
    return workflow_runtime.wait_for_worker_ready(timeout=0.2)


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    tasks = [
        asyncio.create_task(start_workflow_worker()),
        asyncio.create_task(saga_starter.resume_unstarted_sagas()),
    ]
    yield
    for task in tasks:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
    with suppress(Exception):
        await run_in_threadpool(workflow_runtime.shutdown)


app = create_app(
    "order-service",
    routers=[routes.router, subscription_router(routes.subscriptions)],
    readiness={
        "database": lambda: db.ping() is None,
        "sidecar": dapr.sidecar_ready,
        "workflow-worker": worker_ready,
    },
    lifespan=lifespan,
)
