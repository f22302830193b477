"""/healthz: the process answers. /readyz: what it depends on answers too (database, sidecar)
and, for an app that consumes messages, its sidecar really consumes every topic it subscribes to.

Why the broker is asked: the sidecar's metadata API lists the subscriptions the app asked for,
not what is consumed (it lists them while Kafka is down too), and its metrics have nothing on a
subscription that receives nothing. The consumer group's assignment on the broker is the
evidence: a topic no member of the app's group is assigned, once the group is stable, is a topic
nobody consumes for it.

daprd stops and restarts an app's subscriptions only when app health checks count the app
unhealthy, and a subscription could be lost on the way (a stopped Kafka subscription's clean-up
can remove the new subscription of the same topic). dapr.yaml therefore leaves app health checks
off: subscriptions live as long as the sidecar, and readiness reports if one is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from confluent_kafka import ConsumerGroupState, KafkaException
from confluent_kafka.admin import AdminClient
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from apps.common.dapr import DaprClient
from apps.common.settings import get_settings


class NotReady(Exception):
    """A readiness check that failed for a reason worth showing on /readyz."""


def health_router(checks: dict[str, Callable[[], bool]]) -> APIRouter:
    router = APIRouter()

    @router.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @router.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        results = {}
        for name, check in checks.items():
            try:
                results[name] = "ok" if check() else "down"
            except NotReady as exc:
                results[name] = f"down: {exc}"
            except Exception as exc:  # a readiness probe reports, it never raises
                results[name] = f"down: {type(exc).__name__}"
        ok = all(v == "ok" for v in results.values())
        return JSONResponse(
            {"status": "ok" if ok else "down", "checks": results}, status_code=200 if ok else 503
        )

    return router


class SubscriptionCheck:
    """Readiness of an app's subscriptions: loaded by the sidecar, and consumed on the broker."""

    def __init__(self, dapr: DaprClient, topics: Iterable[str]) -> None:
        self.dapr, self.topics = dapr, sorted(set(topics))
        self.app_id = get_settings().app_id
        self._admin: AdminClient | None = None  # connected on first use, kept while it answers

    def __call__(self) -> bool:
        pubsub = get_settings().pubsub_name
        loaded = {
            s.get("topic")
            for s in self.dapr.metadata().get("subscriptions", [])
            if s.get("pubsubname") == pubsub
        }
        if not_loaded := [t for t in self.topics if t not in loaded]:
            raise NotReady(f"sidecar has no subscription to {', '.join(not_loaded)}")
        admin = self._admin or kafka_admin()
        try:
            assigned = group_topics(admin, self.app_id)
        except NotReady:
            # Seen after a broker restart: a client kept from before timed out on every call
            # for minutes while a new one answered at once. Start afresh on the next check.
            self._admin = None
            raise
        self._admin = admin
        if unconsumed := [t for t in self.topics if t not in assigned]:
            raise NotReady(f"nothing consumes {', '.join(unconsumed)} for {self.app_id}")
        return True


def kafka_admin() -> AdminClient:
    """An admin client for the platform's broker (KAFKA_BROKERS); librdkafka's own logging off,
    failures come back as exceptions."""
    brokers = get_settings().kafka_brokers
    return AdminClient({"bootstrap.servers": brokers, "log_level": 0})


def group_topics(admin: AdminClient, group: str) -> set[str]:
    """Topics with at least one partition assigned to a member of the consumer group, once the
    group is stable (NotReady while it rebalances, or when it has no member)."""
    try:
        described = admin.describe_consumer_groups([group], request_timeout=2)[group].result()
    except KafkaException as exc:
        raise NotReady(f"Kafka: {exc.args[0].str() if exc.args else exc}") from None
    if described.state != ConsumerGroupState.STABLE:
        raise NotReady(f"consumer group {group} is {described.state.name.lower()}")
    return {
        tp.topic
        for member in described.members
        if member.assignment
        for tp in member.assignment.topic_partitions
    }
