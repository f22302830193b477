"""Sagas.resume_once_ended: a cancel of a confirmed order resumes its saga once the previous
run has recorded its end (issue 22, the rejoin anomaly). The scheduling itself is faked: what
is tested is the waiting, not Dapr."""

from __future__ import annotations

import asyncio

from apps.order_service import sagas as sagas_module
from apps.order_service.sagas import Sagas


class ScheduleRefusedUntil(Sagas):
    """`resume` fails (ALREADY_EXISTS, the previous run still running) `refusals` times."""

    def __init__(self, refusals: int) -> None:
        self.refusals, self.calls = refusals, 0

    async def resume(self, order: object) -> bool:
        self.calls += 1
        return self.calls > self.refusals


def test_resumes_once_the_previous_run_has_ended(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sagas_module, "RESUME_RETRY_SECONDS", 0.01)
    sagas = ScheduleRefusedUntil(refusals=3)
    assert asyncio.run(sagas.resume_once_ended(object(), within=5)) is True
    assert sagas.calls == 4


def test_gives_up_to_the_reconciler_after_the_wait(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sagas_module, "RESUME_RETRY_SECONDS", 0.01)
    sagas = ScheduleRefusedUntil(refusals=10**6)
    assert asyncio.run(sagas.resume_once_ended(object(), within=0.05)) is False
    assert sagas.calls > 1
