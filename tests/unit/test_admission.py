"""Admission control (apps/order_service/admission.py): a bounded number of sagas in flight."""

from __future__ import annotations

import asyncio

import pytest

from apps.order_service.admission import AdmissionSettings, SagaAdmission


class Counts:
    """The database's count of sagas in flight, and how often it was read."""

    def __init__(self, in_flight: int) -> None:
        self.in_flight, self.reads = in_flight, 0

    def __call__(self) -> int:
        self.reads += 1
        return self.in_flight


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def admission(counts: Counts, clock: Clock, limit: int) -> SagaAdmission:
    return SagaAdmission(counts, AdmissionSettings(max_in_flight=limit, refresh_seconds=0.2), clock)


def admitted(gate: SagaAdmission, tries: int) -> list[bool]:
    async def run() -> list[bool]:
        return [await gate.admits() for _ in range(tries)]

    return asyncio.run(run())


def test_orders_are_admitted_up_to_the_limit_between_two_counts():
    counts, clock = Counts(in_flight=7), Clock()
    gate = admission(counts, clock, limit=10)
    assert admitted(gate, 5) == [True, True, True, False, False]
    assert counts.reads == 1  # one read serves every order until it is `refresh_seconds` old


def test_a_new_count_admits_again_once_sagas_have_ended():
    counts, clock = Counts(in_flight=10), Clock()
    gate = admission(counts, clock, limit=10)
    assert admitted(gate, 2) == [False, False]
    counts.in_flight = 8
    assert admitted(gate, 1) == [False]  # the old count still holds
    clock.now += 0.2
    assert admitted(gate, 3) == [True, True, False]
    assert counts.reads == 2


def test_settings_come_from_the_environment_and_refuse_nonsense():
    settings = AdmissionSettings.from_env(
        {"MAX_SAGAS_IN_FLIGHT": "25", "ADMISSION_RETRY_AFTER_SECONDS": "2"}
    )
    assert (settings.max_in_flight, settings.retry_after_seconds) == (25, 2)
    assert AdmissionSettings.from_env({}).max_in_flight == 200
    with pytest.raises(ValueError):
        AdmissionSettings.from_env({"MAX_SAGAS_IN_FLIGHT": "0"})
