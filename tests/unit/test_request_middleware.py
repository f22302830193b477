"""The per-request middleware every app has, in create_app's order: metrics and the log line
outermost, then the app-token and access-policy check, then the body limit."""

from __future__ import annotations

import logging
from itertools import count

import pytest
from fastapi import FastAPI, Response
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from apps.common.access import install_access_control, load_policy
from apps.common.app import install_body_limit
from apps.common.health import health_router
from apps.common.metrics import install_metrics
from apps.common.problems import install_problem_handlers

TOKEN = "app-token-for-tests"
APP_IDS = count()


@pytest.fixture
def app_id() -> str:
    """A fresh app id per test: the counters live in the process-wide registry."""
    return f"middleware-test-{next(APP_IDS)}"


@pytest.fixture
def client(app_id: str) -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)
    install_body_limit(app, 16)
    install_access_control(app, app_id, TOKEN, load_policy("payment-service"))
    install_metrics(app, app_id)
    app.include_router(health_router({}))

    @app.post("/payments/{payment_id}")
    async def create(payment_id: str, body: dict) -> Response:
        return Response(status_code=201, headers={"Location": f"/payments/{payment_id}"})

    @app.get("/payments/{payment_id}/fail")
    async def fail(payment_id: str) -> None:
        raise RuntimeError("boom")

    return TestClient(app, raise_server_exceptions=False)


def requests(app_id: str, method: str, route: str, status: int) -> float:
    labels = {"app_id": app_id, "method": method, "route": route, "status": str(status)}
    return REGISTRY.get_sample_value("http_requests_total", labels) or 0.0


def logged(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [r.http for r in caplog.records if r.name == "apps.http"]  # type: ignore[attr-defined]


def test_an_answered_call_is_counted_by_route_template_and_logged_with_its_location(
    client, app_id, caplog
):
    caplog.set_level(logging.INFO, "apps.http")
    resp = client.post("/payments/p-1", json={}, headers={"dapr-api-token": TOKEN})
    assert resp.status_code == 201
    assert requests(app_id, "POST", "/payments/{payment_id}", 201) == 1
    count_labels = {"app_id": app_id, "method": "POST", "route": "/payments/{payment_id}"}
    assert REGISTRY.get_sample_value("http_request_duration_seconds_count", count_labels) == 1
    assert logged(caplog) == [
        {"method": "POST", "path": "/payments/p-1", "status": 201, "location": "/payments/p-1"}
    ]


def test_a_call_without_the_token_is_refused_before_its_body_and_counted_unmatched(
    client, app_id, caplog
):
    caplog.set_level(logging.INFO, "apps.http")
    resp = client.post("/payments/p-1", content=b"x" * 100, headers={"dapr-api-token": "no"})
    assert resp.status_code == 401  # not the 413 of its body: the token is checked first
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["title"] == "Unauthorized"
    assert requests(app_id, "POST", "unmatched", 401) == 1
    assert logged(caplog) == [{"method": "POST", "path": "/payments/p-1", "status": 401}]


def test_a_caller_the_policy_refuses_is_a_403_problem(client, app_id):
    headers = {"dapr-api-token": TOKEN, "dapr-caller-app-id": "gateway"}
    resp = client.post("/payments/p-1", json={}, headers=headers)
    assert resp.status_code == 403
    assert resp.json()["detail"] == "gateway may not call POST /payments/p-1"
    assert requests(app_id, "POST", "unmatched", 403) == 1


def test_an_oversized_body_with_the_token_is_a_413_seen_by_the_metrics(client, app_id):
    resp = client.post("/payments/p-1", content=b"x" * 100, headers={"dapr-api-token": TOKEN})
    assert resp.status_code == 413
    assert resp.headers["content-type"] == "application/problem+json"
    # Its Content-Length alone refuses it, before any route is matched.
    assert requests(app_id, "POST", "unmatched", 413) == 1


def test_a_handler_that_raises_is_counted_as_a_500(client, app_id, caplog):
    caplog.set_level(logging.INFO, "apps.http")
    resp = client.get("/payments/p-1/fail", headers={"dapr-api-token": TOKEN})
    assert resp.status_code == 500
    assert resp.headers["content-type"] == "application/problem+json"
    assert requests(app_id, "GET", "/payments/{payment_id}/fail", 500) == 1
    assert {"method": "GET", "path": "/payments/p-1/fail", "status": 500} in logged(caplog)


def test_probes_and_scrapes_need_no_token_and_write_no_log_line(client, app_id, caplog):
    caplog.set_level(logging.INFO, "apps.http")
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert requests(app_id, "GET", "/healthz", 200) == 1
    assert requests(app_id, "GET", "/metrics", 200) == 0  # not counted
    assert logged(caplog) == []
