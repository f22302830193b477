"""What a client sees while one instance of a replicated app is killed or frozen: a constant
load through the gateway (orders placed and some cancelled, tests/chaos/load.py; stock and
balances read), every request that did not get its answer at once counted as a failed client
request, with what it got instead.

Faults on instance k of an app: `kill-pod` (app and sidecar, SIGKILL, started again after
KILL_DOWN_SECONDS), `kill-app` (the app alone), `pause-pod` and `pause-app` (SIGSTOP, held for
PAUSE_SECONDS, SIGCONT)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from deploy.stack.control import start_one, stop_one
from deploy.stack.records import records
from tests.chaos.load import Plan, SentOrder
from tests.replicas.instances import name, port
from tests.replicas.instances import wait_until as _wait_until

KILL_DOWN_SECONDS = 5.0
PAUSE_SECONDS = 20.0
FAULTS = ("kill-pod", "kill-app", "pause-pod", "pause-app")


def processes(app_id: str, k: int, fault: str) -> list[str]:
    app = name(app_id, k)
    return [app, f"{app}/daprd"] if fault.endswith("pod") else [app]


def apply_fault(app_id: str, k: int, fault: str) -> float:
    """Applies the fault, holds it, undoes it; returns the seconds until the instance is
    ready again."""
    began = time.monotonic()
    names = processes(app_id, k, fault)
    if fault.startswith("kill"):
        for n in names:
            stop_one(n)
        time.sleep(KILL_DOWN_SECONDS)
        for n in names:  # the app first: its sidecar is ready only once the app listens
            start_one(n)
    else:
        groups = [next(r["pid"] for r in records() if r["name"] == n) for n in names]
        for g in groups:
            os.killpg(g, signal.SIGSTOP)
        try:
            time.sleep(PAUSE_SECONDS)
        finally:
            for g in groups:
                os.killpg(g, signal.SIGCONT)
    _wait_until(
        lambda: _ready(app_id, k), timeout=120, what=f"{name(app_id, k)} ready after {fault}"
    )
    return time.monotonic() - began


def _ready(app_id: str, k: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port(app_id, k)}/readyz", timeout=2).is_success
    except httpx.HTTPError:
        return False


@dataclass
class Reader:
    """Reads stock and balances at a constant rate (each owned by inventory-service and
    payment-service instances) until stopped; counts what failed."""

    api: httpx.Client
    plan: Plan
    every: float = 0.25
    done: int = 0
    failed: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        paths = [f"/inventory/{p}" for p in self.plan.plenty] + [
            f"/accounts/{c}" for c in self.plan.rich
        ]
        i = 0
        while not self._stop.wait(self.every):
            path = paths[i % len(paths)]
            i += 1
            self.done += 1
            try:
                resp = self.api.get(path)
                if resp.status_code != 200:
                    self.failed.append(f"GET {path.split('/')[1]} {resp.status_code}")
            except httpx.HTTPError as exc:
                self.failed.append(f"GET {path.split('/')[1]} {type(exc).__name__}")


def failed_requests(sent: list[SentOrder], reader: Reader) -> tuple[int, int, Counter]:
    """(failed, total, failures by kind): every POST or cancel that was answered with an error
    or not at all (the load retried it), and every failed read."""
    kinds: Counter[str] = Counter()
    for s in sent:
        for what in [*s.retried_after, *s.client_errors]:
            kinds[_kind(what)] += 1
    kinds.update(_kind(f) for f in reader.failed)
    total = sum(s.attempts for s in sent) + reader.done
    return sum(kinds.values()), total, kinds


def _kind(what: str) -> str:
    """`POST 503: {...detail...}` -> `POST 503 <detail>`, short enough to count."""
    head, _, rest = what.partition(": ")
    detail = ""
    if '"detail"' in rest:
        detail = rest.split('"detail":', 1)[1].split('"')[1][:60]
    return f"{head} {detail}".strip()
