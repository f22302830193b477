"""An order-service instance killed mid-saga (app and sidecar, SIGKILL) and rejoining while
orders flow: placement moves workflow actors away from it and back onto it. Every saga must
still be driven to its end by its own workflow: no workflow reports an end while its saga has
not ended, none stays PENDING (watched live, tests/replicas/workflow_watch.py), none is resumed
by the reconciler (its counters), no history holds a run the client did not cause, and the
invariants hold. Some confirmed orders are cancelled by their client while this happens: the
one path on which a saga runs a second time (to undo the order).

REJOIN_ROUNDS (default 1) repeats the kill and rejoin on the same stack."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.chaos.invariants import settle
from tests.chaos.load import CONFIRM, Load, Plan, SentOrder, make_orders, set_up
from tests.replay.store import HistoryNotFound, read_history
from tests.replicas.instances import kill, metric, restart, wait_until
from tests.replicas.test_replicas import Run, assert_at_rest
from tests.replicas.workflow_watch import WorkflowWatch

ORDERS, WINDOW = 40, 20.0
CANCEL_AFTER_CONFIRM_EVERY = 4  # one confirm-intent order in this many: cancelled once confirmed
RECONCILER_ACTIONS = ("started", "resumed", "terminated_stalled")


def reconciled(instances: range) -> dict[str, float]:
    """order_saga_reconciled_total per action, summed over these order-service instances."""
    return {
        action: sum(
            metric("order-service", k, "order_saga_reconciled_total", action=action)
            for k in instances
        )
        for action in RECONCILER_ACTIONS
    }


def runs_in_history(order_id: str) -> int:
    """How many runs the order's workflow history holds that were not its first (resumes)."""
    try:
        events = read_history(order_id, "postgres")
    except HistoryNotFound:
        return -1
    return sum(
        e.HasField("executionStarted") and '"resume": true' in e.executionStarted.input.value
        for e in events
    )


def cancel_once_confirmed(api: httpx.Client, order: SentOrder, give_up: float) -> None:
    """Waits for the order to be accepted and CONFIRMED, then cancels it (retried as a client
    would); marks the cancel accepted, so the invariants expect it CANCELLED."""
    while time.monotonic() < give_up and not order.cancel_accepted:
        try:
            if order.order_id is None:
                pass
            elif api.get(f"/orders/{order.order_id}").json().get("status") == "CONFIRMED":
                resp = api.post(f"/orders/{order.order_id}/cancel")
                order.cancel_accepted = resp.status_code == 202
        except (httpx.HTTPError, ValueError):
            pass  # the stack is recovering: try again
        time.sleep(0.5)


def kill_and_rejoin(sent: list, k: int, killed_for: list[float]) -> None:
    wait_until(
        lambda: sum(1 for s in sent if s.order_id) >= ORDERS // 4,
        timeout=60,
        what="a quarter of the orders accepted",
    )
    kill("order-service", k)
    down_at = time.monotonic()
    wait_until(  # down while a few more sagas start on the survivor
        lambda: sum(1 for s in sent if s.order_id) >= ORDERS // 2,
        timeout=60,
        what="half of the orders accepted",
    )
    restart("order-service", k)
    killed_for.append(time.monotonic() - down_at)


def one_round(api: httpx.Client, replicas: int, seed: int) -> tuple[Run, WorkflowWatch, dict]:
    plan = Plan.fresh()
    set_up(api, plan, time.monotonic() + 60)
    sent = make_orders(plan, ORDERS, seed)
    # The killed instance's counters start again at 0 with its new process: before, the
    # survivors' only; after, every instance's.
    before = reconciled(range(1, replicas))
    watch = WorkflowWatch(lambda: [s.order_id for s in sent if s.order_id])
    load = Load(api, sent, WINDOW, seed=seed)
    killed_for: list[float] = []
    picked = [s for s in sent if s.intent == CONFIRM][::CANCEL_AFTER_CONFIRM_EVERY]
    give_up = time.monotonic() + WINDOW + 60
    load.start()
    watch.start()
    with ThreadPoolExecutor(len(picked) or 1) as cancels:
        for order in picked:
            cancels.submit(cancel_once_confirmed, api, order, give_up)
        try:
            kill_and_rejoin(sent, replicas, killed_for)
        finally:
            load.wait()
    rest = settle(api, plan, sent, time.monotonic())
    watch.stop()
    after = reconciled(range(1, replicas + 1))
    acted = {a: after[a] - before[a] for a in RECONCILER_ACTIONS}
    acted["down_seconds"] = killed_for[0] if killed_for else -1
    return Run(plan, sent, rest), watch, acted


def picked_cancels(run: Run) -> list[str]:
    return [s.order_id for s in run.sent if s.intent == CONFIRM and s.cancel_accepted]


def test_an_order_instance_killed_mid_saga_rejoins_without_anomalies(api, replicas, report):  # type: ignore[no-untyped-def]
    rounds = int(os.environ.get("REJOIN_ROUNDS", "1"))
    for r in range(rounds):
        run, watch, acted = one_round(api, replicas, seed=40 + r)
        # A client's cancel of a confirmed order runs its saga again (Sagas.resume): no other.
        cancelled = {s.order_id for s in run.sent if s.cancel_accepted}
        resumed_runs = {
            o: n for o in run.rest.orders if o not in cancelled and (n := runs_in_history(o))
        }
        pending = [o for o, seen in watch.statuses.items() if seen == {"PENDING"}]
        seen = [(a.order_id, a.workflow_status, a.order_status) for a in watch.early.values()]
        report.append(
            f"rejoin round {r + 1}: {len(run.rest.orders)} orders, stuck {run.rest.stuck}, "
            f"anomalies {seen}, {len(picked_cancels(run))} cancelled once confirmed, "
            f"reconciler {acted}, histories not one run {resumed_runs}, only PENDING {pending}, "
            f"watch errors {watch.errors}"
        )
        assert_at_rest(run)
        assert not watch.early, f"workflows ended or PENDING before their sagas: {watch.early}"
        assert acted["resumed"] == 0 and acted["terminated_stalled"] == 0, acted
        assert not resumed_runs, f"orders whose workflow ran more than once: {resumed_runs}"
