"""Faults of a three-broker Kafka (KAFKA_BROKERS=3, deploy/stack/kafka.py): after a broker is
back, the fault lasts until Kafka's own tool reports no under-replicated partition, as an
operator waits before touching the next broker; a rolling restart stops each broker in turn
(SIGTERM: Kafka's controlled shutdown), starts it again and waits so."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from deploy.stack.kafka import cluster
from deploy.stack.kafka_admin import kafka_answers, under_replicated
from deploy.stack.paths import CACHE_DIR, pinned_versions
from deploy.stack.runner import stop_one

IN_SYNC_TIMEOUT_SECONDS = 180.0


class NotInSync(Exception):
    """Partitions stayed under-replicated past the deadline (the stack may be damaged)."""


@dataclass(frozen=True)
class InSync:
    seconds: float  # from the call until Kafka reported 0 under-replicated partitions
    most: int  # the most under-replicated partitions seen on the way
    checks: int  # how many times Kafka's tool was asked


def kafka_home() -> Path:
    return CACHE_DIR / f"kafka-{pinned_versions()['KAFKA_VERSION']}"


def is_broker(name: str) -> bool:
    return name == "kafka" or name.startswith("kafka-")


def wait_in_sync(count: int, timeout: float = IN_SYNC_TIMEOUT_SECONDS) -> InSync:
    """Waits until every broker is live and `kafka-topics --describe
    --under-replicated-partitions` lists none."""
    began = time.monotonic()
    most, checks, last = 0, 0, "no answer yet"
    while time.monotonic() - began < timeout:
        if kafka_answers(count):
            try:
                lagging = under_replicated(kafka_home(), count)
            except RuntimeError as err:
                last = str(err)
            else:
                checks += 1
                most = max(most, len(lagging))
                if not lagging:
                    return InSync(round(time.monotonic() - began, 1), most, checks)
                last = f"{len(lagging)} under-replicated, e.g. {lagging[0]}"
        time.sleep(1.0)
    raise NotInSync(f"partitions not in sync after {timeout:.0f}s: {last}")


def rolling_restart(count: int, restart: Callable[[str], float]) -> str:
    """Each broker in turn: controlled shutdown, started again, every partition back in sync."""
    steps = []
    for broker in cluster(count):
        began = time.monotonic()
        stop_one(broker.name, graceful=True)
        stopped = time.monotonic() - began
        started = restart(broker.name)
        synced = wait_in_sync(count)
        steps.append(
            f"{broker.name}: stopped in {stopped:.1f}s, up in {started:.1f}s, "
            f"0 under-replicated after {synced.seconds:g}s (most {synced.most})"
        )
    return "rolling restart; " + "; ".join(steps)


def after_broker_fault(count: int, note: str) -> str:
    """The note of a kill or pause of one broker, with the wait until all are in sync again."""
    synced = wait_in_sync(count)
    return f"{note}; 0 under-replicated after {synced.seconds:g}s (most {synced.most})"
