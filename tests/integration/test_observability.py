"""Observability on the real stack: one order is one Zipkin trace across all five apps, the
metrics move as sagas go, and an order's merged log shows every service, in that same trace."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import TypeVar

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from deploy.stack.control import start_one, stop_one
from deploy.stack.paths import ROOT
from deploy.stack.secrets import dapr_headers
from tests.integration.helpers import fund, notifications, place, stock, wait_for

APP_IDS = {
    "gateway",
    "order-service",
    "inventory-service",
    "payment-service",
    "notification-service",
}
ZIPKIN = "http://127.0.0.1:9411/api/v2"
GATEWAY, ORDERS, NOTIFICATIONS = 8080, 8001, 8004
T = TypeVar("T")


def poll(check: Callable[[], T | None], what: str, timeout: float = 30) -> T:
    """`check()` once it returns something truthy; spans, log lines and counters arrive late."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout:.0f}s: {what}")
        time.sleep(0.5)


def settled_order(
    api: httpx.Client, product: str, customer: str, funds: str, status: str, saga: str
) -> dict:
    stock(api, product, 5)
    fund(api, customer, funds)
    order_id = place(api, customer, [(product, 1, "5.00")]).json()["orderId"]
    order = wait_for(api, order_id, {status}, saga={saga})
    assert notifications(api, order_id), "the customer was never notified"
    return order


def confirmed_order(api: httpx.Client, unique: str) -> dict:
    return settled_order(api, f"p-{unique}", f"c-{unique}", "50.00", "CONFIRMED", "COMPLETED")


def declined_order(api: httpx.Client, unique: str) -> dict:
    return settled_order(api, f"p-{unique}-d", f"c-{unique}-d", "1.00", "CANCELLED", "COMPENSATED")


@pytest.fixture(scope="module")
def order(api: httpx.Client) -> dict:
    """One confirmed order, traced end to end (shared by the trace and log tests)."""
    return confirmed_order(api, f"obs-{time.time_ns() % 10**10}")


# --- tracing ---------------------------------------------------------------------------------


def zipkin_trace(trace_id: str) -> list[dict]:
    resp = httpx.get(f"{ZIPKIN}/trace/{trace_id}", timeout=10)
    return resp.json() if resp.status_code == 200 else []


# The last spans of an order's trace: the apps export theirs in batches, seconds after the
# sidecars export their own, so an app id can be in the trace before its app's spans are.
LAST_SPANS = {("notification-service", "consume order-confirmed")}


def complete_trace(trace_id: str) -> list[dict]:
    """The trace once every app id is in it, its last spans have arrived, and every span's
    parent has arrived too."""

    def check() -> list[dict] | None:
        spans = zipkin_trace(trace_id)
        ids = {s["id"] for s in spans}
        services = {s["localEndpoint"]["serviceName"] for s in spans}
        names = {(s["localEndpoint"]["serviceName"], s["name"]) for s in spans}
        orphans = [s for s in spans if s.get("parentId") and s["parentId"] not in ids]
        done = services >= APP_IDS and names >= LAST_SPANS and not orphans
        return spans if done else None

    def state() -> str:
        spans = zipkin_trace(trace_id)
        ids = {s["id"] for s in spans}
        services = {s["localEndpoint"]["serviceName"] for s in spans}
        orphans = [
            (s["localEndpoint"]["serviceName"], s["name"])
            for s in spans
            if s.get("parentId") and s["parentId"] not in ids
        ]
        names = {(s["localEndpoint"]["serviceName"], s["name"]) for s in spans}
        return (
            f"missing apps {APP_IDS - services}, missing spans {LAST_SPANS - names}, "
            f"spans without their parent {orphans}"
        )

    try:
        return poll(check, f"trace {trace_id} incomplete")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {state()}") from None


def traces_tagged(tag: str, value: str) -> set[str]:
    params = {"annotationQuery": f"{tag}={value}", "limit": "100", "lookback": "3600000"}
    resp = httpx.get(f"{ZIPKIN}/traces", params=params, timeout=10)
    assert resp.status_code == 200, resp.text
    return {span["traceId"] for trace in resp.json() for span in trace}


def test_one_order_is_one_trace_with_spans_from_all_five_apps(order):
    trace_id = order["traceId"]
    assert trace_id and len(trace_id) == 32
    spans = complete_trace(trace_id)
    assert {s["traceId"] for s in spans} == {trace_id}
    assert {s["localEndpoint"]["serviceName"] for s in spans} >= APP_IDS
    # It starts at the gateway's own span for POST /api/v1/orders, and nothing else is a root.
    (root,) = [s for s in spans if not s.get("parentId")]
    assert root["localEndpoint"]["serviceName"] == "gateway"
    assert root["name"] == "post /api/v1/orders"
    names = {(s["localEndpoint"]["serviceName"], s["name"]) for s in spans}
    # one server span per request in the app (FastAPI's), not one per tracing layer
    assert [s["name"] for s in spans].count("post /orders") == 1
    # sidecar spans (Dapr names them after the call) sit around the apps' own spans
    assert ("gateway", "calllocal/order-service/orders") in names
    assert ("payment-service", "calllocal/payment-service/payments/charge") in names
    assert ("notification-service", "consume order-confirmed") in names
    # the workflow engine's own spans, and each activity, are part of the order's trace
    assert ("order-service", "orchestration||order_saga") in names
    assert ("order-service", "reserve_stock") in names
    # No span about this order lives in another trace: not the app spans tagged with the
    # order id, nor the workflow engine's spans tagged with its instance id (the order id).
    order_id = order["orderId"]
    assert traces_tagged("order.id", order_id) == {trace_id}
    assert traces_tagged("durabletask.task.instance_id", order_id) == {trace_id}


# --- metrics ---------------------------------------------------------------------------------


Samples = dict[tuple[str, frozenset], float]


def scrape(port: int) -> Samples:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, lbls), v in samples.items() if n == name and wanted <= lbls)


def test_metrics_move_for_a_confirmed_and_a_cancelled_order(api, unique):
    before = {port: scrape(port) for port in (GATEWAY, ORDERS, NOTIFICATIONS)}
    confirmed_order(api, unique)
    declined_order(api, unique)

    def moved(port: int, name: str, by: float, **labels: str) -> Callable[[], bool]:
        def check() -> bool:
            delta = total(scrape(port), name, **labels) - total(before[port], name, **labels)
            assert delta <= by, f"{name} {labels} moved by {delta}, expected {by}"
            return delta == by

        return check

    expected = [
        (ORDERS, "order_saga_started_total", 2, {}),
        (ORDERS, "order_saga_completed_total", 1, {}),
        (ORDERS, "order_saga_compensated_total", 1, {}),
        (ORDERS, "order_saga_failed_total", 0, {}),
        (ORDERS, "order_saga_duration_seconds_count", 1, {"outcome": "completed"}),
        (ORDERS, "order_saga_duration_seconds_count", 1, {"outcome": "compensated"}),
        (ORDERS, "order_saga_step_duration_seconds_count", 2, {"step": "reserve_stock"}),
        (ORDERS, "order_saga_step_duration_seconds_count", 2, {"step": "take_payment"}),
        (ORDERS, "order_saga_step_duration_seconds_count", 1, {"step": "release_stock"}),
        (ORDERS, "messages_total", 2, {"topic": "stock-replies", "outcome": "consumed"}),
        (NOTIFICATIONS, "messages_total", 1, {"topic": "order-confirmed", "outcome": "consumed"}),
        (NOTIFICATIONS, "messages_total", 1, {"topic": "order-cancelled", "outcome": "consumed"}),
        (
            GATEWAY,
            "http_requests_total",
            2,
            {"method": "POST", "route": "/api/v1/orders", "status": "202"},
        ),
    ]
    for port, name, by, labels in expected:
        poll(moved(port, name, by, **labels), f"{name} {labels} did not move by {by}", 15)
    after = scrape(ORDERS)
    assert total(after, "order_saga_duration_seconds_sum") > total(
        before[ORDERS], "order_saga_duration_seconds_sum"
    )


@pytest.mark.profile_independent
def test_circuit_breaker_openings_are_counted(api, unique):
    """With payment-service down, order-service's sidecar trips its breaker (resiliency.yaml)
    and refuses calls; the saga gives up, and its refund gets through once payment is back."""
    product, customer = f"p-{unique}", f"c-{unique}"
    stock(api, product, 5)
    fund(api, customer, "20.00")
    before = total(scrape(ORDERS), "circuit_breaker_open_total", target="payment-service")
    stop_one("payment-service")
    try:
        order_id = place(api, customer, [(product, 1, "4.00")]).json()["orderId"]
        poll(
            lambda: (
                total(scrape(ORDERS), "circuit_breaker_open_total", target="payment-service")
                > before
            ),
            "no call refused by an open circuit breaker",
            60,
        )
    finally:
        start_one("payment-service")
    order = wait_for(api, order_id, {"CANCELLED"}, saga={"COMPENSATED"}, timeout=120)
    assert "payment unavailable" in order["saga"]["failureReason"]
    # Leave the breaker closed for the tests that follow. Dapr keeps one breaker per target
    # method, so the probe is a charge through order-service's sidecar (the one holding it),
    # for an order and customer that do not exist: answered DECLINED once the breaker closed.
    probe = "http://127.0.0.1:3501/v1.0/invoke/payment-service/method/payments/charge"
    body = {"orderId": f"probe-{unique}", "customerId": f"nobody-{unique}", "amount": "0.01"}
    token = dapr_headers("order-service")
    poll(
        lambda: httpx.post(probe, json=body, headers=token, timeout=10).status_code == 200,
        "circuit breaker to payment-service did not close again",
        120,
    )


# --- logs ------------------------------------------------------------------------------------


def merged_log(order_id: str) -> list[tuple[str, str]]:
    done = subprocess.run(
        [sys.executable, "-m", "deploy.logs", order_id],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return [tuple(line.split(maxsplit=1)) for line in done.stdout.splitlines()]  # type: ignore[misc]


def test_merged_log_of_an_order_shows_every_service_in_its_trace(order):
    order_id, trace_id = order["orderId"], order["traceId"]
    (zipkin_trace_id,) = poll(lambda: traces_tagged("order.id", order_id), "not in Zipkin")
    assert zipkin_trace_id == trace_id
    app_logs = {f"{app}.log" for app in APP_IDS}

    def in_trace() -> dict[str, list[dict]] | None:
        by_app: dict[str, list[dict]] = {}
        for source, text in merged_log(order_id):
            if source in app_logs:
                record = json.loads(text)
                if record.get("trace_id") == trace_id:
                    by_app.setdefault(source, []).append(record)
        return by_app if set(by_app) == app_logs else None

    by_app = poll(in_trace, "some app has no log line in the order's trace")
    for records in by_app.values():
        assert all(r["time"] and r["level"] and r["app_id"] and r["span_id"] for r in records)
    # the lines that know the order say so
    assert any(r.get("order_id") == order_id for r in by_app["order-service.log"])
    assert any(r.get("order_id") == order_id for r in by_app["inventory-service.log"])
    assert any(r.get("order_id") == order_id for r in by_app["payment-service.log"])
    assert any(r.get("order_id") == order_id for r in by_app["notification-service.log"])
    lines = merged_log(order_id)
    assert any(source.endswith(".daprd.log") for source, _text in lines)  # sidecars too
    times = [json.loads(text)["time"] for source, text in lines if source in app_logs]
    assert times == sorted(times)  # merged in time order
