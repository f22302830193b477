"""The gateway's authentication, authorisation and limits on the running stack: a request without
a valid token changes nothing, a customer reaches only what is its own, admin-only operations
refuse customers, a client over its rate is slowed down alone, and an oversized chunked body is
refused. The rules themselves are unit tested (tests/unit/test_auth_*.py); here they meet the
real services."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from apps.gateway.settings import RateLimitSettings, TokenSettings
from apps.gateway.tokens import Role, load_private_key, mint_token
from tests.integration.conftest import GATEWAY
from tests.integration.helpers import balance, fund, inventory, place, stock, wait_for

ORIGIN = GATEWAY.removesuffix("/api/v1")


def assert_problem(resp: httpx.Response, status: int) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["status"] == status
    return resp.json()


def assert_unauthorized(resp: httpx.Response, invalid_token: bool) -> None:
    assert_problem(resp, 401)
    challenge = resp.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="order-platform"'), challenge
    assert ('error="invalid_token"' in challenge) is invalid_token, challenge


def token(key: ec.EllipticCurvePrivateKey, issued: datetime, **claims: str) -> dict[str, str]:
    settings = TokenSettings.from_env()
    signed = mint_token(
        key,
        subject=claims.get("subject", "mallory"),
        role=Role.ADMIN,
        issuer=claims.get("issuer", settings.issuer),
        audience=claims.get("audience", settings.audience),
        lifetime=timedelta(minutes=10),
        now=issued,
    )
    return {"Authorization": f"Bearer {signed}"}


def bad_tokens() -> Iterator[dict[str, str]]:
    ours, now = load_private_key(TokenSettings.from_env().private_key_file), datetime.now(UTC)
    yield {"Authorization": "Bearer not-a-token"}
    yield token(ec.generate_private_key(ec.SECP256R1()), now)  # signed by another key
    yield token(ours, now - timedelta(hours=1))  # expired
    yield token(ours, now, issuer="someone-else")
    yield token(ours, now, audience="another-api")


def test_without_a_valid_token_every_call_is_401_and_nothing_changes(api, anonymous, unique):
    product, customer = f"p-{unique}", f"c-{unique}"
    order = {
        "customerId": customer,
        "items": [{"productId": product, "quantity": 1, "unitPrice": "1.00"}],
    }
    assert_unauthorized(anonymous.put(f"/inventory/{product}", json={"available": 5}), False)
    assert_unauthorized(anonymous.put(f"/accounts/{customer}", json={"balance": "9.00"}), False)
    assert_unauthorized(anonymous.post("/orders", json=order), False)
    assert_unauthorized(anonymous.get("/orders", params={"customerId": customer}), False)
    for headers in bad_tokens():
        resp = anonymous.put(f"/inventory/{product}", json={"available": 5}, headers=headers)
        assert_unauthorized(resp, True)
        assert_unauthorized(anonymous.post("/orders", json=order, headers=headers), True)

    assert_problem(api.get(f"/inventory/{product}"), 404)
    assert_problem(api.get(f"/accounts/{customer}"), 404)
    assert api.get("/orders", params={"customerId": customer}).json()["items"] == []


def test_probes_and_the_openapi_document_need_no_token(stack):
    assert httpx.get(f"{ORIGIN}/healthz", timeout=10).status_code == 200
    doc = httpx.get(f"{ORIGIN}/openapi.json", timeout=10).json()
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_a_customer_reaches_only_its_own_orders(api, as_customer, unique):
    product, a, b = f"p-{unique}", f"alice-{unique}", f"bob-{unique}"
    stock(api, product, 10)
    fund(api, a, "100.00")
    fund(api, b, "100.00")
    alice, bob = as_customer(a), as_customer(b)
    mine = place(alice, a, [(product, 1, "2.00")])
    theirs = place(bob, b, [(product, 1, "3.00")])
    assert mine.status_code == theirs.status_code == 202, (mine.text, theirs.text)
    mine_id, theirs_id = mine.json()["orderId"], theirs.json()["orderId"]

    assert alice.get(f"/orders/{mine_id}").json()["customerId"] == a
    hidden = assert_problem(alice.get(f"/orders/{theirs_id}"), 404)
    missing = assert_problem(alice.get(f"/orders/no-such-{unique}"), 404)
    assert hidden["title"] == missing["title"]  # someone else's order looks absent
    assert_problem(alice.post(f"/orders/{theirs_id}/cancel"), 404)

    assert wait_for(api, theirs_id)["status"] == "CONFIRMED"  # the cancel did nothing
    for params in ({}, {"customerId": a}):  # its own by default, or named
        listed = alice.get("/orders", params=params).json()["items"]
        assert [o["orderId"] for o in listed] == [mine_id], params
    assert_problem(alice.get("/orders", params={"customerId": b}), 403)

    wait_for(api, mine_id)
    own_payments = alice.get("/payments", params={"orderId": mine_id}).json()["items"]
    assert [p["orderId"] for p in own_payments] == [mine_id]
    assert alice.get("/payments", params={"orderId": theirs_id}).json()["items"] == []
    assert alice.get("/notifications", params={"orderId": theirs_id}).json()["items"] == []
    assert alice.get(f"/accounts/{a}").json()["balance"] == "98.00"
    assert_problem(alice.get(f"/accounts/{b}"), 404)


def test_a_customer_can_cancel_its_own_order(api, as_customer, unique):
    product, a = f"p-{unique}", f"alice-{unique}"
    stock(api, product, 10)
    fund(api, a, "100.00")
    alice = as_customer(a)
    order_id = place(alice, a, [(product, 1, "2.00")]).json()["orderId"]
    wait_for(api, order_id)
    assert alice.post(f"/orders/{order_id}/cancel").status_code == 202
    assert wait_for(api, order_id, {"CANCELLED"})["status"] == "CANCELLED"


def test_a_customer_cannot_set_stock_or_balances(api, as_customer, unique):
    product, a = f"p-{unique}", f"alice-{unique}"
    stock(api, product, 3)
    fund(api, a, "1.00")
    alice = as_customer(a)
    assert_problem(alice.put(f"/inventory/{product}", json={"available": 1000}), 403)
    assert_problem(alice.put(f"/accounts/{a}", json={"balance": "1000000.00"}), 403)
    assert_problem(alice.get(f"/inventory/{product}"), 403)
    assert_problem(alice.get("/dead-letters"), 403)
    assert inventory(api, product)["available"] == 3
    assert str(balance(api, a)) == "1.00"


def test_a_customer_cannot_place_an_order_for_another_customer(api, as_customer, unique):
    product, a, b = f"p-{unique}", f"alice-{unique}", f"bob-{unique}"
    stock(api, product, 10)
    fund(api, b, "100.00")
    resp = place(as_customer(a), b, [(product, 1, "2.00")])
    assert_problem(resp, 403)
    assert api.get("/orders", params={"customerId": b}).json()["items"] == []
    assert inventory(api, product) == {"productId": product, "available": 10, "reserved": 0}


def test_a_client_over_its_rate_gets_429_while_another_is_unaffected(as_customer, unique):
    """A bucket of `burst` tokens regaining `per_second` admits at most burst + per_second * t
    requests in t seconds: sending faster than that must meet a 429. The limits are the ones the
    stack was started with (this process's environment, or the defaults)."""
    limits = RateLimitSettings.from_env()
    fast, calm = as_customer(f"fast-{unique}"), as_customer(f"calm-{unique}")
    cheap = f"/accounts/someone-else-{unique}"  # answered by the gateway itself (404)
    started, sent, refused = time.monotonic(), 0, None
    while refused is None:
        elapsed = time.monotonic() - started
        assert sent <= limits.burst + limits.per_second * elapsed + 20, f"no 429 after {sent}"
        assert elapsed < 60, f"could not outpace {limits.per_second}/s: {sent} sent"
        resp = fast.get(cheap)
        sent += 1
        if resp.status_code == 429:
            refused = resp
        else:
            assert resp.status_code == 404, resp.text
    assert_problem(refused, 429)
    assert int(refused.headers["retry-after"]) >= 1
    assert sent > limits.burst  # never refused before its burst was spent
    assert calm.get(f"/accounts/calm-{unique}").status_code == 404  # its own bucket: no 429


def test_an_oversized_chunked_body_is_413_and_creates_nothing(api, unique):
    customer = f"c-{unique}"

    def chunks() -> Iterator[bytes]:  # no length known up front: sent chunked
        yield b'{"customerId": "' + customer.encode() + b'", "pad": "'
        for _ in range(1024):
            yield b"x" * 1024
        yield b'"}'

    resp = api.post("/orders", content=chunks(), headers={"content-type": "application/json"})
    assert resp.request.headers.get("transfer-encoding") == "chunked"
    assert_problem(resp, 413)
    assert api.get("/orders", params={"customerId": customer}).json()["items"] == []
