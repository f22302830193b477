"""One fault run: fresh stock and funds, orders flowing, the fault in the middle of them, then
the stack at rest and every invariant checked."""

from __future__ import annotations

import time
import zlib
from collections import Counter

import httpx

from tests.chaos import invariants
from tests.chaos.faults import Fault, FaultError, inject
from tests.chaos.load import Load, Plan, make_orders, set_up
from tests.chaos.report import FaultResult
from tests.chaos.stack import ChaosStack, make_whole

MAX_RATE = 4.0  # orders/s: below what the stack sustains (about 5 sagas/s on 2 cores)
LEAD_SECONDS = 3.0  # orders flow this long before the fault, at least
TAIL_SECONDS = 3.0  # and after it


def run_fault(fault: Fault, stack: ChaosStack, api: httpx.Client, count: int) -> FaultResult:
    began = time.monotonic()
    result = FaultResult(profile=stack.label, fault=fault.name)
    damaged = make_whole(stack.profile, kafka_brokers=stack.kafka_brokers, replicas=stack.replicas)
    if damaged:
        result.problem = f"stack not whole before the fault: {'; '.join(damaged)}"
        return result

    plan = Plan.fresh()
    set_up(api, plan, deadline=time.monotonic() + 60)
    dead_before = invariants.dead_letters(api)
    seed = zlib.crc32(fault.name.encode())
    sent = make_orders(plan, count, seed)
    duration = fault.expected_seconds(stack.pause_seconds)
    window = max(count / MAX_RATE, LEAD_SECONDS + duration + TAIL_SECONDS)
    lead = max(LEAD_SECONDS, (window - duration) / 3)
    load = Load(api, sent, window, seed=seed)
    load.start()
    time.sleep(max(0.0, load.started + lead - time.monotonic()))

    try:
        done = inject(
            fault, stack.pause_seconds, stack.toxiproxy, stack.kafka_brokers, stack.replicas
        )
        fault_end, fault_end_wall = done.end, done.end_wall
        result.note = done.note
        if not done.effective:
            result.problem = "the fault did not take effect"
    except FaultError as err:
        fault_end, fault_end_wall = time.monotonic(), time.time()
        result.problem = f"fault not applied or not undone: {err}"
    finally:
        load.wait()  # bounded: every order gives up by itself
    # An order sent after a short fault ended (the load's window is sized on the fault's
    # expected length) gets its full time too.
    settle_from = max(fault_end, time.monotonic())

    try:
        rest = invariants.settle(api, plan, sent, settle_from)
    except (httpx.HTTPError, RuntimeError) as err:
        result.problem = (result.problem + "; " if result.problem else "") + (
            f"the public API did not answer at rest: {err}"
        )
        result.seconds = time.monotonic() - began
        return result
    ids = {plan.run_id, *rest.orders}
    result.dead_letters = invariants.new_dead_letters(
        dead_before, invariants.dead_letters(api), ids
    )

    statuses = Counter(o["status"] for o in rest.orders.values())
    result.orders = len(rest.orders)
    result.sent = len(sent)
    result.accepted = sum(s.order_id is not None for s in sent)
    result.confirmed, result.cancelled = statuses["CONFIRMED"], statuses["CANCELLED"]
    result.stuck = rest.stuck
    result.breaks = invariants.mark_dead_lettered(rest.breaks, result.dead_letters)
    if rest.last_end is not None:
        result.recovery_seconds = round(max(0.0, rest.last_end - fault_end_wall), 1)
    result.paths = _paths(sent, rest.orders)
    result.failed_requests, result.requests = failed_requests(sent)
    if result.failed_requests and fault.leaves_a_twin(stack.replicas):
        result.problem = (result.problem + "; " if result.problem else "") + (
            f"{result.failed_requests} client requests failed though a healthy twin stayed up: "
            + "; ".join(_failures(sent)[:5])
        )
    if load.late_starts:
        result.note += f"; {load.late_starts} orders sent >1 s late"
    result.seconds = round(time.monotonic() - began, 1)
    return result


def failed_requests(sent: list) -> tuple[int, int]:
    """(failed, all): the client's requests answered with an error or not at all (each one it
    then retried, with its Idempotency-Key), and every request it sent."""
    failed = sum(len(s.retried_after) + len(s.client_errors) for s in sent)
    cancels = sum(s.cancel_accepted for s in sent)
    return failed, sum(s.attempts for s in sent) + cancels + failed_cancels(sent)


def _failures(sent: list) -> list[str]:
    return [f for s in sent for f in [*s.retried_after, *s.client_errors]]


def failed_cancels(sent: list) -> int:
    return sum(1 for s in sent for r in s.retried_after if r.startswith("cancel"))


def _paths(sent: list, orders: dict[str, dict]) -> dict[str, dict[str, int]]:
    """How each kind of order ended (intent -> outcome -> count); 'unanswered' = no 202."""
    paths: dict[str, Counter[str]] = {}
    for s in sent:
        outcome = orders[s.order_id]["status"] if s.order_id in orders else "unanswered"
        paths.setdefault(s.intent, Counter())[outcome] += 1
    return {intent: dict(c) for intent, c in paths.items()}
