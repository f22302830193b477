"""Admission control (apps/order_service/admission.py): a bounded number of sagas in flight."""

from __future__ import annotations

import asyncio

import pytest

from apps.order_service.admission import AdmissionSettings, SagaAdmission
from apps.order_service.settings import OrderServiceSettings


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
    return SagaAdmission(
        counts,
        AdmissionSettings(
            max_in_flight=limit,
            retry_after_seconds=1,
            latency_target_seconds=None,
            refresh_seconds=0.2,
        ),
        clock,
    )


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


def settings_from(env: dict[str, str]) -> AdmissionSettings:
    return OrderServiceSettings.from_env(env).admission()


def test_settings_come_from_the_environment_and_refuse_nonsense():
    settings = settings_from({"MAX_SAGAS_IN_FLIGHT": "25", "ADMISSION_RETRY_AFTER_SECONDS": "2"})
    assert (settings.max_in_flight, settings.retry_after_seconds) == (25, 2)
    assert settings_from({}).max_in_flight == 200
    with pytest.raises(ValueError):
        settings_from({"MAX_SAGAS_IN_FLIGHT": "0"})


def test_with_a_latency_target_the_bound_adapts_to_what_ends():
    settings = AdmissionSettings(
        max_in_flight=50,
        retry_after_seconds=1,
        refresh_seconds=0.2,
        latency_target_seconds=0.7,
        min_in_flight=4,
    )
    counts, clock = Counts(in_flight=0), Clock()
    gate = SagaAdmission(counts, settings, clock)
    assert gate.limit == 4
    assert admitted(gate, 5) == [True, True, True, True, False]
    # 10 sagas end per second, 15 are offered: each takes about 0.5 s, under the target, and
    # the bound is what refuses orders, so it grows.
    in_flight = 4
    for _ in range(15):
        clock.now += 0.2
        counts.in_flight = max(0, in_flight - 2)  # two ended since the last count
        in_flight = counts.in_flight + sum(admitted(gate, 3))
    assert gate.limit > 4
    # Then none end: within a window the bound is back at the floor.
    counts.in_flight = in_flight
    for _ in range(15):
        clock.now += 0.2
        admitted(gate, 1)
    assert gate.limit == 4


def test_the_latency_target_comes_from_the_environment():
    settings = settings_from({"SAGA_LATENCY_TARGET_SECONDS": "0.7"})
    assert settings.latency_target_seconds == 0.7
    assert settings_from({}).latency_target_seconds is None
    with pytest.raises(ValueError):
        settings_from({"SAGA_LATENCY_TARGET_SECONDS": "-1"})
