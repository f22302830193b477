"""The order-service's database, sidecar client and workflow clients, shared by routes and
workflow activities. One workflow client of each kind per process: the SDK adds a log handler
for every client it creates, so a client per call would log each line once per call so far."""

from __future__ import annotations

import logging
from functools import cache

from dapr.aio.clients.grpc.interceptors import DaprClientTimeoutInterceptorAsync
from dapr.ext.workflow import DaprWorkflowClient, WorkflowRuntime
from dapr.ext.workflow._durabletask.aio.client import AsyncTaskHubGrpcClient
from dapr.ext.workflow.logger import LoggerOptions

from apps.common.dapr import DaprClient
from apps.common.db import Database
from apps.common.settings import get_settings
from apps.common.telemetry import GrpcTraceContext

db = Database(get_settings().database_url)
dapr = DaprClient(timeout=15.0)


def sdk_logging() -> LoggerOptions:
    # The SDK's loggers propagate to the root logger, which writes our JSON lines.
    return LoggerOptions(log_handler=logging.NullHandler())


workflow_runtime = WorkflowRuntime(logger_options=sdk_logging())


@cache
def workflow_client() -> DaprWorkflowClient:
    return DaprWorkflowClient(logger_options=sdk_logging())


@cache
def async_workflow_client() -> AsyncTaskHubGrpcClient:
    """Schedules workflows: the durabletask client the SDK's async client wraps, built here
    because the SDK's has no way to add a gRPC interceptor. `GrpcTraceContext` sends the
    caller's trace context, so daprd makes the workflow's spans, and its activities', part of
    the caller's trace (the order's)."""
    return AsyncTaskHubGrpcClient(
        host_address=f"127.0.0.1:{get_settings().dapr_grpc_port}",
        interceptors=[DaprClientTimeoutInterceptorAsync(), GrpcTraceContext()],
        log_handler=logging.NullHandler(),
    )
