"""Every consuming app's readiness says whether its sidecar really consumes its topics, and
subscriptions outlive a long pause of their app (app health checks are off: dapr.yaml).

The broker is the witness: the topics assigned to the app's consumer group (apps/common/health.py).
"""

from __future__ import annotations

import time

import httpx
import pytest

from apps.common.health import group_topics, kafka_admin
from deploy.stack.secrets import dapr_headers
from tests.integration.helpers import fund, paused, place, stock, wait_for, wait_stock

CONSUMERS = {  # app id: (app port, sidecar HTTP port, topics)
    "order-service": (8001, 3501, {"stock-replies"}),
    "inventory-service": (
        8002,
        3502,
        {"reserve-stock", "release-stock", "order-confirmed", "order-cancelled"},
    ),
    "notification-service": (8004, 3504, {"order-confirmed", "order-cancelled", "dead-letters"}),
}


def readiness(port: int) -> dict:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json()["checks"]
    except (httpx.HTTPError, ValueError) as exc:
        return {"error": repr(exc)}


def wait_until(what: str, condition, timeout: float) -> float:
    """Seconds until `condition()` held; fails the test after `timeout`."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not {what} after {timeout:.0f}s")
        time.sleep(0.5)
    return time.monotonic() - start


def test_every_consumer_reports_the_topics_its_sidecar_consumes(api):
    admin = kafka_admin()
    for app_id, (app_port, sidecar_port, topics) in CONSUMERS.items():
        wait_until(
            f"{app_id} ready", lambda p=app_port: readiness(p).get("subscriptions") == "ok", 60
        )
        meta = httpx.get(
            f"http://127.0.0.1:{sidecar_port}/v1.0/metadata",
            headers=dapr_headers(app_id),
            timeout=5,
        ).json()
        loaded = {(s["topic"], s["type"]) for s in meta["subscriptions"]}
        assert loaded == {(t, "PROGRAMMATIC") for t in topics}, app_id
        assert group_topics(admin, app_id) == topics, app_id


@pytest.mark.profile_independent
def test_subscriptions_outlive_a_long_pause_of_the_app(api, unique):
    """inventory-service paused for 40 s (longer than the stock timeout and than the 30 s a
    sidecar with health checks would take to stop its subscriptions): its sidecar keeps every
    subscription, the command that arrived meanwhile is delivered once the app runs again, and
    the next order confirms at the first try."""
    product, customer = f"p-{unique}", f"c-{unique}"
    stock(api, product, 5)
    fund(api, customer, "20.00")
    app_port, _sidecar_port, topics = CONSUMERS["inventory-service"]
    admin = kafka_admin()
    with paused("inventory-service"):
        during = place(api, customer, [(product, 1, "1.00")]).json()["orderId"]
        paused_at = time.monotonic()
        # The order gives up waiting for stock while the app is paused.
        assert wait_for(api, during, timeout=60)["status"] == "CANCELLED"
        wait_until("40 s paused", lambda: time.monotonic() - paused_at >= 40, timeout=60)
        assert group_topics(admin, "inventory-service") == topics  # still assigned: nobody left
    resumed = time.monotonic()
    # The late reservation and its release both land; no stock stays held.
    wait_stock(api, product, available=5, reserved=0)
    assert readiness(app_port).get("subscriptions") == "ok"
    after = place(api, customer, [(product, 1, "1.00")]).json()["orderId"]
    assert wait_for(api, after, timeout=60)["status"] == "CONFIRMED"
    print(f"order after the pause confirmed {time.monotonic() - resumed:.1f}s after resume")
