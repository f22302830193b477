"""At-least-once delivery: duplicated, late and malformed messages change nothing twice and
never block a partition. Messages are published into Kafka through a real sidecar."""

from __future__ import annotations

import json
import time
import uuid

import httpx

from tests.integration.helpers import fund, inventory, notifications, place, stock, wait_for

SIDECAR = "http://127.0.0.1:3503"  # payment-service's sidecar: it consumes none of these topics


def publish(topic: str, data: object) -> None:
    resp = httpx.post(f"{SIDECAR}/v1.0/publish/orderpubsub/{topic}", json=data, timeout=10)
    assert resp.status_code == 204, resp.text


def dead_letters() -> list[dict]:
    url = f"{SIDECAR}/v1.0/invoke/notification-service/method/dead-letters"
    return httpx.get(url, timeout=10).json()["items"]


def wait_dead_letter(needle: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for item in dead_letters():
            if needle in item["payload"]:
                return item
        time.sleep(0.5)
    raise AssertionError(f"no dead letter containing {needle}")


def confirmed_order(api, unique: str) -> tuple[str, str, str]:
    product, customer = f"p-{unique}", f"c-{unique}"
    stock(api, product, 5)
    fund(api, customer, "20.00")
    order_id = place(api, customer, [(product, 2, "3.00")]).json()["orderId"]
    wait_for(api, order_id, {"CONFIRMED"}, saga={"COMPLETED"})
    return order_id, product, customer


def test_duplicate_commands_and_events_change_nothing(api, unique):
    order_id, product, customer = confirmed_order(api, unique)
    assert len(notifications(api, order_id)) == 1
    reserve = {"orderId": order_id, "items": [{"productId": product, "quantity": 2}]}
    for _ in range(3):
        publish("reserve-stock", reserve)
        publish(
            "order-confirmed", {"orderId": order_id, "customerId": customer, "totalAmount": "6.00"}
        )
    # A marker published after the duplicates: once it is handled, they were handled too
    # (same topic, same partition key).
    marker = f"marker-{uuid.uuid4().hex[:8]}"
    publish("order-confirmed", {"orderId": order_id, "customerId": marker, "totalAmount": "0"})
    time.sleep(3)
    assert inventory(api, product) == {"productId": product, "available": 3, "reserved": 0}
    assert [n["type"] for n in notifications(api, order_id)] == ["ORDER_CONFIRMED"]
    assert api.get(f"/orders/{order_id}").json()["status"] == "CONFIRMED"


def test_reservation_that_lands_after_its_release_holds_nothing(api, unique):
    product, order_id = f"p-{unique}", f"late-{unique}"
    stock(api, product, 5)
    publish("release-stock", {"orderId": order_id})
    time.sleep(1)
    publish(
        "reserve-stock", {"orderId": order_id, "items": [{"productId": product, "quantity": 2}]}
    )
    # inventory refuses it and replies; order-service knows no such order and dead-letters
    # the reply, which tells us the reservation was handled.
    letter = wait_dead_letter(order_id)
    assert json.loads(letter["payload"])["reserved"] is False
    assert inventory(api, product) == {"productId": product, "available": 5, "reserved": 0}


def test_poison_message_goes_to_dead_letters_and_the_topic_keeps_flowing(api, unique):
    poison = {"orderId": 12345, "items": f"not-a-list-{unique}"}
    publish("reserve-stock", poison)
    wait_dead_letter(f"not-a-list-{unique}")
    # The partition is not blocked: a normal order still completes.
    order_id, _product, _customer = confirmed_order(api, f"{unique}-after")
    assert api.get(f"/orders/{order_id}").json()["status"] == "CONFIRMED"


def test_inventory_returns_stock_on_an_order_cancelled_event(api, unique):
    order_id, product, customer = confirmed_order(api, unique)
    publish("order-cancelled", {"orderId": order_id, "customerId": customer, "reason": "test"})
    deadline = time.monotonic() + 30
    while inventory(api, product)["available"] != 5:
        assert time.monotonic() < deadline, inventory(api, product)
        time.sleep(0.3)
    assert inventory(api, product)["reserved"] == 0
