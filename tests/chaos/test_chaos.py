"""Every order ends right under any fault: for each fault of the catalogue (or the subset),
orders flow while it happens, and at rest every invariant of tests/chaos/invariants.py holds."""

from __future__ import annotations

import os

import pytest

from deploy.stack.kafka import brokers_from_env
from deploy.stack.plan import profile_from_env
from deploy.stack.replicas import replicas_from_env
from tests.chaos.conftest import chaos_size, orders_per_fault
from tests.chaos.faults import Fault, catalogue, subset
from tests.chaos.report import FaultResult
from tests.chaos.scenario import run_fault


def selected_faults() -> list[Fault]:
    profile, brokers = profile_from_env(), brokers_from_env()
    replicas = replicas_from_env(profile)
    full = chaos_size() == "full"
    faults = catalogue(profile, brokers, replicas) if full else subset(profile, brokers, replicas)
    wanted = [w for w in os.environ.get("CHAOS_FAULTS", "").split(",") if w]
    if wanted:
        every = catalogue(profile, brokers, replicas)
        faults = [f for f in every if f.name in wanted or f.kind in wanted]
    return faults


@pytest.mark.chaos
@pytest.mark.parametrize("fault", selected_faults(), ids=lambda f: f.name)
def test_every_order_ends_right(fault: Fault, chaos_stack, api, chaos_session) -> None:
    if fault.network and chaos_stack.toxiproxy is None:
        # Only a stack without chaos mode lacks Toxiproxy; one this suite started must have it.
        missing = chaos_stack.toxiproxy_missing
        if chaos_stack.started_here and "does not exist" not in missing:
            pytest.fail(f"fault {fault.name}: {missing}")
        chaos_session.results.append(FaultResult(chaos_stack.label, fault.name, skipped=missing))
        chaos_session.save()
        pytest.skip(missing)
    result = run_fault(fault, chaos_stack, api, orders_per_fault())
    chaos_session.results.append(result)
    chaos_session.save()
    assert not (result.breaks or result.problem), result.failure_message()
