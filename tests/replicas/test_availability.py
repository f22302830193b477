"""An instance's death or freeze is invisible to clients while its twin is healthy: under a
constant load through the gateway, 0 failed client requests for a kill -9 or a pause of one
instance of a replicated app, app alone or with its sidecar (tests/replicas/availability.py),
and every order still ends right.

AVAILABILITY_FAULTS (comma-separated `app-id:fault`) picks cases."""

from __future__ import annotations

import os
import time

import httpx
import pytest

from tests.chaos.invariants import settle
from tests.chaos.load import Load, Plan, make_orders, set_up
from tests.replicas.availability import FAULTS, Reader, apply_fault, failed_requests
from tests.replicas.test_replicas import Run, assert_at_rest

ORDERS, WINDOW, LEAD = 60, 36.0, 6.0  # about 1.7 orders/s and 4 reads/s; the fault 6 s in
CASES = [
    *(("order-service", f) for f in FAULTS),
    *((app, f) for app in ("inventory-service", "payment-service") for f in FAULTS),
]


def chosen() -> list[tuple[str, str]]:
    wanted = [w for w in os.environ.get("AVAILABILITY_FAULTS", "").split(",") if w]
    return [c for c in CASES if not wanted or f"{c[0]}:{c[1]}" in wanted]


@pytest.mark.parametrize(("app_id", "fault"), chosen(), ids=lambda v: str(v))
def test_one_instance_lost_fails_no_client_request(  # type: ignore[no-untyped-def]
    api: httpx.Client, replicas: int, report: list[str], app_id: str, fault: str
) -> None:
    plan = Plan.fresh()
    set_up(api, plan, time.monotonic() + 60)
    sent = make_orders(plan, ORDERS, seed=7)
    load = Load(api, sent, WINDOW, seed=7)
    reader = Reader(api, plan)
    load.start()
    reader.start()
    try:
        time.sleep(LEAD)
        took = apply_fault(app_id, replicas, fault)
    finally:
        load.wait()
        reader.stop()
    rest = settle(api, plan, sent, time.monotonic())
    failed, total, kinds = failed_requests(sent, reader)
    report.append(
        f"{app_id}-{replicas} {fault}: {failed} of {total} client requests failed "
        f"{dict(kinds)}; back in {took:.1f}s; {len(rest.orders)} orders, {rest.stuck} stuck"
    )
    assert_at_rest(Run(plan, sent, rest))
    assert failed == 0, dict(kinds)
