"""One rolling upgrade under load: orders flow at a constant rate; order-service, instance after
instance, is restarted onto the new saga version (SAGA_LATEST_VERSION v1 -> v2), each in the
course of a pause (SIGSTOP) of payment-service, so that sagas are parked mid-flight across it;
then every other app is restarted one after another, the gateway last. Then the stack at
rest is checked: the chaos suite's invariants, every client request, every saga's version and
path from its history.

Sizes: subset (make test: one instance each, order-service and the gateway restarted, fewer
orders) and full (every app restarted)."""

from __future__ import annotations

import os
import signal
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import httpx

from deploy.stack.control import running_pid
from deploy.stack.paths import LOG_DIR
from deploy.stack.replicas import REPLICATED
from deploy.stack.restart import restart
from tests.chaos import invariants
from tests.chaos.load import Load, Plan, SentOrder, make_orders, set_up
from tests.upgrade.histories import NEW, Switch, check_versions
from tests.upgrade.report import Result

NEW_RELEASE = {"SAGA_LATEST_VERSION": NEW}
PARTICIPANT = "payment-service"  # paused while order-service restarts
# Each further instance adds restarts: orders flow this much longer, to cover them all.
EXTRA_SECONDS_PER_REPLICA = 50.0
ORDER = ["order-service", "inventory-service", "payment-service", "notification-service"]


@dataclass(frozen=True)
class Size:
    name: str
    rate: float  # orders per second, below what the stack sustains (chaos suite: 4/s)
    seconds: float  # how long orders flow
    lead: float  # orders flow this long before the pause
    # The participant is paused this long before order-service's restart begins, and stays
    # paused until the old instance has stopped (its sagas parked across it).
    pause: float
    restart_others: bool  # every other app too, not only order-service and the gateway


SIZES = {
    "subset": Size("subset", rate=3.0, seconds=30.0, lead=3.0, pause=2.0, restart_others=False),
    "full": Size("full", rate=4.0, seconds=75.0, lead=5.0, pause=6.0, restart_others=True),
}


def instances(app_id: str, replicas: int) -> list[str]:
    count = replicas if app_id in REPLICATED else 1
    return [app_id if k == 1 else f"{app_id}-{k}" for k in range(1, count + 1)]


def run(api: httpx.Client, profile: str, replicas: int, size: Size) -> Result:
    began = time.monotonic()
    result = Result(profile=profile, replicas=replicas, size=size.name)
    plan = Plan.fresh()
    set_up(api, plan, deadline=time.monotonic() + 60)
    seed = zlib.crc32(f"upgrade-{profile}-{replicas}".encode())
    seconds = size.seconds + EXTRA_SECONDS_PER_REPLICA * (replicas - 1)
    sent = make_orders(plan, round(size.rate * seconds), seed)
    load = Load(api, sent, seconds, seed=seed)
    load.start()
    try:
        switch = _roll_out(load, replicas, size, result.restarts)
        result.load_left_seconds = load.started + seconds - time.monotonic()
    finally:
        load.wait()  # bounded: every order gives up by itself
    rest = invariants.settle(api, plan, sent, time.monotonic())
    statuses = Counter(o["status"] for o in rest.orders.values())
    result.placed, result.accepted = len(sent), sum(s.order_id is not None for s in sent)
    result.confirmed, result.cancelled = statuses["CONFIRMED"], statuses["CANCELLED"]
    result.stuck, result.breaks = rest.stuck, rest.breaks
    result.failed_requests = failed_requests(sent)
    result.longest_order_seconds = longest_order(rest.orders)
    result.switch = [switch.began, switch.ended]
    result.versions = check_versions([s.order_id for s in sent if s.order_id], profile, switch)
    result.reconciler = reconciler_actions()
    result.seconds = time.monotonic() - began
    return result


def reconciler_actions() -> int:
    """Sagas order-service's reconciler terminated as stalled or ran again (its log lines,
    apps/order_service/reconciler.py), over every order-service instance of this stack."""
    lines = 0
    for log in LOG_DIR.glob("order-service*.log"):
        if "daprd" not in log.name:
            text = log.read_text(errors="replace")
            lines += text.count("saga stalled:") + text.count("saga resumed (workflow")
    return lines


def _roll_out(load: Load, replicas: int, size: Size, restarts: list[str]) -> Switch:
    """The deploy, while the load runs: each order-service instance onto the new version in the
    course of a pause of the participant (so that sagas, v1 ones too while another instance
    still runs the old release, are parked across it), then the others; returns when
    order-service's instances switched."""
    _until(load.started + size.lead)
    moments = [
        _restart_while_paused(name, instances(PARTICIPANT, replicas), size.pause, restarts)
        for name in instances("order-service", replicas)
    ]
    ended = time.time()
    others = [a for a in ORDER[1:] if size.restart_others]
    for name in [n for app in others for n in instances(app, replicas)] + ["gateway"]:
        restarts.append(restart(name, NEW_RELEASE).line())
    return Switch(moments[0], ended)


def _restart_while_paused(name: str, paused: list[str], seconds: float, out: list[str]) -> float:
    """Pauses `paused`, restarts `name` onto the new release `seconds` later and resumes them
    once the old instance has stopped; the wall-clock time the restart began. (Resumed at a
    fixed time instead, the participant came back while the old instance drained or stopped,
    the parked sagas finished on it, and no v1 saga was in flight across the deploy.)"""
    pause(paused)
    resumed = threading.Event()

    def resume_once() -> None:
        if not resumed.is_set():
            resumed.set()
            resume(paused)

    try:
        _until(time.monotonic() + seconds)  # sagas reach the participant and wait for it
        began = time.time()
        out.append(restart(name, NEW_RELEASE, stopped=resume_once).line())
    finally:
        resume_once()  # whether the restart went well or not
    return began


def pause(names: list[str]) -> None:
    for name in names:
        os.killpg(_pid(name), signal.SIGSTOP)


def resume(names: list[str]) -> None:
    for name in names:
        os.killpg(_pid(name), signal.SIGCONT)


def _pid(name: str) -> int:
    pid = running_pid(name)
    if pid is None:
        raise RuntimeError(f"{name} is not running")
    return pid


def _until(moment: float, clock: Callable[[], float] = time.monotonic) -> None:
    time.sleep(max(0.0, moment - clock()))


def failed_requests(sent: list[SentOrder]) -> list[str]:
    """Every client request that did not get its answer: each retried attempt (an error or a
    5xx), each 4xx, and each order no attempt of which was accepted."""
    failed = []
    for order in sent:
        failed += [f"{order.key}: {what}" for what in order.retried_after + order.client_errors]
        if order.order_id is None:
            failed.append(f"{order.key}: never accepted after {order.attempts} attempts")
    return failed


def longest_order(orders: dict[str, dict]) -> float:
    """Seconds from an order's creation to its last change (it ended), the longest."""
    spans = [
        _wall(o["updatedAt"]) - _wall(o["createdAt"])
        for o in orders.values()
        if o["status"] in invariants.TERMINAL
    ]
    return max(spans, default=0.0)


def _wall(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
