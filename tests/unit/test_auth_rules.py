"""Authentication and the role and ownership rules at the gateway, end to end through the app
(apps/gateway/main.py) with a fake sidecar: what is refused is never forwarded, and a customer
sees only what is its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from apps.gateway.tokens import Role
from tests.unit.gateway_app import FakeSidecar, Keys, gateway, new_keys, order

ORDERS, PAYMENTS, NOTIFICATIONS = "order-service", "payment-service", "notification-service"
VALID_ORDER = {"items": [{"productId": "p1", "quantity": 1, "unitPrice": "2.00"}]}


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    return new_keys(tmp_path)


@pytest.fixture
def sidecar() -> FakeSidecar:
    return FakeSidecar(
        answers={
            ("GET", ORDERS, "orders/o-alice"): order("o-alice", "alice"),
            ("GET", ORDERS, "orders/o-bob"): order("o-bob", "bob"),
            ("POST", ORDERS, "orders/o-alice/cancel"): order("o-alice", "alice"),
            ("POST", ORDERS, "orders/o-bob/cancel"): order("o-bob", "bob"),
            ("POST", ORDERS, "orders"): order("o-new", "alice"),
            ("GET", ORDERS, "orders"): {"items": [], "next": None},
            ("GET", PAYMENTS, "accounts/alice"): {"customerId": "alice", "balance": "5.00"},
            ("GET", PAYMENTS, "payments"): {
                "items": [
                    {"paymentId": "pa", "orderId": "o-x", "customerId": "alice"},
                    {"paymentId": "pb", "orderId": "o-x", "customerId": "bob"},
                ]
            },
            ("GET", NOTIFICATIONS, "notifications"): {
                "items": [{"notificationId": "n1", "orderId": "o-bob", "customerId": "bob"}]
            },
        }
    )


@pytest.fixture
def client(keys: Keys, sidecar: FakeSidecar) -> Iterator[TestClient]:
    with TestClient(gateway(keys, sidecar), raise_server_exceptions=False) as c:
        yield c


def as_customer(keys: Keys, name: str = "alice") -> dict[str, str]:
    return keys.headers(name, Role.CUSTOMER)


def as_admin(keys: Keys) -> dict[str, str]:
    return keys.headers("ops", Role.ADMIN)


def assert_problem(resp, status: int) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["status"] == status
    return body


# --- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verb", "path"),
    [
        ("GET", "/api/v1/orders/o-alice"),
        ("POST", "/api/v1/orders"),
        ("PUT", "/api/v1/inventory/p1"),
        ("GET", "/api/v1/no-such-route"),
        ("GET", "/docs/../api/v1/orders/o-alice"),
    ],
)
def test_no_token_is_a_401_challenge_and_nothing_is_forwarded(client, sidecar, verb, path):
    resp = client.request(verb, path, json={"available": 1})
    body = assert_problem(resp, 401)
    assert body["title"] == "Unauthorized"
    assert resp.headers["www-authenticate"] == 'Bearer realm="order-platform"'
    assert sidecar.calls == []


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not-a-jwt", "Bearer ", "Bearer a.b.c", "Bearer x y"],
)
def test_a_bad_token_is_a_401_invalid_token(client, sidecar, authorization):
    resp = client.get("/api/v1/orders/o-alice", headers={"Authorization": authorization})
    assert_problem(resp, 401)
    challenge = resp.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="order-platform", error="invalid_token"')
    assert sidecar.calls == []


def test_a_token_of_another_scheme_is_as_no_token(client):
    resp = client.get("/api/v1/orders/o-alice", headers={"Authorization": "Basic YTpi"})
    assert_problem(resp, 401)
    assert "error=" not in resp.headers["www-authenticate"]


def test_two_authorization_headers_are_refused(client, keys):
    token = keys.token("alice", Role.CUSTOMER)
    headers = [("authorization", f"Bearer {token}"), ("authorization", f"Bearer {token}")]
    resp = client.get("/api/v1/orders/o-alice", headers=headers)
    assert_problem(resp, 401)


def test_probes_and_the_openapi_document_stay_open(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200
    assert client.get("/metrics").status_code == 200


def test_the_openapi_document_declares_the_bearer_scheme_and_its_answers(client):
    doc = client.get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": doc["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    for path, operations in doc["paths"].items():
        for verb, operation in operations.items():
            where = f"{verb.upper()} {path}"
            assert operation["security"] == [{"bearerAuth": []}], where
            answers = operation["responses"]
            assert "WWW-Authenticate" in answers["401"]["headers"], where
            assert "Retry-After" in answers["429"]["headers"], where
    admin_only = [
        ("put", "/api/v1/inventory/{product_id}"),
        ("get", "/api/v1/inventory/{product_id}"),
        ("put", "/api/v1/accounts/{customer_id}"),
        ("post", "/api/v1/orders/{order_id}/ship"),
        ("post", "/api/v1/orders/{order_id}/deliver"),
        ("get", "/api/v1/dead-letters"),
        ("post", "/api/v1/dead-letters/{letter_id}/redrive"),
        ("post", "/api/v1/orders"),
        ("get", "/api/v1/orders"),
    ]
    for verb, path in admin_only:
        assert "403" in doc["paths"][path][verb]["responses"], (verb, path)


# --- admin-only routes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verb", "path", "body"),
    [
        ("PUT", "/api/v1/inventory/p1", {"available": 5}),
        ("GET", "/api/v1/inventory/p1", None),
        ("PUT", "/api/v1/accounts/alice", {"balance": "1000.00"}),
        ("POST", "/api/v1/orders/o-alice/ship", None),
        ("POST", "/api/v1/orders/o-alice/deliver", None),
        ("GET", "/api/v1/dead-letters", None),
        ("POST", "/api/v1/dead-letters/1/redrive", None),
    ],
)
def test_admin_only_routes_are_403_for_a_customer(client, keys, sidecar, verb, path, body):
    resp = client.request(verb, path, json=body, headers=as_customer(keys))
    assert assert_problem(resp, 403)["title"] == "Forbidden"
    assert sidecar.calls == []
    assert client.request(verb, path, json=body, headers=as_admin(keys)).status_code != 403
    assert sidecar.calls != []


def test_a_customer_is_refused_before_its_input_is_validated(client, keys, sidecar):
    resp = client.put("/api/v1/inventory/p%20x", json={"available": -1}, headers=as_customer(keys))
    assert_problem(resp, 403)


# --- a customer's own orders ------------------------------------------------------------------


def test_a_customer_reads_its_own_order(client, keys):
    resp = client.get("/api/v1/orders/o-alice", headers=as_customer(keys))
    assert resp.status_code == 200 and resp.json()["customerId"] == "alice"


def test_another_customers_order_is_a_404_like_a_missing_one(client, keys):
    other = client.get("/api/v1/orders/o-bob", headers=as_customer(keys))
    assert_problem(other, 404)
    assert other.json() == {
        "type": "about:blank",
        "title": "Order not found",
        "status": 404,
        "detail": "no order o-bob",
    }
    assert client.get("/api/v1/orders/o-bob", headers=as_admin(keys)).status_code == 200


def test_a_customer_cancels_its_own_order_only(client, keys, sidecar):
    own = client.post("/api/v1/orders/o-alice/cancel", headers=as_customer(keys))
    assert own.status_code == 200
    assert ("POST", ORDERS, "orders/o-alice/cancel", {}) in sidecar.calls
    assert_problem(client.post("/api/v1/orders/o-bob/cancel", headers=as_customer(keys)), 404)
    assert_problem(client.post("/api/v1/orders/o-none/cancel", headers=as_customer(keys)), 404)
    cancels = [c for c in sidecar.calls if c[0] == "POST"]
    assert cancels == [("POST", ORDERS, "orders/o-alice/cancel", {})]
    assert client.post("/api/v1/orders/o-bob/cancel", headers=as_admin(keys)).status_code == 200


def test_a_customer_places_orders_for_itself_only(client, keys, sidecar):
    for_bob = client.post(
        "/api/v1/orders", json={**VALID_ORDER, "customerId": "bob"}, headers=as_customer(keys)
    )
    assert assert_problem(for_bob, 403)["detail"] == "a customer places orders for itself only"
    assert sidecar.calls == []
    own = client.post(
        "/api/v1/orders", json={**VALID_ORDER, "customerId": "alice"}, headers=as_customer(keys)
    )
    assert own.status_code == 200, own.text  # the fake's own status
    by_admin = client.post(
        "/api/v1/orders", json={**VALID_ORDER, "customerId": "bob"}, headers=as_admin(keys)
    )
    assert by_admin.status_code == 200
    assert [c[:3] for c in sidecar.calls] == [("POST", ORDERS, "orders")] * 2


def test_a_customer_lists_its_own_orders_only(client, keys, sidecar):
    assert client.get("/api/v1/orders", headers=as_customer(keys)).status_code == 200
    mine = client.get("/api/v1/orders", params={"customerId": "alice"}, headers=as_customer(keys))
    assert mine.status_code == 200
    assert [c[3]["customerId"] for c in sidecar.calls] == ["alice", "alice"]
    theirs = client.get("/api/v1/orders", params={"customerId": "bob"}, headers=as_customer(keys))
    assert_problem(theirs, 403)
    assert len(sidecar.calls) == 2


def test_an_admin_lists_everyones_orders_or_one_customers(client, keys, sidecar):
    assert client.get("/api/v1/orders", headers=as_admin(keys)).status_code == 200
    assert "customerId" not in sidecar.calls[-1][3]
    assert client.get("/api/v1/orders", params={"customerId": "bob"}, headers=as_admin(keys))
    assert sidecar.calls[-1][3]["customerId"] == "bob"


def test_a_customer_counts_its_own_orders_only(client, keys, sidecar):
    client.get("/api/v1/order-counts", headers=as_customer(keys))
    assert sidecar.calls[-1][2:4] == ("orders/counts", {"customerId": "alice"})
    theirs = client.get(
        "/api/v1/order-counts", params={"customerId": "bob"}, headers=as_customer(keys)
    )
    assert_problem(theirs, 403)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/stuck-orders"),
        ("POST", "/api/v1/orders/o-1/drive"),
        ("GET", "/api/v1/orders/o-1/logs"),
        ("GET", "/api/v1/health"),
    ],
)
def test_operator_views_are_for_admins_only(client, keys, sidecar, method, path):
    assert_problem(client.request(method, path, headers=as_customer(keys)), 403)
    assert sidecar.calls == []


def test_the_console_page_answers_without_a_token_and_holds_no_data(client):
    page = client.get("/console")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'self'
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/console/app.js").status_code == 200
    assert client.get("/console/secret").status_code == 401  # only the three files are open


# --- balance, payments, notifications ---------------------------------------------------------


def test_a_customer_reads_its_own_balance_only(client, keys, sidecar):
    assert client.get("/api/v1/accounts/alice", headers=as_customer(keys)).status_code == 200
    other = client.get("/api/v1/accounts/bob", headers=as_customer(keys))
    assert assert_problem(other, 404)["detail"] == "no account for bob"
    assert [c[2] for c in sidecar.calls] == ["accounts/alice"]


def test_a_customer_sees_only_its_own_payments_and_notifications(client, keys):
    query = {"orderId": "o-x"}
    payments = client.get("/api/v1/payments", params=query, headers=as_customer(keys)).json()
    assert [p["paymentId"] for p in payments["items"]] == ["pa"]
    everyone = client.get("/api/v1/payments", params=query, headers=as_admin(keys)).json()
    assert [p["paymentId"] for p in everyone["items"]] == ["pa", "pb"]
    theirs = client.get(
        "/api/v1/notifications", params={"orderId": "o-bob"}, headers=as_customer(keys)
    )
    assert theirs.status_code == 200 and theirs.json()["items"] == []
    bob = client.get(
        "/api/v1/notifications", params={"orderId": "o-bob"}, headers=as_customer(keys, "bob")
    )
    assert len(bob.json()["items"]) == 1


def test_an_unreadable_owner_answer_is_a_502_not_a_leak(keys):
    sidecar = FakeSidecar(answers={("GET", ORDERS, "orders/o-1"): ["not", "an", "order"]})
    with TestClient(gateway(keys, sidecar), raise_server_exceptions=False) as client:
        resp = client.get("/api/v1/orders/o-1", headers=as_customer(keys))
    assert_problem(resp, 502)
