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
        self.answer_after, self.calls, self.answered, self.in_flight = answer_after, 0, 0, 0
        self.most_in_flight = 0

    async def schedule_new_orchestration(self, name: str, **kwargs: Any) -> str:
        self.calls += 1
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.answer_after)
        finally:
            self.in_flight -= 1
        self.answered += 1
        return str(kwargs["instance_id"])


def with_scheduler(scheduler: object) -> Sagas:
    sagas = Sagas.__new__(Sagas)  # only the scheduler is used by _schedule
    sagas.scheduler = scheduler  # type: ignore[assignment]
    sagas.scheduling = {}
    return sagas


def schedule(answer_after: float) -> tuple[bool, float]:
    sagas = with_scheduler(HangingScheduler(answer_after))
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


def test_a_call_given_up_on_goes_on_and_is_never_sent_twice(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Cancelled or overlapping calls to recreate one instance left its workflow state
    "invalid" in Dapr 1.18.3: a later attempt for the same order waits for the call in
    flight instead of sending another, and takes its outcome."""
    monkeypatch.setattr(sagas_module, "RESCHEDULE_TIMEOUT_SECONDS", 0.05)
    scheduler = HangingScheduler(answer_after=0.3)
    sagas = with_scheduler(scheduler)
    order = SimpleNamespace(order_id="o1", traceparent=None)

    async def attempts() -> list[bool]:
        outcomes = []
        while True:
            outcomes.append(await sagas._schedule(order, {"resume": True}))  # type: ignore[arg-type]
            if outcomes[-1] or len(outcomes) > 50:
                return outcomes

    outcomes = asyncio.run(attempts())
    assert outcomes[0] is False and outcomes[-1] is True  # given up on first, then answered
    assert scheduler.calls == 1 and scheduler.answered == 1  # one call, never cancelled
    assert scheduler.most_in_flight == 1
    assert sagas.scheduling == {}  # answered: the next attempt is a new call


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
