"""Faults of a three-broker Kafka (KAFKA_BROKERS=3, deploy/stack/kafka.py). Each is held long
enough for Kafka to notice (past the broker session timeout, 9 s: the controller fences the
broker, moves its leaderships and drops it from the in-sync replicas), Kafka's own tool is
asked how many partitions are under-replicated while it lasts,
and once the broker is back the fault lasts until that tool reports none, as an operator waits
before touching the next broker. A rolling restart stops each broker in turn (SIGTERM: Kafka's
controlled shutdown), starts it again and waits so."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from deploy.stack.control import running_group, stop_one
from deploy.stack.kafka import cluster
from deploy.stack.kafka_admin import kafka_answers, under_replicated
from deploy.stack.paths import CACHE_DIR, pinned_versions

IN_SYNC_TIMEOUT_SECONDS = 180.0
BROKER_DOWN_SECONDS = 15.0  # past broker.session.timeout.ms (9 s)


class NotInSync(Exception):
    """Partitions stayed under-replicated past the deadline (the stack may be damaged)."""


@dataclass(frozen=True)
class InSync:
    seconds: float  # from the call until Kafka reported 0 under-replicated partitions
    checks: int  # how many times Kafka's tool was asked


def kafka_home() -> Path:
    return CACHE_DIR / f"kafka-{pinned_versions()['KAFKA_VERSION']}"


def is_broker(name: str) -> bool:
    return name == "kafka" or name.startswith("kafka-")


def lagging_now(count: int, skip: str) -> str:
    """How many partitions Kafka's tool calls under-replicated now, asking the other brokers."""
    try:
        return str(len(under_replicated(kafka_home(), count, skip=skip)))
    except RuntimeError as err:
        return f"unknown ({str(err)[:80]})"


def wait_in_sync(count: int, timeout: float = IN_SYNC_TIMEOUT_SECONDS) -> InSync:
    """Waits until every broker is live and `kafka-topics --describe
    --under-replicated-partitions` lists none."""
    began = time.monotonic()
    checks, last = 0, "no answer yet"
    while time.monotonic() - began < timeout:
        if kafka_answers(count):
            try:
                lagging = under_replicated(kafka_home(), count)
            except RuntimeError as err:
                last = str(err)
            else:
                checks += 1
                if not lagging:
                    return InSync(round(time.monotonic() - began, 1), checks)
                last = f"{len(lagging)} under-replicated, e.g. {lagging[0]}"
        time.sleep(1.0)
    raise NotInSync(f"partitions not in sync after {timeout:.0f}s: {last}")


def _synced(count: int) -> str:
    synced = wait_in_sync(count)
    return f"0 under-replicated {synced.seconds:g}s after it was back ({synced.checks} checks)"


def kill_broker(name: str, count: int, restart: Callable[[str], float]) -> str:
    stop_one(name)  # SIGKILL
    time.sleep(BROKER_DOWN_SECONDS)
    during = lagging_now(count, skip=name)
    took = restart(name)
    return (
        f"killed, {BROKER_DOWN_SECONDS:g}s down ({during} partitions under-replicated), "
        f"restarted in {took:.1f}s; {_synced(count)}"
    )


def pause_broker(name: str, count: int) -> str:
    group = running_group(name)
    os.killpg(group, signal.SIGSTOP)
    try:
        time.sleep(BROKER_DOWN_SECONDS)
        during = lagging_now(count, skip=name)
    finally:
        os.killpg(group, signal.SIGCONT)
    return (
        f"SIGSTOP for {BROKER_DOWN_SECONDS:g}s ({during} partitions under-replicated); "
        f"{_synced(count)}"
    )


def rolling_restart(count: int, restart: Callable[[str], float]) -> str:
    """Each broker in turn: controlled shutdown, started again, every partition back in sync."""
    steps = []
    for broker in cluster(count):
        began = time.monotonic()
        stop_one(broker.name, graceful=True)
        stopped = time.monotonic() - began
        during = lagging_now(count, skip=broker.name)
        started = restart(broker.name)
        steps.append(
            f"{broker.name}: stopped in {stopped:.1f}s ({during} under-replicated), "
            f"up in {started:.1f}s, {_synced(count)}"
        )
    return "rolling restart; " + "; ".join(steps)
