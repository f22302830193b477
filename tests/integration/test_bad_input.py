"""Bad input answers 4xx application/problem+json and creates nothing."""

from __future__ import annotations

import json

import pytest

GOOD_LINE = {"productId": "p1", "quantity": 1, "unitPrice": "1.00"}


def body(customer: str, **line: object) -> dict:
    return {"customerId": customer, "items": [{**GOOD_LINE, **line}]}


CASES = {
    "quantity zero": lambda c: body(c, quantity=0),
    "quantity too big": lambda c: body(c, quantity=1001),
    "quantity as string": lambda c: body(c, quantity="2"),
    "quantity fractional": lambda c: body(c, quantity=1.5),
    "negative price": lambda c: body(c, unitPrice="-1.00"),
    "three decimals": lambda c: body(c, unitPrice="1.005"),
    "price NaN": lambda c: body(c, unitPrice="NaN"),
    "price Infinity": lambda c: body(c, unitPrice="Infinity"),
    "price boolean": lambda c: body(c, unitPrice=True),
    "price garbage": lambda c: body(c, unitPrice="ten"),
    "empty product id": lambda c: body(c, productId=""),
    "long product id": lambda c: body(c, productId="x" * 65),
    "no items": lambda c: {"customerId": c, "items": []},
    "too many items": lambda c: {"customerId": c, "items": [GOOD_LINE] * 101},
    "missing customer": lambda c: {"items": [GOOD_LINE]},
    "unknown field": lambda c: {**body(c), "discount": "5"},
    "items not a list": lambda c: {"customerId": c, "items": "p1"},
    "body is a list": lambda c: [body(c)],
}


@pytest.mark.parametrize("case", list(CASES))
def test_invalid_order_is_rejected_and_nothing_is_created(api, unique, case):
    customer = f"bad-{unique}"
    resp = api.post("/orders", json=CASES[case](customer))
    assert 400 <= resp.status_code < 500, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["status"] == resp.status_code
    assert api.get("/orders", params={"customerId": customer}).json()["items"] == []


@pytest.mark.parametrize("raw", [b"{", b"not json", b"", b'{"customerId": "x", "items": [}'])
def test_malformed_json_is_a_problem(api, raw):
    resp = api.post("/orders", content=raw, headers={"content-type": "application/json"})
    assert resp.status_code in (400, 422)
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_oversized_body_is_413(api, unique):
    huge = body(f"big-{unique}", productId="p" * 10)
    raw = json.dumps({**huge, "pad": "x" * 400_000}).encode()
    resp = api.post("/orders", content=raw, headers={"content-type": "application/json"})
    assert resp.status_code == 413
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_long_customer_id_and_bad_stock_and_funds(api, unique):
    assert api.post("/orders", json=body("c" * 65)).status_code == 422
    assert api.put(f"/inventory/p-{unique}", json={"available": -1}).status_code == 422
    assert api.put(f"/inventory/p-{unique}", json={"available": "3"}).status_code == 422
    assert api.put(f"/accounts/c-{unique}", json={"balance": "-0.01"}).status_code == 422
    assert api.put(f"/accounts/c-{unique}", json={"balance": "1.001"}).status_code == 422
    assert api.get(f"/inventory/p-{unique}").status_code == 404
    assert api.get(f"/accounts/c-{unique}").status_code == 404


def test_unit_price_as_number_is_exact(api, unique):
    resp = api.post(
        "/orders",
        json={
            "customerId": f"n-{unique}",
            "items": [{"productId": f"p-{unique}", "quantity": 3, "unitPrice": 0.1}],
        },
    )
    assert resp.status_code == 202
    assert resp.json()["totalAmount"] == "0.30"
