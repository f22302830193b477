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

import os
import socket
import struct
from collections.abc import Callable, Iterable

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

    def __call__(self) -> bool:
        pubsub = get_settings().pubsub_name
        loaded = {
            s.get("topic")
            for s in self.dapr.metadata().get("subscriptions", [])
            if s.get("pubsubname") == pubsub
        }
        if not_loaded := [t for t in self.topics if t not in loaded]:
            raise NotReady(f"sidecar has no subscription to {', '.join(not_loaded)}")
        assigned = group_topics(self.app_id)
        if unconsumed := [t for t in self.topics if t not in assigned]:
            raise NotReady(f"nothing consumes {', '.join(unconsumed)} for {self.app_id}")
        return True


# ---- the consumer group's assignment, with two small Kafka protocol calls ----------------------


def group_topics(group: str) -> set[str]:
    """Topics with at least one partition assigned to a member of the consumer group, once the
    group is stable (NotReady while it rebalances)."""
    brokers = os.environ.get("KAFKA_BROKERS", "127.0.0.1:9092").split(",")
    host, _, port = brokers[0].rpartition(":")
    coordinator = _find_coordinator((host, int(port)), group)
    body = struct.pack(">i", 1) + _string(group)
    reply = _Reader(_kafka_call(coordinator, 15, 1, body))  # DescribeGroups v1
    reply.int32()  # throttle time
    topics: set[str] = set()
    for _ in range(reply.int32()):
        if code := reply.int16():
            raise NotReady(f"Kafka DescribeGroups error {code}")
        reply.string()  # group id
        if (state := reply.string()) != "Stable":  # a rebalance moves assignments
            raise NotReady(f"consumer group {group} is {state}")
        reply.string()  # protocol type
        reply.string()  # protocol
        for _ in range(reply.int32()):
            for _ in range(3):  # member id, client id, client host
                reply.string()
            reply.bytes()  # member metadata
            topics |= _assigned_topics(reply.bytes())
    return topics


def _find_coordinator(broker: tuple[str, int], group: str) -> tuple[str, int]:
    reply = _Reader(_kafka_call(broker, 10, 1, _string(group) + b"\0"))  # FindCoordinator v1
    reply.int32()  # throttle time
    code = reply.int16()
    reply.string()  # error message
    if code:
        raise NotReady(f"Kafka FindCoordinator error {code}")
    reply.int32()  # node id
    return reply.string() or "", reply.int32()


def _assigned_topics(assignment: bytes | None) -> set[str]:
    """Topics with partitions in a consumer protocol assignment (version, [topic, [partition]])."""
    if not assignment:
        return set()
    data = _Reader(assignment)
    data.int16()
    topics = set()
    for _ in range(data.int32()):
        topic, partitions = data.string(), data.int32()
        data.pos += 4 * partitions
        if partitions > 0 and topic:
            topics.add(topic)
    return topics


def _kafka_call(broker: tuple[str, int], api_key: int, version: int, body: bytes) -> bytes:
    """One request on a fresh connection; returns the response body after the correlation id."""
    client_id = b"readiness"
    request = struct.pack(">hhih", api_key, version, 1, len(client_id)) + client_id + body
    with socket.create_connection(broker, timeout=2) as sock:
        sock.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", sock.recv(4, socket.MSG_WAITALL))
        response = sock.recv(size, socket.MSG_WAITALL)
    if len(response) != size:
        raise ConnectionError("short Kafka response")
    return response[4:]


def _string(value: str) -> bytes:
    raw = value.encode()
    return struct.pack(">h", len(raw)) + raw


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def _take(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def int16(self) -> int:
        return self._take(">h")

    def int32(self) -> int:
        return self._take(">i")

    def string(self) -> str | None:
        size = self.int16()
        if size < 0:
            return None
        self.pos += size
        return self.data[self.pos - size : self.pos].decode()

    def bytes(self) -> bytes | None:
        size = self.int32()
        if size < 0:
            return None
        self.pos += size
        return self.data[self.pos - size : self.pos]
