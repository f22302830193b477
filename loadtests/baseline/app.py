"""The baseline workflow worker: one workflow that calls ACTIVITY_COUNT no-op activities in a row.

The order saga's happy path (workflows/order_saga.py, `_order_steps`) called two activities,
reserve_stock then take_payment; now the reservation goes out when the order is placed and the
saga waits for its reply (an external event, a timer beside it), then calls take_payment. The
baseline still calls two (a one-activity baseline has not been measured).

    python -m loadtests.baseline.app   # DAPR_GRPC_PORT names the baseline's own daprd
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Generator
from typing import Any

from dapr.ext.workflow import DaprWorkflowContext, WorkflowActivityContext, WorkflowRuntime
from dapr.ext.workflow.logger import LoggerOptions

WORKFLOW_NAME = "baseline_workflow"
ACTIVITY_COUNT = 2  # the saga's happy path had 2 (now 1 activity, 1 external event, 1 timer)


def noop(_ctx: WorkflowActivityContext, data: dict) -> dict:
    return data


def baseline_workflow(ctx: DaprWorkflowContext, data: dict) -> Generator[Any, Any, dict]:
    for step in range(ACTIVITY_COUNT):
        data = yield ctx.call_activity(noop, input={**data, "step": step})
    return data


def runtime() -> WorkflowRuntime:
    workflows = WorkflowRuntime(logger_options=LoggerOptions(log_handler=logging.NullHandler()))
    workflows.register_workflow(baseline_workflow, name=WORKFLOW_NAME)
    workflows.register_activity(noop, name="noop")
    return workflows


def main() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    workflows = runtime()
    workflows.start()
    print("baseline worker started", flush=True)
    stop.wait()
    workflows.shutdown()


if __name__ == "__main__":
    main()
