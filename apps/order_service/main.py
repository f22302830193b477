"""order-service: owns orders and hosts the order saga (a Dapr Workflow).

`create()` builds everything (database, sidecar and workflow clients, the workflow worker, the
reconciler) at start-up; importing this module creates nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from dapr.aio.clients.grpc.interceptors import DaprClientTimeoutInterceptorAsync
from dapr.ext.workflow import DaprWorkflowClient, WorkflowRuntime
from dapr.ext.workflow._durabletask.aio.client import AsyncTaskHubGrpcClient
from dapr.ext.workflow.logger import LoggerOptions
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from apps.common.app import Lifespan, create_app
from apps.common.dapr import AsyncDaprClient, DaprClient
from apps.common.db import Database
from apps.common.health import SubscriptionCheck
from apps.common.pubsub import subscription_router
from apps.common.settings import Settings
from apps.common.telemetry import GrpcTraceContext
from apps.order_service import queries, routes
from apps.order_service.admission import SagaAdmission
from apps.order_service.errors import install_order_errors
from apps.order_service.reconciler import Reconciler, ReconcilerSettings
from apps.order_service.saga_record import SagaRecordsInDb
from apps.order_service.sagas import Sagas
from apps.order_service.settings import OrderServiceSettings
from apps.order_service.watch import OrderWatch
from workflows.activities import SagaActivities
from workflows.order_saga import register_saga
from workflows.steps import SAGA_VERSION

log = logging.getLogger(__name__)


def sdk_logging() -> LoggerOptions:
    # The SDK's loggers propagate to the root logger, which writes our JSON lines. One client of
    # each kind per process: the SDK adds a log handler for every client it creates.
    return LoggerOptions(log_handler=logging.NullHandler())


def workflow_scheduler(settings: Settings) -> AsyncTaskHubGrpcClient:
    """Schedules workflows: the durabletask client the SDK's async client wraps, built here
    because the SDK's has no way to add a gRPC interceptor. `GrpcTraceContext` sends the
    caller's trace context, so daprd makes the workflow's spans, and its activities', part of
    the caller's trace (the order's). It sends the sidecar's API token as the SDK's own
    clients do (they read DAPR_API_TOKEN from the environment)."""
    token = settings.dapr_api_token
    return AsyncTaskHubGrpcClient(
        host_address=f"127.0.0.1:{settings.dapr_grpc_port}",
        metadata=[("dapr-api-token", token)] if token else None,
        interceptors=[DaprClientTimeoutInterceptorAsync(), GrpcTraceContext()],
        log_handler=logging.NullHandler(),
    )


def workflow_runtime(
    db: Database, dapr: DaprClient, watch: OrderWatch, latest_version: str = SAGA_VERSION
) -> WorkflowRuntime:
    runtime = WorkflowRuntime(logger_options=sdk_logging())
    register_saga(runtime, latest_version)
    for name, activity in SagaActivities(SagaRecordsInDb(db, watch), dapr).by_name().items():
        runtime.register_activity(activity, name=name)
    return runtime


def workers_connected(dapr: DaprClient) -> int:
    """Workflow workers whose work-item stream the sidecar holds now. Not the SDK's
    `wait_for_worker_ready`: its ready flag is set on the first connection and never cleared, so
    it stays True while the worker has lost its stream and is reconnecting."""
    return int(dapr.metadata().get("workflows", {}).get("connectedWorkers", 0))


async def start_workflow_worker(runtime: WorkflowRuntime) -> None:
    # The sidecar may come up after the app: keep trying instead of failing start-up.
    while True:
        try:
            await run_in_threadpool(runtime.start)
            log.info("workflow worker connected")
            return
        except Exception as exc:
            log.warning("workflow worker not connected yet: %s", exc)
            await asyncio.sleep(2)


def background(runtime: WorkflowRuntime, reconciler: Reconciler) -> Lifespan:
    """The app's lifespan: the workflow worker and the reconciler run while it serves."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        tasks = [
            asyncio.create_task(start_workflow_worker(runtime)),
            asyncio.create_task(reconciler.run_forever()),
        ]
        yield
        for task in tasks:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        with suppress(Exception):
            await run_in_threadpool(runtime.shutdown)

    return lifespan


def create() -> FastAPI:
    settings = OrderServiceSettings()
    db = Database(settings.database, settings)
    db.create_tables()
    dapr = DaprClient(timeout=15.0)
    watch = OrderWatch()
    runtime = workflow_runtime(db, dapr, watch, settings.saga_latest_version)
    sagas = Sagas(
        db,
        DaprWorkflowClient(logger_options=sdk_logging()),
        workflow_scheduler(settings),
        settings.saga_timeouts(),
        AsyncDaprClient(timeout=15.0),
        settings.order_daily_limit,
    )
    reconciler = Reconciler(db, sagas, ReconcilerSettings())
    admission = SagaAdmission(lambda: queries.sagas_in_flight(db), settings.admission())
    subs = routes.subscriptions(db, sagas)
    subscriptions_consumed = SubscriptionCheck(dapr, [s.topic for s in subs])

    app = create_app(
        "order-service",
        routers=[routes.router, subscription_router(subs)],
        readiness={
            "database": db.is_reachable,
            "sidecar": dapr.sidecar_ready,
            "workflow-worker": lambda: workers_connected(dapr) > 0,
            "subscriptions": subscriptions_consumed,
        },
        lifespan=background(runtime, reconciler),
    )
    install_order_errors(app)
    # What the routes depend on (routes.py `Depends`).
    app.state.db, app.state.sagas, app.state.admission, app.state.watch = (
        db,
        sagas,
        admission,
        watch,
    )
    return app
