"""Sagas._schedule gives up after SCHEDULE_TIMEOUT_SECONDS when the sidecar does not answer
(placement or the scheduler down): the order is answered and the reconciler schedules the saga
later. The scheduler client is faked: what is tested is the waiting, not Dapr."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import pytest

from apps.order_service import sagas as sagas_module
from apps.order_service.sagas import Sagas


class HangingScheduler:
    def __init__(self, answer_after: float) -> None:
        self.answer_after, self.calls = answer_after, 0

    async def schedule_new_orchestration(self, name: str, **kwargs: Any) -> str:
        self.calls += 1
        await asyncio.sleep(self.answer_after)
        return str(kwargs["instance_id"])


def schedule(answer_after: float) -> tuple[bool, float]:
    sagas = Sagas.__new__(Sagas)  # only the scheduler is used by _schedule
    sagas.scheduler = HangingScheduler(answer_after)  # type: ignore[assignment]
    order = SimpleNamespace(order_id="o1", traceparent=None)
    began = time.monotonic()
    done = asyncio.run(sagas._schedule(order, {"resume": False}))  # type: ignore[arg-type]
    return done, time.monotonic() - began


def test_a_sidecar_that_does_not_answer_leaves_the_saga_to_the_reconciler(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sagas_module, "SCHEDULE_TIMEOUT_SECONDS", 0.05)
    done, took = schedule(answer_after=30)
    assert done is False and took < 1


def test_a_prompt_sidecar_schedules_the_saga(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sagas_module, "SCHEDULE_TIMEOUT_SECONDS", 1.0)
    done, _ = schedule(answer_after=0)
    assert done is True


class HangingWorkflows:
    async def get_orchestration_state(self, instance_id: str, **kwargs: Any) -> None:
        await asyncio.sleep(30)

    async def terminate_orchestration(self, instance_id: str, **kwargs: Any) -> None:
        await asyncio.sleep(30)


def test_a_workflow_call_that_hangs_is_given_up(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The reconciler's reads and terminations (a hung one held every other order back)."""
    monkeypatch.setattr(sagas_module, "WORKFLOW_CALL_SECONDS", 0.05)
    sagas = Sagas.__new__(Sagas)
    sagas.scheduler = HangingWorkflows()  # type: ignore[assignment]
    for call in (sagas.state_within, sagas.terminate_within):
        began = time.monotonic()
        with pytest.raises(TimeoutError):
            asyncio.run(call("o1"))  # type: ignore[operator]
        assert time.monotonic() - began < 1
