"""Per-instance evidence: each instance's own /metrics (prometheus text on its app port), the
Kafka consumer group's members and their partitions, killing and restarting one instance."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from confluent_kafka import ConsumerGroupState
from prometheus_client.parser import text_string_to_metric_families

from apps.common.health import kafka_admin
from deploy.stack.control import start_one, stop_one
from deploy.stack.process import http_ok
from deploy.stack.replicas import PORT_STEP

FIRST_PORT = {"order-service": 8001, "inventory-service": 8002, "payment-service": 8003}


def port(app_id: str, k: int) -> int:
    return FIRST_PORT[app_id] + PORT_STEP * (k - 1)


def name(app_id: str, k: int) -> str:
    return app_id if k == 1 else f"{app_id}-{k}"


def metric(app_id: str, k: int, sample: str, **labels: str) -> float:
    """The sum of the samples called `sample` whose labels include `labels`, on instance k."""
    text = httpx.get(f"http://127.0.0.1:{port(app_id, k)}/metrics", timeout=5).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == sample and all(s.labels.get(k_) == v for k_, v in labels.items())
    )


@dataclass(frozen=True)
class Probe:
    """One counter that says an instance did a piece of work."""

    app_id: str
    sample: str
    labels: tuple[tuple[str, str], ...] = ()

    def read(self, k: int) -> float:
        return metric(self.app_id, k, self.sample, **dict(self.labels))

    def read_all(self, replicas: int) -> list[float]:
        return [self.read(k) for k in range(1, replicas + 1)]


CHARGES = Probe("payment-service", "http_requests_total", (("route", "/payments/charge"),))
SAGAS = Probe("order-service", "order_saga_started_total")
RESERVATIONS = Probe(
    "inventory-service",
    "messages_total",
    (("topic", "reserve-stock"), ("outcome", "consumed")),
)


def group_assignment(group: str, timeout: float = 60.0) -> list[dict[str, list[int]]]:
    """Per member of a stable consumer group: topic -> partitions assigned to it."""
    admin = kafka_admin()
    deadline = time.monotonic() + timeout
    while True:
        described = admin.describe_consumer_groups([group], request_timeout=5)[group].result()
        if described.state == ConsumerGroupState.STABLE or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert described.state == ConsumerGroupState.STABLE, f"{group}: {described.state}"
    members = []
    for member in described.members:
        topics: dict[str, list[int]] = {}
        for tp in member.assignment.topic_partitions if member.assignment else []:
            topics.setdefault(tp.topic, []).append(tp.partition)
        members.append({t: sorted(p) for t, p in topics.items()})
    return members


def kill(app_id: str, k: int) -> None:
    """SIGKILL to instance k's app and its sidecar (each its own process group, by PID)."""
    stop_one(name(app_id, k))
    stop_one(f"{name(app_id, k)}/daprd")


def restart(app_id: str, k: int, timeout: float = 120.0) -> float:
    """Starts instance k's app and sidecar as `up` does; waits until its /readyz answers (its
    database, sidecar, workflow worker and subscriptions). Returns the seconds it took."""
    began = time.monotonic()
    start_one(name(app_id, k))
    start_one(f"{name(app_id, k)}/daprd")
    deadline = began + timeout
    while not http_ok(f"http://127.0.0.1:{port(app_id, k)}/readyz"):
        assert time.monotonic() < deadline, f"{name(app_id, k)} not ready after {timeout:.0f}s"
        time.sleep(0.5)
    return time.monotonic() - began


def wait_until(
    condition: Callable[[], bool], timeout: float, what: str, every: float = 0.5
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout:.0f}s: {what}"
        time.sleep(every)
