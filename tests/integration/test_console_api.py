"""The public API the operator console uses (tests/browser drives the console itself): the saga
timeline, listing everyone's orders with filters, counts, stuck orders and driving one, an
order's log lines, live health."""

from __future__ import annotations

import time

from tests.integration.helpers import fund, place, stock, wait_for

STEPS = ["INVENTORY_RESERVED", "PAYMENT_PROCESSED", "ORDER_CONFIRMED", "NOTIFICATION_SENT"]


def settled(api, unique: str, balance: str = "20.00") -> tuple[str, str]:
    product, customer = f"con-p-{unique}", f"con-c-{unique}"
    stock(api, product, 5)
    fund(api, customer, balance)
    order_id = place(api, customer, [(product, 2, "3.00")]).json()["orderId"]
    return wait_for(api, order_id)["orderId"], customer


def test_a_confirmed_sagas_timeline_has_each_step_once_in_order(api, unique):
    order_id, _customer = settled(api, unique)
    deadline = time.monotonic() + 15  # NOTIFICATION_SENT follows CONFIRMED
    while True:
        saga = api.get(f"/orders/{order_id}").json()["saga"]
        if STEPS[-1] in saga["completedSteps"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    timeline = saga["timeline"]
    assert [(e["kind"], e["name"]) for e in timeline] == [("step", s) for s in STEPS]
    assert all(e["tookMs"] >= 0 for e in timeline)
    assert [e["at"] for e in timeline] == sorted(e["at"] for e in timeline)
    assert saga["startedAt"] <= timeline[0]["at"]


def test_a_declined_sagas_timeline_shows_its_compensation(api, unique):
    order_id, _customer = settled(api, unique, balance="1.00")
    saga = api.get(f"/orders/{order_id}").json()["saga"]
    assert saga["status"] == "COMPENSATED"
    assert [(e["kind"], e["name"]) for e in saga["timeline"]] == [
        ("step", "INVENTORY_RESERVED"),
        ("saga", "COMPENSATING"),
        ("compensation", "INVENTORY_RESERVED"),
        ("saga", "COMPENSATED"),
    ]
    assert "declined" in saga["timeline"][1]["detail"]


def test_an_admin_lists_everyones_orders_filtered_and_counted(api, unique):
    confirmed, customer = settled(api, unique)
    declined, _ = settled(api, f"{unique}-x", balance="0.00")
    everyone = api.get("/orders", params={"limit": 100}).json()["items"]
    assert {confirmed, declined} <= {o["orderId"] for o in everyone}
    created = [o["createdAt"] for o in everyone]
    assert created == sorted(created, reverse=True)
    cancelled = api.get("/orders", params={"status": "CANCELLED", "limit": 100}).json()["items"]
    assert declined in {o["orderId"] for o in cancelled}
    assert {o["status"] for o in cancelled} == {"CANCELLED"}
    compensated = api.get("/orders", params={"sagaStatus": "COMPENSATED"}).json()["items"]
    assert {o["saga"]["status"] for o in compensated} == {"COMPENSATED"}
    counts = api.get("/order-counts", params={"customerId": customer}).json()
    assert counts == {"total": 1, "byStatus": {"CONFIRMED": 1}, "bySagaStatus": {"COMPLETED": 1}}
    overall = api.get("/order-counts").json()
    assert overall["total"] == sum(overall["byStatus"].values()) >= 2


def test_a_customer_counts_and_lists_only_its_own(api, as_customer, unique):
    order_id, customer = settled(api, unique)
    client = as_customer(customer)
    assert client.get("/order-counts").json()["total"] == 1
    assert [o["orderId"] for o in client.get("/orders").json()["items"]] == [order_id]
    assert client.get("/order-counts", params={"customerId": "someone-else"}).status_code == 403
    assert client.get("/stuck-orders").status_code == 403
    assert client.get("/health").status_code == 403
    assert client.get(f"/orders/{order_id}/logs").status_code == 403


def test_an_order_at_its_end_is_not_driven_and_not_stuck(api, unique):
    order_id, _customer = settled(api, unique)
    stuck = api.get("/stuck-orders", params={"idleSeconds": 1, "limit": 200}).json()["items"]
    assert order_id not in {o["orderId"] for o in stuck}
    refused = api.post(f"/orders/{order_id}/drive")
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert api.post(f"/orders/no-such-{unique}/drive").status_code == 404
    bad = api.get("/stuck-orders", params={"idleSeconds": 0})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem")


def test_an_orders_log_lines_come_from_every_service(api, unique):
    order_id, _customer = settled(api, unique)
    lines = api.get(f"/orders/{order_id}/logs").json()
    sources = {line["source"] for line in lines["items"]}
    assert {"gateway.log", "order-service.log", "payment-service.log"} <= sources
    assert [x["time"] for x in lines["items"]] == sorted(x["time"] for x in lines["items"])
    assert api.get(f"/orders/no-such-{unique}/logs").status_code == 404


def test_live_health_reads_the_metrics_readiness_and_breaker(api, unique):
    settled(api, unique)
    health = api.get("/health").json()
    assert health["metricsRead"] is True
    assert len(health["sagasPerMinute"]) == health["windowMinutes"] == 15
    assert {s["appId"]: s["ready"] for s in health["services"]} == {
        "gateway": True,
        "order-service": True,
        "inventory-service": True,
        "payment-service": True,
        "notification-service": True,
    }
    assert health["paymentCircuitBreaker"] in ("closed", "unknown")
