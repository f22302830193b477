"""/healthz: the process answers. /readyz: what it depends on answers too (database, sidecar)
and, for an app that consumes messages, its sidecar really consumes every topic it subscribes to.

Why the broker is asked: daprd stops an app's subscriptions while the app is unhealthy and starts
them again when it is healthy, and a subscription can be lost on the way (a stopped Kafka
subscription's clean-up runs after the stop returns and removes the topic by name, so it can
remove the new subscription of the same topic). The sidecar's metadata API still lists such a
subscription (it lists what the app asked for, not what is consumed) and its metrics have nothing
on it, so the consumer group's assignment on the broker is the evidence: a topic no member of
the app's group is assigned is a topic nobody consumes for it. The broker keeps a stuck or
departed consumer's assignment for a while, so readiness also asks whether daprd counts the app
healthy: if not, daprd has stopped the subscriptions by design.

Healing uses the same lever daprd uses: `SubscriptionWatch` makes /healthz fail long enough for
daprd to count the app unhealthy (it then stops every subscription of the app), then answer
again (daprd then starts them all afresh). It does so only for a loss daprd cannot see: topics
the sidecar has loaded, while it counts the app healthy, that the broker shows unconsumed for
`grace` seconds. A topic the sidecar never loaded is only reported: daprd asks
the app for its subscriptions once per process, so only a sidecar restart loads them again.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from apps.common.dapr import DaprClient
from apps.common.settings import get_settings

log = logging.getLogger(__name__)


class NotReady(Exception):
    """A readiness check that failed for a reason worth showing on /readyz."""


def health_router(
    checks: dict[str, Callable[[], bool]], alive: Callable[[], bool] | None = None
) -> APIRouter:
    router = APIRouter()

    @router.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        if alive is None or alive():
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "down"}, status_code=503)

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


class SubscriptionWatch:
    """Readiness (`ready`) and self-healing (`alive`, for /healthz) of an app's subscriptions."""

    def __init__(
        self,
        dapr: DaprClient,
        topics: Iterable[str],
        *,
        grace: float = 60.0,
        # More than daprd needs to count the app unhealthy: 6 failed probes 5 s apart (dapr.yaml).
        unhealthy_for: float = 45.0,
        every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.dapr, self.topics = dapr, sorted(set(topics))
        self.grace, self.unhealthy_for, self.every, self.clock = grace, unhealthy_for, every, clock
        self.app_id = get_settings().app_id
        self.lost_since: float | None = None
        self.failing_until = self.quiet_until = self.checked_at = self.observed_at = float("-inf")
        self._checking = threading.Lock()

    def ready(self) -> bool:
        if not self.counted_healthy():
            raise NotReady("the sidecar counts the app unhealthy and has stopped its subscriptions")
        not_loaded, unconsumed = self.scan()
        if not_loaded:
            raise NotReady(f"sidecar has no subscription to {', '.join(not_loaded)}")
        if unconsumed:
            raise NotReady(f"nothing consumes {', '.join(unconsumed)} for {self.app_id}")
        return True

    def counted_healthy(self) -> bool:
        """The sidecar's verdict from its probes: it refuses calls to an app it counts unhealthy
        at once, saying so (and it stops the app's subscriptions meanwhile)."""
        url = f"/v1.0/invoke/{self.app_id}/method/healthz"
        return "app is not in a healthy state" not in self.dapr.http.get(url, timeout=2).text

    def scan(self) -> tuple[list[str], list[str]]:
        """(topics the sidecar has not loaded, loaded topics no group member is assigned)."""
        pubsub = get_settings().pubsub_name
        loaded = {
            s.get("topic")
            for s in self.dapr.metadata().get("subscriptions", [])
            if s.get("pubsubname") == pubsub
        }
        assigned = group_topics(self.app_id)
        return (
            [t for t in self.topics if t not in loaded],
            [t for t in self.topics if t in loaded and t not in assigned],
        )

    def alive(self) -> bool:
        """For /healthz, which the sidecar probes every few seconds: those probes also pace the
        check, run in a thread so that a slow broker never makes a probe slow."""
        now = self.clock()
        if now - self.checked_at >= self.every and self._checking.acquire(blocking=False):
            self.checked_at = now
            threading.Thread(target=self._check, daemon=True).start()
        return now >= self.failing_until

    def _check(self) -> None:
        try:
            not_loaded, unconsumed = self.scan()
            known = not not_loaded and self.counted_healthy()
            self.observe(unconsumed if known else None, self.clock())
        except Exception:  # broker or sidecar not answering: no evidence either way
            self.observe(None, self.clock())
        finally:
            self._checking.release()

    def observe(self, unconsumed: list[str] | None, now: float) -> None:
        """One check's result: loaded topics found unconsumed ([] if none), or None if unknown."""
        gap, self.observed_at = now - self.observed_at, now
        if now < self.failing_until:
            return
        if not unconsumed:
            self.lost_since = None
            return
        # Only an unbroken run of checks counts: after a gap (the app was paused, and daprd
        # will subscribe again by itself once it probes the app) the loss is timed afresh.
        if self.lost_since is None or gap > 3 * self.every:
            self.lost_since = now
        elif now - self.lost_since >= self.grace and now >= self.quiet_until:
            log.error(
                "the sidecar has not consumed %s for %.0fs: failing /healthz for %.0fs so that it"
                " subscribes again",
                ", ".join(unconsumed),
                now - self.lost_since,
                self.unhealthy_for,
            )
            self.lost_since = None
            self.failing_until = now + self.unhealthy_for
            self.quiet_until = self.failing_until + self.grace


# ---- the consumer group's assignment, with two small Kafka protocol calls ----------------------


def group_topics(group: str) -> set[str]:
    """Topics with at least one partition assigned to a member of the consumer group."""
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
        for _ in range(4):  # group id, state, protocol type, protocol
            reply.string()
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
