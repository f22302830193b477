"""Internal endpoints validate as strictly as the gateway: calls that come straight through a
sidecar (Dapr service invocation) and forged or garbled Kafka messages are refused, never
applied. They are made as an operator holding the run's tokens would make them
(tests/integration/sidecars.py); tests/integration/test_security_sidecars.py checks that
nobody else can."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest

from tests.integration import sidecars
from tests.integration.helpers import balance, fund, inventory, payments, stock, wait_stock
from tests.integration.sidecars import publish_as_producer as publish


def invoke(app_id: str, verb: str, method: str, body: object = None) -> httpx.Response:
    """Calls `app_id` through its own sidecar, with the sidecar's token."""
    return sidecars.invoke(app_id, app_id, verb, method, body)


def wait_dead_letter(matches: Callable[[dict], bool], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        letters = invoke("notification-service", "GET", "dead-letters").json()["items"]
        for letter in letters:
            payload = json.loads(letter["payload"])
            if isinstance(payload, dict) and matches(payload):
                return payload
        time.sleep(0.5)
    raise AssertionError("no such dead letter")


def assert_problem(resp: httpx.Response, status: int = 422) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_a_good_charge_through_the_sidecar_is_applied(api, unique):
    customer, order_id = f"c-{unique}", f"direct-{unique}"
    fund(api, customer, "100.00")
    body = {"orderId": order_id, "customerId": customer, "amount": "1.00"}
    resp = invoke("payment-service", "POST", "payments/charge", body)
    assert resp.status_code == 200 and resp.json()["status"] == "CHARGED", resp.text
    assert balance(api, customer) == Decimal("99.00")


BAD_AMOUNTS = ["-1000.00", "-0.01", "0", "0.00", 0, "0.001", "NaN", "Infinity", "1e3"]
BAD_AMOUNTS += ["100000000000.01", "1" * 40, "ten", None, True]


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_a_bad_charge_through_the_sidecar_is_refused_and_never_applied(api, unique, amount):
    customer, order_id = f"c-{unique}", f"bad-charge-{unique}"
    fund(api, customer, "100.00")
    body = {"orderId": order_id, "customerId": customer, "amount": amount}
    assert_problem(invoke("payment-service", "POST", "payments/charge", body))
    assert balance(api, customer) == Decimal("100.00")
    assert payments(api, order_id) == []


@pytest.mark.parametrize(
    "change",
    [
        {"orderId": "a b"},
        {"orderId": "\u0003"},
        {"orderId": ""},
        {"customerId": "x" * 65},
        {"customerId": None},
        {"currency": "EUR"},
    ],
)
def test_a_charge_with_bad_ids_or_fields_is_refused(api, unique, change):
    customer = f"c-{unique}"
    fund(api, customer, "100.00")
    body = {"orderId": f"o-{unique}", "customerId": customer, "amount": "5.00", **change}
    assert_problem(invoke("payment-service", "POST", "payments/charge", body))
    assert balance(api, customer) == Decimal("100.00")


@pytest.mark.parametrize(
    "body",
    [
        {"orderId": "a b", "customerId": "c1"},
        {"orderId": "o1", "customerId": "c" * 65},
        {"orderId": "o1"},
        {"orderId": "o1", "customerId": "c1", "amount": "-5.00"},
    ],
)
def test_a_bad_refund_through_the_sidecar_is_refused(body):
    assert_problem(invoke("payment-service", "POST", "payments/refund", body))


def test_every_payment_record_lists_through_the_gateway(api, unique):
    """A refund that arrives before its charge leaves a DECLINED 0.00 record; it lists like any
    other."""
    customer, order_id = f"c-{unique}", f"early-refund-{unique}"
    early = {"orderId": order_id, "customerId": customer}
    refund = invoke("payment-service", "POST", "payments/refund", early)
    assert refund.status_code == 200, refund.text
    listed = api.get("/payments", params={"orderId": order_id})
    assert listed.status_code == 200, listed.text
    [record] = listed.json()["items"]
    assert (record["status"], record["amount"], record["reason"]) == (
        "DECLINED",
        "0.00",
        "cancelled before payment",
    )


@pytest.mark.parametrize(
    "body", [{"available": -1}, {"available": "3"}, {"available": 1.5}, {"available": 10**10}]
)
def test_bad_stock_through_the_sidecar_is_refused(api, unique, body):
    product = f"p-{unique}"
    stock(api, product, 5)
    assert_problem(invoke("inventory-service", "PUT", f"inventory/{product}", body))
    assert inventory(api, product) == {"productId": product, "available": 5, "reserved": 0}


@pytest.mark.parametrize("bad", ["a%20b", "-x", "%C3%A9"])
def test_bad_product_ids_through_the_sidecar_are_refused(bad):
    assert_problem(invoke("inventory-service", "PUT", f"inventory/{bad}", {"available": 1}))
    assert_problem(invoke("inventory-service", "GET", f"inventory/{bad}"))


FORGED_RESERVATIONS = {
    "negative quantity": lambda p: [{"productId": p, "quantity": -2}],
    "zero quantity": lambda p: [{"productId": p, "quantity": 0}],
    "absurd quantity": lambda p: [{"productId": p, "quantity": 10**9}],
    "quantity as text": lambda p: [{"productId": p, "quantity": "2"}],
    "no items": lambda p: [],
    "bad product id": lambda p: [{"productId": f"{p} x", "quantity": 1}],
}


@pytest.mark.parametrize("case", list(FORGED_RESERVATIONS))
def test_a_forged_reservation_is_dead_lettered_and_moves_no_stock(api, unique, case):
    product, order_id = f"p-{unique}", f"forged-{unique}"
    stock(api, product, 5)
    publish("reserve-stock", {"orderId": order_id, "items": FORGED_RESERVATIONS[case](product)})
    wait_dead_letter(lambda m: m.get("orderId") == order_id and "items" in m)
    assert inventory(api, product) == {"productId": product, "available": 5, "reserved": 0}


def test_a_forged_confirmation_does_not_sell_held_stock(api, unique):
    product, order_id, customer = f"p-{unique}", f"held-{unique}", f"c-{unique}"
    stock(api, product, 5)
    publish(
        "reserve-stock", {"orderId": order_id, "items": [{"productId": product, "quantity": 2}]}
    )
    wait_stock(api, product, available=3, reserved=2)
    forged = {"orderId": order_id, "customerId": customer, "totalAmount": "-5.17"}
    publish("order-confirmed", forged)
    wait_dead_letter(lambda m: m.get("orderId") == order_id and m.get("totalAmount") == "-5.17")
    assert inventory(api, product) == {"productId": product, "available": 3, "reserved": 2}
    publish("release-stock", {"orderId": order_id})
    wait_stock(api, product, available=5, reserved=0)


def test_a_forged_release_with_a_bad_id_is_dead_lettered(api, unique):
    marker = uuid.uuid4().hex
    publish("release-stock", {"orderId": f"bad id {marker}"})
    wait_dead_letter(lambda m: m.get("orderId") == f"bad id {marker}")


def test_refused_calls_do_not_open_a_circuit_breaker(api, unique):
    """Sidecars counted every 4xx answer (retried twice) as a breaker failure: two bad calls
    opened the breaker of that method for 15 s, and the gateway answered GET /payments for any
    order with 502 "payment-service answered 500" meanwhile."""
    customer, order_id = f"c-{unique}", f"listed-{unique}"
    fund(api, customer, "10.00")
    good = {"orderId": order_id, "customerId": customer, "amount": "1.00"}
    for _ in range(8):  # through the gateway's sidecar, as the gateway calls payment-service
        listed = sidecars.invoke(
            "gateway", "payment-service", "GET", "payments", params={"orderId": "not an id"}
        )
        assert_problem(listed)
        assert_problem(
            invoke("payment-service", "POST", "payments/charge", {**good, "amount": "-1"})
        )
    assert invoke("payment-service", "POST", "payments/charge", good).json()["status"] == "CHARGED"
    listed = api.get("/payments", params={"orderId": order_id})
    assert listed.status_code == 200, listed.text
    assert [p["status"] for p in listed.json()["items"]] == ["CHARGED"]
