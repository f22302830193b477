"""The zipkin image: the server starts on a read-only root (as the chart runs it), answers
/health, and takes a span and lists its service."""

from __future__ import annotations

import os
import time

import httpx

from tests.images.podman import image_ref, running, wait_for

IMAGE = image_ref("zipkin")


def healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).json().get("status") == "UP"
    except (httpx.HTTPError, ValueError):
        return False


def test_zipkin_answers_health_and_keeps_a_span() -> None:
    env = {"STORAGE_TYPE": "mem", "JAVA_OPTS": "-Xms64m -Xmx256m"}
    with running(IMAGE, env=env, ports=[9411], read_only=True, hostname="zipkin-0") as zipkin:
        wait_for("zipkin /health", lambda: healthy(zipkin.url(9411, "/health")), 120, zipkin)
        span = {
            "traceId": os.urandom(8).hex(),
            "id": os.urandom(8).hex(),
            "name": "image-check",
            "timestamp": int(time.time() * 1_000_000),
            "duration": 1000,
            "localEndpoint": {"serviceName": "image-check"},
        }
        sent = httpx.post(zipkin.url(9411, "/api/v2/spans"), json=[span], timeout=10)
        assert sent.status_code == 202, sent.text
        services = zipkin.url(9411, "/api/v2/services")
        wait_for(
            "the span's service",
            lambda: "image-check" in httpx.get(services, timeout=5).json(),
            30,
            zipkin.logs,
        )
        assert zipkin.exec("id", "-u").stdout.strip() == "1000"
