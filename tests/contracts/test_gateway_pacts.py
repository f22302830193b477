"""Consumer tests of the gateway: the real gateway app (apps/gateway) answers public API calls
while a Pact mock server stands in for its sidecar. Each test records what the gateway sends to
`/v1.0/invoke/<app>/method/...` and what it needs back, for one provider, into
contracts/pacts/gateway-<provider>.json; tests/contracts/stack verifies those files against the
real apps through the gateway's real sidecar."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from pact import Pact, match

from apps.common.dapr import AsyncDaprClient
from apps.gateway.main import create
from apps.gateway.settings import RateLimitSettings
from apps.gateway.tokens import Role
from tests.contracts.pacts import amount, from_state, invoke_path, new_pact, write
from tests.unit.gateway_app import FakeClock, Keys, new_keys

ORDERS, INVENTORY, PAYMENTS, NOTIFICATIONS = (
    "order-service",
    "inventory-service",
    "payment-service",
    "notification-service",
)
CUSTOMER, PRODUCT = "contract-alice", "contract-book"
JSON, PROBLEM = "application/json", "application/problem+json"

ORDER = {
    "orderId": match.str("0b7e1f6c2d8a4c1e9f3a5b7c9d1e3f5a"),
    "customerId": match.str(CUSTOMER),
    "status": match.str("PENDING"),
    "totalAmount": amount("25.00"),
    "items": match.each_like(
        {"productId": match.str(PRODUCT), "quantity": match.int(2), "unitPrice": amount("12.50")}
    ),
    "createdAt": match.str("2026-01-01T12:00:00.000Z"),
    "updatedAt": match.str("2026-01-01T12:00:01.000Z"),
}
LISTED = ("id", "reason", "payload", "receivedAt")  # a forged letter may have no topic or app
NOT_FOUND = {"title": match.str("Order not found"), "status": 404, "detail": match.str("no ...")}


@contextmanager
def gateway(pact: Pact, tmp_path: Path) -> Iterator[tuple[TestClient, Keys]]:
    """The real gateway whose sidecar is the pact's mock server."""
    keys = new_keys(tmp_path)
    with pact.serve() as mock:
        dapr = AsyncDaprClient()
        dapr.http = httpx.AsyncClient(base_url=str(mock.url), timeout=10)
        app = create(
            tokens=keys.settings,
            limits=RateLimitSettings(per_second=1000, burst=1000, max_clients=100),
            dapr=dapr,
            clock=FakeClock(),
        )
        with TestClient(app, base_url="http://gateway/api/v1") as client:
            yield client, keys


def test_gateway_to_order_service(tmp_path):
    pact = new_pact("gateway", ORDERS)
    place = {
        "customerId": CUSTOMER,
        "items": [{"productId": PRODUCT, "quantity": 2, "unitPrice": "12.50"}],
    }
    (
        pact.upon_receiving("a new order")
        .given("product contract-book is stocked and contract-alice is funded")
        .with_request("POST", invoke_path(ORDERS, "orders"))
        .with_header("idempotency-key", "contract-key-1")
        .with_body(place, JSON)
        .will_respond_with(202)
        .with_header("Location", match.regex("/api/v1/orders/x", regex=r"^/api/v1/orders/\S+$"))
        .with_body(ORDER, JSON)
    )
    (
        pact.upon_receiving("a request for a customer's orders")
        .given("contract-alice has an order")
        .with_request("GET", invoke_path(ORDERS, "orders"))
        .with_query_parameters({"customerId": CUSTOMER, "limit": "20"})
        .will_respond_with(200)
        .with_body({"items": match.each_like(ORDER)}, JSON)
    )
    (
        pact.upon_receiving("a request for an order")
        .given("contract-alice has an order")
        .with_request("GET", invoke_path(ORDERS, "orders/o-get"))
        .with_generators(from_state(ORDERS, "orders/${orderId}"), "Request")
        .will_respond_with(200)
        .with_body(ORDER, JSON)
    )
    (
        pact.upon_receiving("a request for an order that does not exist")
        .with_request("GET", invoke_path(ORDERS, "orders/no-such-order"))
        .will_respond_with(404)
        .with_body(NOT_FOUND, PROBLEM)
    )
    for step, state, status, answer in [
        ("cancel", "contract-alice has an order", 202, "CANCELLED"),
        ("ship", "contract-alice has a confirmed order", 200, "SHIPPED"),
        ("deliver", "contract-alice has a shipped order", 200, "DELIVERED"),
    ]:
        view = {**ORDER, "status": match.str(answer) if step == "cancel" else answer}
        (
            pact.upon_receiving(f"a request to {step} an order")
            .given(state)
            .with_request("POST", invoke_path(ORDERS, f"orders/o-{step}/{step}"))
            .with_generators(from_state(ORDERS, f"orders/${{orderId}}/{step}"), "Request")
            .will_respond_with(status)
            .with_body(view, JSON)
        )
    (
        pact.upon_receiving("a request for a customer's order counts")
        .given("contract-alice has an order")
        .with_request("GET", invoke_path(ORDERS, "orders/counts"))
        .with_query_parameters({"customerId": CUSTOMER})
        .will_respond_with(200)
        .with_body({"total": match.int(1)}, JSON)
    )
    (
        pact.upon_receiving("a request to drive an order that is at its end")
        .given("contract-alice has a confirmed order")
        .with_request("POST", invoke_path(ORDERS, "orders/o-drive/drive"))
        .with_generators(from_state(ORDERS, "orders/${orderId}/drive"), "Request")
        .will_respond_with(409)
        .with_body({"title": match.str("Order already at its end"), "status": 409}, PROBLEM)
    )
    with gateway(pact, tmp_path) as (client, keys):
        admin, alice = keys.headers("ops", Role.ADMIN), keys.headers(CUSTOMER, Role.CUSTOMER)
        assert client.get("/order-counts", headers=alice).json()["total"] >= 1
        assert client.post("/orders/o-drive/drive", headers=admin).status_code == 409
        placed = client.post(
            "/orders", json=place, headers={**alice, "Idempotency-Key": "contract-key-1"}
        )
        assert placed.status_code == 202, placed.text
        assert placed.headers["location"].startswith("/api/v1/orders/")
        listed = client.get("/orders", headers=alice)
        assert listed.status_code == 200 and listed.json()["items"], listed.text
        # A customer's read: the gateway checks the order's customerId against the token.
        assert client.get("/orders/o-get", headers=alice).status_code == 200
        missing = client.get("/orders/no-such-order", headers=admin)
        assert missing.status_code == 404
        assert missing.headers["content-type"] == PROBLEM
        assert client.post("/orders/o-cancel/cancel", headers=admin).status_code == 202
        assert client.post("/orders/o-ship/ship", headers=admin).json()["status"] == "SHIPPED"
        assert client.post("/orders/o-deliver/deliver", headers=admin).status_code == 200
    write(pact)


def test_gateway_to_inventory_service(tmp_path):
    pact = new_pact("gateway", INVENTORY)
    level = {"productId": match.str(PRODUCT), "available": match.int(10), "reserved": match.int(0)}
    (
        pact.upon_receiving("new stock for a product")
        .with_request("PUT", invoke_path(INVENTORY, f"inventory/{PRODUCT}"))
        .with_body({"available": 10}, JSON)
        .will_respond_with(200)
        .with_body({**level, "available": 10}, JSON)
    )
    (
        pact.upon_receiving("a request for a product's stock")
        .given("product contract-book is stocked")
        .with_request("GET", invoke_path(INVENTORY, f"inventory/{PRODUCT}"))
        .will_respond_with(200)
        .with_body(level, JSON)
    )
    (
        pact.upon_receiving("a request for a product that has no stock record")
        .with_request("GET", invoke_path(INVENTORY, "inventory/no-such-product"))
        .will_respond_with(404)
        .with_body({**NOT_FOUND, "title": match.str("Product not found")}, PROBLEM)
    )
    with gateway(pact, tmp_path) as (client, keys):
        admin = keys.headers("ops", Role.ADMIN)
        put = client.put(f"/inventory/{PRODUCT}", json={"available": 10}, headers=admin)
        assert put.status_code == 200 and put.json()["available"] == 10, put.text
        assert client.get(f"/inventory/{PRODUCT}", headers=admin).status_code == 200
        assert client.get("/inventory/no-such-product", headers=admin).status_code == 404
    write(pact)


def test_gateway_to_payment_service(tmp_path):
    pact = new_pact("gateway", PAYMENTS)
    account = {"customerId": match.str(CUSTOMER), "balance": amount("100.00")}
    payment = {
        "paymentId": match.str("pay-1"),
        "orderId": match.str("o-1"),
        "customerId": match.str(CUSTOMER),
        "amount": amount("25.00"),
        "status": match.str("CHARGED"),
    }
    (
        pact.upon_receiving("a new balance for a customer")
        .with_request("PUT", invoke_path(PAYMENTS, f"accounts/{CUSTOMER}"))
        .with_body({"balance": "100.00"}, JSON)
        .will_respond_with(200)
        .with_body({"customerId": CUSTOMER, "balance": "100.00"}, JSON)
    )
    (
        pact.upon_receiving("a request for a customer's balance")
        .given("contract-alice is funded")
        .with_request("GET", invoke_path(PAYMENTS, f"accounts/{CUSTOMER}"))
        .will_respond_with(200)
        .with_body(account, JSON)
    )
    (
        pact.upon_receiving("a request for a customer without an account")
        .with_request("GET", invoke_path(PAYMENTS, "accounts/no-such-customer"))
        .will_respond_with(404)
        .with_body({**NOT_FOUND, "title": match.str("Account not found")}, PROBLEM)
    )
    (
        pact.upon_receiving("a request for an order's payments")
        .given("contract-alice has a confirmed order")
        .with_request("GET", invoke_path(PAYMENTS, "payments"))
        .with_query_parameter("orderId", "o-paid")
        .with_generators(
            {"query": {"orderId": {"type": "ProviderState", "expression": "${orderId}"}}},
            "Request",
        )
        .will_respond_with(200)
        .with_body({"items": match.each_like(payment)}, JSON)
    )
    with gateway(pact, tmp_path) as (client, keys):
        admin, alice = keys.headers("ops", Role.ADMIN), keys.headers(CUSTOMER, Role.CUSTOMER)
        put = client.put(f"/accounts/{CUSTOMER}", json={"balance": "100.00"}, headers=admin)
        assert put.status_code == 200, put.text
        assert client.get(f"/accounts/{CUSTOMER}", headers=alice).status_code == 200
        assert client.get("/accounts/no-such-customer", headers=admin).status_code == 404
        # A customer's list: the gateway keeps the items whose customerId is the caller's.
        paid = client.get("/payments", params={"orderId": "o-paid"}, headers=alice)
        assert paid.status_code == 200 and len(paid.json()["items"]) == 1, paid.text
    write(pact)


def test_gateway_to_notification_service(tmp_path):
    pact = new_pact("gateway", NOTIFICATIONS)
    notification = {
        "notificationId": match.str("n-1"),
        "orderId": match.str("o-1"),
        "customerId": match.str(CUSTOMER),
        "type": match.str("ORDER_CONFIRMED"),
        "sentAt": match.str("2026-01-01T12:00:02.000Z"),
    }
    letter = {
        "id": match.int(7),
        "topic": match.str("reserve-stock"),
        "reason": match.str("invalid ReserveStock: items: Field required"),
        "sourceApp": match.str("inventory-service"),
        "payload": match.str('{"orderId": "o-1"}'),
        "receivedAt": match.str("2026-01-01T12:00:03.000Z"),
    }
    (
        pact.upon_receiving("a request for an order's notifications")
        .given("contract-alice has a confirmed order")
        .with_request("GET", invoke_path(NOTIFICATIONS, "notifications"))
        .with_query_parameter("orderId", "o-notified")
        .with_generators(
            {"query": {"orderId": {"type": "ProviderState", "expression": "${orderId}"}}},
            "Request",
        )
        .will_respond_with(200)
        .with_body({"items": match.each_like(notification)}, JSON)
    )
    (
        pact.upon_receiving("a request for the dead letters")
        .given("a dead letter exists")
        .with_request("GET", invoke_path(NOTIFICATIONS, "dead-letters"))
        .with_query_parameter("limit", "100")
        .will_respond_with(200)
        # Every kept letter, forged ones too: only what every letter has.
        .with_body({"items": match.each_like({k: letter[k] for k in LISTED})}, JSON)
    )
    (
        pact.upon_receiving("a request to redrive a dead letter")
        .given("a dead letter exists")
        .with_request("POST", invoke_path(NOTIFICATIONS, "dead-letters/7/redrive"))
        .with_generators(from_state(NOTIFICATIONS, "dead-letters/${letterId}/redrive"), "Request")
        .will_respond_with(202)
        .with_body({**letter, "redrivenAt": match.str("2026-01-01T12:00:04.000Z")}, JSON)
    )
    with gateway(pact, tmp_path) as (client, keys):
        admin, alice = keys.headers("ops", Role.ADMIN), keys.headers(CUSTOMER, Role.CUSTOMER)
        mine = client.get("/notifications", params={"orderId": "o-notified"}, headers=alice)
        assert mine.status_code == 200 and len(mine.json()["items"]) == 1, mine.text
        assert client.get("/dead-letters", headers=admin).status_code == 200
        assert client.post("/dead-letters/7/redrive", headers=admin).status_code == 202
    write(pact)
