"""Starts N baseline workflows, at a constant rate or as fast as C at a time allow, and waits for
each to complete (the sidecar's WaitForInstanceCompletion). Runs in the bench process: the load
generator, not counted in the baseline's CPU."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass

from dapr.ext.workflow._durabletask.aio.client import AsyncTaskHubGrpcClient

from loadtests.baseline.app import WORKFLOW_NAME
from loadtests.baseline.sidecar import GRPC_PORT

WAIT_SECONDS = 120  # per workflow; the run is bounded by it


@dataclass(frozen=True)
class WorkflowRun:
    scheduled: float  # epoch seconds, just before scheduling
    completed: float | None  # epoch seconds the completion was seen; None if it never was
    status: str  # COMPLETED, FAILED, ... or an error

    @property
    def latency_ms(self) -> float | None:
        return None if self.completed is None else (self.completed - self.scheduled) * 1000


async def _one(client: AsyncTaskHubGrpcClient, instance_id: str) -> WorkflowRun:
    scheduled = time.time()
    try:
        await client.schedule_new_orchestration(
            WORKFLOW_NAME, input={"id": instance_id}, instance_id=instance_id
        )
        state = await client.wait_for_orchestration_completion(
            instance_id, fetch_payloads=False, timeout=WAIT_SECONDS
        )
    except Exception as exc:  # noqa: BLE001 - any failure is a result to report
        return WorkflowRun(scheduled, None, f"error: {type(exc).__name__}")
    status = state.runtime_status.name if state else "MISSING"
    return WorkflowRun(scheduled, time.time() if status == "COMPLETED" else None, status)


async def _drive(count: int, rate: float, concurrency: int) -> list[WorkflowRun]:
    prefix = f"baseline-{uuid.uuid4().hex[:8]}"
    client = AsyncTaskHubGrpcClient(
        host_address=f"127.0.0.1:{GRPC_PORT}", log_handler=logging.NullHandler()
    )
    slots = asyncio.Semaphore(concurrency if rate <= 0 else count)

    async def limited(i: int) -> WorkflowRun:
        async with slots:
            return await _one(client, f"{prefix}-{i}")

    start = time.monotonic()
    tasks = []
    for i in range(count):
        if rate > 0:
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        tasks.append(asyncio.create_task(limited(i)))
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        await client.aclose()


def run_workflows(count: int, rate: float = 0.0, concurrency: int = 20) -> list[WorkflowRun]:
    """rate > 0: one every 1/rate s (open loop); else at most `concurrency` in flight."""
    return asyncio.run(_drive(count, rate, concurrency))
