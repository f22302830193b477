"""Every consuming app's readiness says whether its sidecar really consumes its topics, and a
subscription stopped because the app looked unhealthy comes back once it answers again.

The broker is the witness: the topics assigned to the app's consumer group (apps/common/health.py).
"""

from __future__ import annotations

import time

import httpx

from apps.common.health import group_topics
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


def sidecar_says_app_unhealthy(sidecar_port: int, app_id: str) -> bool:
    """daprd refuses a call to an app it counts unhealthy at once, saying so."""
    try:
        url = f"http://127.0.0.1:{sidecar_port}/v1.0/invoke/{app_id}/method/healthz"
        resp = httpx.get(url, headers=dapr_headers(app_id), timeout=2)
    except httpx.HTTPError:  # the paused app does not answer: not counted unhealthy yet
        return False
    return "app is not in a healthy state" in resp.text


def test_every_consumer_reports_the_topics_its_sidecar_consumes(api):
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
        assert group_topics(app_id) == topics, app_id


def test_subscriptions_come_back_after_the_app_health_flaps(api, unique):
    product, customer = f"p-{unique}", f"c-{unique}"
    stock(api, product, 5)
    fund(api, customer, "20.00")
    app_port, sidecar_port, topics = CONSUMERS["inventory-service"]
    with paused("inventory-service"):
        # Its reserve-stock command reaches the sidecar while the app cannot take it.
        during = place(api, customer, [(product, 1, "1.00")]).json()["orderId"]
        unhealthy_after = wait_until(
            "counted unhealthy",
            lambda: sidecar_says_app_unhealthy(sidecar_port, "inventory-service"),
            timeout=90,
        )
    resumed = time.monotonic()
    first = readiness(app_port).get("subscriptions")
    back_after = wait_until(
        "consuming again",
        lambda: readiness(app_port).get("subscriptions") == "ok",
        timeout=120,
    )
    print(
        f"unhealthy after {unhealthy_after:.1f}s paused; first readiness after resume: {first};"
        f" ready {back_after:.1f}s after resume"
    )
    assert not sidecar_says_app_unhealthy(sidecar_port, "inventory-service")
    assert group_topics("inventory-service") == topics
    # The order placed during the pause ends either way (its stock reply may come too late)
    # and holds no stock; one placed now goes through every inventory topic and confirms.
    ended = wait_for(api, during, timeout=120)
    if ended["status"] == "CANCELLED":
        wait_stock(api, product, available=5, reserved=0)
    after = place(api, customer, [(product, 1, "1.00")]).json()["orderId"]
    assert wait_for(api, after, timeout=60)["status"] == "CONFIRMED"
    print(f"order after the flap confirmed {time.monotonic() - resumed:.1f}s after resume")
