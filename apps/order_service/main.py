"""order-service: owns orders and hosts the order saga (a Dapr Workflow).

`create()` builds everything (database, sidecar and workflow clients, the workflow worker, the
reconciler) at start-up; importing this module creates nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from dapr.aio.clients.grpc.interceptors import DaprClientTimeoutInterceptorAsync
from dapr.ext.workflow import DaprWorkflowClient, WorkflowRuntime
from dapr.ext.workflow._durabletask.aio.client import AsyncTaskHubGrpcClient
from dapr.ext.workflow.logger import LoggerOptions
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from apps.common.app import create_app
from apps.common.dapr import AsyncDaprClient, DaprClient
from apps.common.db import Database
from apps.common.health import SubscriptionCheck
from apps.common.pubsub import subscription_router
from apps.common.settings import Settings, get_settings
from apps.common.telemetry import GrpcTraceContext
from apps.order_service import orders, routes
from apps.order_service.admission import AdmissionSettings, SagaAdmission
from apps.order_service.reconciler import Reconciler, ReconcilerSettings
from apps.order_service.saga_records import SagaRecordsInDb
from apps.order_service.sagas import Sagas, SagaTimeouts
from apps.order_service.watch import OrderWatch
from workflows.activities import saga_activities
from workflows.limits import daily_limit
from workflows.order_saga import latest_version, register_saga

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


def saga_timeouts() -> SagaTimeouts:
    env = os.environ
    return SagaTimeouts(
        stock_reply_seconds=float(env.get("STOCK_REPLY_TIMEOUT_SECONDS", "30")),
        stock_resend_seconds=float(env.get("STOCK_RESEND_SECONDS", "5")),
        payment_deadline_seconds=float(env.get("PAYMENT_DEADLINE_SECONDS", "20")),
    )


def workflow_runtime(db: Database, dapr: DaprClient, watch: OrderWatch) -> WorkflowRuntime:
    runtime = WorkflowRuntime(logger_options=sdk_logging())
    register_saga(runtime, latest_version(os.environ))
    for name, activity in saga_activities(SagaRecordsInDb(db, watch), dapr).items():
        runtime.register_activity(activity, name=name)
    return runtime


def workers_connected(dapr: DaprClient) -> int:
    """Workflow workers whose work-item stream the sidecar holds now. Not the SDK's
    `wait_for_worker_ready`: its ready flag is set on the first connection and never cleared, so
    it stays True while the worker has lost its stream and is reconnecting."""
    return int(dapr.metadata().get("workflows", {}).get("connectedWorkers", 0))


def create() -> FastAPI:
    settings = get_settings()
    db = Database(settings.database_url)
    db.create_tables()
    dapr = DaprClient(timeout=15.0)
    watch = OrderWatch()
    runtime = workflow_runtime(db, dapr, watch)
    sagas = Sagas(
        db,
        DaprWorkflowClient(logger_options=sdk_logging()),
        workflow_scheduler(settings),
        saga_timeouts(),
        AsyncDaprClient(timeout=15.0),
        daily_limit(os.environ),
    )
    reconciler = Reconciler(db, sagas, ReconcilerSettings())
    admission = SagaAdmission(
        lambda: orders.sagas_in_flight(db), AdmissionSettings.from_env(os.environ)
    )
    subs = routes.subscriptions(db, sagas)
    subscriptions_consumed = SubscriptionCheck(dapr, [s.topic for s in subs])

    async def start_workflow_worker() -> None:
        # The sidecar may come up after the app: keep trying instead of failing start-up.
        while True:
            try:
                await run_in_threadpool(runtime.start)
                log.info("workflow worker connected")
                return
            except Exception as exc:
                log.warning("workflow worker not connected yet: %s", exc)
                await asyncio.sleep(2)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        tasks = [
            asyncio.create_task(start_workflow_worker()),
            asyncio.create_task(reconciler.run_forever()),
        ]
        yield
        for task in tasks:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        with suppress(Exception):
            await run_in_threadpool(runtime.shutdown)

    return create_app(
        "order-service",
        routers=[routes.api_router(db, sagas, admission, watch), subscription_router(subs)],
        readiness={
            "database": lambda: db.ping() is None,
            "sidecar": dapr.sidecar_ready,
            "workflow-worker": lambda: workers_connected(dapr) > 0,
            "subscriptions": subscriptions_consumed,
        },
        lifespan=lifespan,
    )
