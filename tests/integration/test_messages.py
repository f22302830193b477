"""At-least-once delivery: duplicated, late and malformed messages change nothing twice and
never block a partition; what no consumer can handle is kept as a dead letter (topic, reason,
raw payload) and can be redriven. Messages are published into Kafka through the sidecar of the
app that produces them, with its token (tests/integration/sidecars.py): the pub/sub scopes let
no other app publish them."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

import httpx
import pytest

from deploy.stack.control import start_one, stop_one
from tests.integration.helpers import (
    fund,
    inventory,
    notifications,
    place,
    stock,
    wait_for,
    wait_stock,
)
from tests.integration.sidecars import publish_as_producer as publish


def wait_dead_letter(
    api: httpx.Client, match: str | Callable[[dict], bool], timeout: float = 60
) -> dict:
    """The newest dead letter whose payload contains `match` (or for which `match` is true)."""
    found = (lambda d: match in d["payload"]) if isinstance(match, str) else match
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = api.get("/dead-letters", params={"limit": 500})
        assert resp.status_code == 200, resp.text
        for item in resp.json()["items"]:
            if found(item):
                return item
        time.sleep(0.5)
    raise AssertionError(f"no dead letter matching {match}")


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
    confirmed = {"orderId": order_id, "customerId": customer, "totalAmount": "6.00"}
    for _ in range(3):
        publish("reserve-stock", reserve, key=order_id)
        publish("order-confirmed", confirmed, key=order_id)
    # Malformed markers behind the duplicates, on the same partitions: once every consumer has
    # dead-lettered its copy, it has handled the duplicates before it.
    marker = {"orderId": order_id, "marker": unique}
    publish("reserve-stock", marker, key=order_id)
    publish("order-confirmed", marker, key=order_id)
    for topic, consumer in [
        ("reserve-stock", "inventory-service"),
        ("order-confirmed", "inventory-service"),
        ("order-confirmed", "notification-service"),
    ]:
        wait_dead_letter(
            api,
            lambda d, t=topic, c=consumer: (
                (d["topic"], d["sourceApp"]) == (t, c) and json.loads(d["payload"]) == marker
            ),
        )
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
    letter = wait_dead_letter(api, order_id)
    assert (letter["topic"], letter["sourceApp"]) == ("stock-replies", "order-service")
    assert json.loads(letter["payload"])["reserved"] is False
    assert inventory(api, product) == {"productId": product, "available": 5, "reserved": 0}


def test_poison_message_is_a_dead_letter_and_the_topic_keeps_flowing(api, unique):
    poison = {"orderId": 12345, "items": f"not-a-list-{unique}"}
    publish("reserve-stock", poison)
    letter = wait_dead_letter(api, f"not-a-list-{unique}")
    assert (letter["topic"], letter["sourceApp"]) == ("reserve-stock", "inventory-service")
    assert letter["reason"].startswith("invalid ReserveStock") and "items" in letter["reason"]
    assert json.loads(letter["payload"]) == poison
    assert letter["redrivenAt"] is None
    # The partition is not blocked: a normal order still completes.
    order_id, _product, _customer = confirmed_order(api, f"{unique}-after")
    assert api.get(f"/orders/{order_id}").json()["status"] == "CONFIRMED"


def test_payloads_of_any_json_type_are_kept(api, unique):
    payloads = [f"text-{unique}", int(unique, 16), ["list", unique]]
    for payload in payloads:
        publish("reserve-stock", payload)
    for payload, kind in zip(payloads, ("string", "number", "array"), strict=True):
        letter = wait_dead_letter(api, lambda d, p=payload: json.loads(d["payload"]) == p)
        assert (letter["topic"], letter["sourceApp"]) == ("reserve-stock", "inventory-service")
        assert letter["reason"] == f"payload is a JSON {kind}, not an object"
    # Published straight to dead-letters, not as a consumer's envelope: kept all the same, and
    # not redrivable (its original topic is unknown).
    publish("dead-letters", [f"stray-{unique}"])
    stray = wait_dead_letter(api, f"stray-{unique}")
    assert stray["topic"] == "dead-letters" and stray["reason"]
    assert api.post(f"/dead-letters/{stray['id']}/redrive").status_code == 409


def inbound_retries(metrics_port: int) -> float:
    """How many deliveries to its app this sidecar has had to retry (counted once per message)."""
    text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("dapr_resiliency_activations_total{")
        and 'flow_direction="inbound"' in line
        and 'policy="retry"' in line
    )


def reserve_and_wait_for_a_retry(order_id: str, product: str) -> None:
    """Publishes a reservation for inventory-service and waits until its sidecar has had to
    retry delivering it (the service or its database is down)."""
    retried = inbound_retries(9192)
    publish(
        "reserve-stock", {"orderId": order_id, "items": [{"productId": product, "quantity": 2}]}
    )
    deadline = time.monotonic() + 30
    while inbound_retries(9192) <= retried:
        assert time.monotonic() < deadline, "the sidecar never retried the delivery"
        time.sleep(0.3)


def no_reservation_dead_letter(api: httpx.Client, order_id: str) -> bool:
    letters = api.get("/dead-letters", params={"limit": 500}).json()["items"]
    return not [d for d in letters if d["topic"] == "reserve-stock" and order_id in d["payload"]]


def test_command_for_a_consumer_that_is_down_waits_for_it(api, unique):
    """inventory-service is killed: its sidecar keeps retrying the delivery (resiliency-pubsub.yaml)
    and the command is processed once the service is back, without going to dead letters."""
    product, order_id = f"p-{unique}", f"down-{unique}"
    stock(api, product, 5)
    stop_one("inventory-service")
    try:
        reserve_and_wait_for_a_retry(order_id, product)
    finally:
        start_one("inventory-service")
    wait_stock(api, product, available=3, reserved=2)
    # (Its stock reply, for an order order-service never placed, is a dead letter of its own.)
    assert no_reservation_dead_letter(api, order_id)


@pytest.mark.skipif(os.environ.get("PROFILE") != "postgres", reason="needs a database server")
def test_command_waits_out_a_database_outage(api, unique):
    """inventory-service is up but its database is down for longer than a minute: each delivery
    fails and the sidecar keeps retrying (no dead letter); once the database is back the command
    is processed, once."""
    product, order_id = f"p-{unique}", f"db-down-{unique}"
    stock(api, product, 5)
    stop_one("postgres")
    try:
        reserve_and_wait_for_a_retry(order_id, product)
        down_until = time.monotonic() + 60  # an outage longer than a bounded policy would last
        while time.monotonic() < down_until:
            time.sleep(1)
    finally:
        start_one("postgres")
    wait_stock(api, product, available=3, reserved=2)
    assert no_reservation_dead_letter(api, order_id)


def test_rejected_message_is_redriven_once(api, unique):
    """A dead letter a consumer refused is published again to its topic on redrive, once."""
    poison = {"orderId": f"o-{unique}", "items": [{"productId": f"p-{unique}", "quantity": 0}]}
    publish("reserve-stock", poison)
    letter = wait_dead_letter(api, f"p-{unique}")
    assert (letter["topic"], letter["sourceApp"]) == ("reserve-stock", "inventory-service")
    resp = api.post(f"/dead-letters/{letter['id']}/redrive")
    assert resp.status_code == 202, resp.text
    # Still invalid: refused again, and kept again as a new dead letter.
    again = wait_dead_letter(
        api, lambda d: f"p-{unique}" in d["payload"] and d["id"] != letter["id"]
    )
    assert json.loads(again["payload"]) == poison and again["redrivenAt"] is None
    assert api.post(f"/dead-letters/{letter['id']}/redrive").status_code == 409
    assert api.post(f"/dead-letters/{2**31 - 1}/redrive").status_code == 404


def test_inventory_returns_stock_on_an_order_cancelled_event(api, unique):
    order_id, product, customer = confirmed_order(api, unique)
    publish("order-cancelled", {"orderId": order_id, "customerId": customer, "reason": "test"})
    deadline = time.monotonic() + 30
    while inventory(api, product)["available"] != 5:
        assert time.monotonic() < deadline, inventory(api, product)
        time.sleep(0.3)
    assert inventory(api, product)["reserved"] == 0
