"""The whole e2e on the single-node cluster (`make k8s-e2e`): orders flow while a pod of each
app is deleted in turn, and while order-service and then the gateway are restarted by
`kubectl rollout restart`; every order must end, the chaos suite's invariants must hold, and a
rolling restart must fail no client request. With two order-service pods, both run sagas."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import httpx

from tests.chaos.invariants import settle
from tests.chaos.load import Load, Plan, SentOrder, make_orders, set_up
from tests.k8s_e2e.conftest import APPS, Platform
from tests.k8s_e2e.kube import Kube, ready_containers, wait_for

ORDERS = 100
RATE = 2.0  # orders per second: 100 orders over 50 s


def failed_requests(sent: list[SentOrder]) -> list[str]:
    """Client requests (POSTs and cancels) that did not get their answer, and what they got."""
    failed = [f"order #{o.index}: {why}" for o in sent for why in o.retried_after]
    return failed + [f"order #{o.index}: never accepted" for o in sent if o.order_id is None]


def run_load(
    api: httpx.Client, during: Callable[[], dict], seed: int
) -> tuple[list[SentOrder], dict]:
    """ORDERS orders at RATE while `during` runs (it returns its timings); then waits for
    every order to end and for the invariants of the chaos suite to hold."""
    plan = Plan.fresh()
    set_up(api, plan, time.monotonic() + 120)
    sent = make_orders(plan, ORDERS, seed=seed)
    load = Load(api, sent, window=ORDERS / RATE, seed=seed)
    load.start()
    timings = during()
    load.wait()
    rest = settle(api, plan, sent, time.monotonic())
    print(f"\n{ORDERS} orders: {summary(rest.orders)}; stuck {rest.stuck}; "
          f"failed client requests {len(failed_requests(sent))}; {timings}")  # fmt: skip
    assert rest.stuck == 0, f"{rest.stuck} orders did not end"
    assert not rest.breaks, rest.breaks
    assert not [o.client_errors for o in sent if o.client_errors]
    return sent, timings


def summary(orders: dict[str, dict]) -> str:
    counts: dict[str, int] = {}
    for o in orders.values():
        counts[o["status"]] = counts.get(o["status"], 0) + 1
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))


def delete_and_wait(kube: Kube, app: str) -> float:
    began = time.monotonic()
    victim = kube.pods(app)[0]["metadata"]["name"]
    kube.run("delete", "pod", victim, "--wait=false")

    def whole() -> bool:
        pods = kube.pods(app)
        names = {p["metadata"]["name"] for p in pods}
        ready = all(ready_containers(p) == (2, 2) for p in pods)
        return victim not in names and bool(pods) and ready

    wait_for(f"{app} replaced after deleting {victim}", whole, timeout=240)
    return time.monotonic() - began


def test_orders_end_right_while_a_pod_of_each_app_is_deleted_in_turn(
    platform: Platform, api: httpx.Client
) -> None:
    def delete_each() -> dict:
        return {app: round(delete_and_wait(platform.kube, app), 1) for app in APPS}

    run_load(api, delete_each, seed=11)


def test_a_rolling_restart_of_order_service_then_the_gateway_fails_no_request(
    platform: Platform, api: httpx.Client
) -> None:
    def restart() -> dict:
        kube = platform.kube
        return {d: round(kube.rollout_restart(d), 1) for d in ("order-service", "gateway")}

    sent, _ = run_load(api, restart, seed=12)
    assert failed_requests(sent) == []


def steps_run_by(pod_ip: str) -> float:
    """Saga activities this order-service pod has run (its /metrics)."""
    text = httpx.get(f"http://{pod_ip}:8001/metrics", timeout=10).text
    found = re.findall(r"^order_saga_step_duration_seconds_count\{[^}]*\} (\S+)$", text, re.M)
    return sum(float(n) for n in found)


def test_both_order_service_pods_run_sagas(platform: Platform, api: httpx.Client) -> None:
    pods = platform.kube.pods("order-service")
    assert len(pods) == 2
    before = {p["status"]["podIP"]: steps_run_by(p["status"]["podIP"]) for p in pods}
    run_load(api, dict, seed=13)
    ran = {ip: steps_run_by(ip) - n for ip, n in before.items()}
    print(f"saga activities run per order-service pod: {ran}")
    assert all(n > 0 for n in ran.values()), ran
