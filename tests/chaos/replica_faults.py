"""Faults of a stack with replicas (REPLICAS>=2, PROFILE=postgres): each one leaves a healthy
instance of every app, so clients should see none of them.

- `kill-pod:<app>-<k>`: the instance's app and sidecar killed together (SIGKILL), down
  KILL_DOWN_SECONDS, started again (app, then sidecar), as a deleted pod comes back.
- `pause-pod:<app>-<k>`: app and sidecar frozen (SIGSTOP) longer than the saga's timeouts.
- `rebalance:<app>-<k>`: the instance killed, then placement and the scheduler killed while the
  actors and jobs move to the survivor; all started again, the instance last.
- `rolling:<app>`: every instance of the app restarted one at a time, each ready before the
  next, by the rolling upgrades' own restart (deploy/stack/restart.py: drain, SIGTERM to
  sidecar and app, both started again).
"""

from __future__ import annotations

import os
import signal
import time

from deploy.stack.control import start_one, stop_one
from deploy.stack.records import records
from deploy.stack.replicas import REPLICATED
from deploy.stack.restart import restart

KILL_DOWN_SECONDS = 5.0
REPLICA_KINDS = ("kill-pod", "pause-pod", "rebalance", "rolling")


def pod(instance: str) -> list[str]:
    return [instance, f"{instance}/daprd"]


def instance_name(app_id: str, k: int) -> str:
    return app_id if k == 1 else f"{app_id}-{k}"


def replica_catalogue(replicas: int) -> list[tuple[str, str]]:
    """(kind, target) of every replica fault, the last instance of each app the victim."""
    last = [instance_name(a, replicas) for a in REPLICATED]
    return [
        *(("kill-pod", i) for i in last),
        *(("pause", i) for i in last),  # the app alone (tests/chaos/faults.py's pause)
        ("pause-pod", instance_name("order-service", replicas)),
        ("rebalance", instance_name("order-service", replicas)),
        *(("rolling", a) for a in REPLICATED),
    ]


def replica_subset(replicas: int) -> list[tuple[str, str]]:
    """Each new kind once, on order-service (the app whose instances share the sagas)."""
    victim = instance_name("order-service", replicas)
    return [("kill-pod", victim), ("pause-pod", victim), ("rebalance", victim)] + [
        ("rolling", "order-service")
    ]


def inject_replica_fault(kind: str, target: str, pause_seconds: float, replicas: int) -> str:
    """Applies the fault, holds it, undoes it (every process ready again); returns a note."""
    if kind == "kill-pod":
        return _kill_pod(target)
    if kind == "pause-pod":
        return _pause_pod(target, pause_seconds)
    if kind == "rebalance":
        return _rebalance(target)
    if kind == "rolling":
        return _rolling(target, replicas)
    raise ValueError(f"not a replica fault: {kind}")


def _start_pod(instance: str) -> None:
    for name in pod(instance):  # the app first: its sidecar is ready once the app listens
        start_one(name)


def _kill_pod(instance: str) -> str:
    for name in pod(instance):
        stop_one(name)
    time.sleep(KILL_DOWN_SECONDS)
    began = time.monotonic()
    _start_pod(instance)
    took = time.monotonic() - began
    return f"app and sidecar killed, {KILL_DOWN_SECONDS:g}s down, up in {took:.1f}s"


def _pause_pod(instance: str, seconds: float) -> str:
    groups = [_pid(name) for name in pod(instance)]
    for group in groups:
        os.killpg(group, signal.SIGSTOP)
    try:
        time.sleep(seconds)
    finally:
        for group in groups:
            os.killpg(group, signal.SIGCONT)
    return f"app and sidecar SIGSTOP for {seconds:g}s"


def _rebalance(instance: str) -> str:
    for name in [*pod(instance), "placement", "scheduler"]:
        stop_one(name)
    time.sleep(KILL_DOWN_SECONDS)
    began = time.monotonic()
    start_one("placement")
    start_one("scheduler")
    _start_pod(instance)
    return (
        f"{instance} killed, then placement and scheduler; {KILL_DOWN_SECONDS:g}s down, all up "
        f"in {time.monotonic() - began:.1f}s"
    )


def _rolling(app_id: str, replicas: int) -> str:
    took = [restart(instance_name(app_id, k)) for k in range(1, replicas + 1)]
    return f"{replicas} instances restarted one at a time (drain, stop, start): " + ", ".join(
        f"{r.seconds:.0f}s (drain {r.drain_seconds:.0f}s)" for r in took
    )


def _pid(name: str) -> int:
    return next(r["pid"] for r in records() if r["name"] == name)
