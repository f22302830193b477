"""Which chaos faults leave a healthy twin (tests/chaos/faults.py `Fault.leaves_a_twin`): for
those the chaos suite fails on any failed client request (issue 22)."""

from __future__ import annotations

from tests.chaos.faults import Fault, catalogue


def twinned(profile: str, brokers: int, replicas: int) -> set[str]:
    return {f.name for f in catalogue(profile, brokers, replicas) if f.leaves_a_twin(replicas)}


def test_every_instance_fault_with_replicas_and_every_broker_fault_of_three_has_a_twin() -> None:
    assert twinned("postgres", 3, 2) == {
        "kill-pod:order-service-2",
        "kill-pod:inventory-service-2",
        "kill-pod:payment-service-2",
        "pause:order-service-2",
        "pause:inventory-service-2",
        "pause:payment-service-2",
        "pause-pod:order-service-2",
        "rolling:order-service",
        "rolling:inventory-service",
        "rolling:payment-service",
        "kill:kafka",
        "pause:kafka-2",
        "rolling:kafka",
    }


def test_single_instances_and_the_control_plane_have_none() -> None:
    assert twinned("postgres", 1, 1) == set()
    assert not Fault("rebalance", "order-service-2").leaves_a_twin(2)
    assert not Fault("pause", "kafka").leaves_a_twin(2)
    assert not Fault("latency", "postgres").leaves_a_twin(2)
