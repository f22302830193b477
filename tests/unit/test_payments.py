"""Payment rules on a real SQLite database."""

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from apps.common.contracts import ChargePayment
from apps.common.problems import install_problem_handlers
from apps.payment_service import payments
from apps.payment_service.routes import api_router


def charge(db, order_id: str, amount: str, customer: str = "c1"):
    return payments.charge(
        db, ChargePayment(order_id=order_id, customer_id=customer, amount=Decimal(amount))
    )


def balance(db, customer: str = "c1") -> int:
    return payments.get_account(db, customer).balance_cents


def test_charge_is_idempotent_per_order(sqlite_db):
    payments.set_balance(sqlite_db, "c1", Decimal("10.00"))
    first = charge(sqlite_db, "o1", "4.00")
    again = charge(sqlite_db, "o1", "4.00")
    assert first.status == again.status == "CHARGED" and first.payment_id == again.payment_id
    assert balance(sqlite_db) == 600


def test_insufficient_funds_and_missing_account_are_declined(sqlite_db):
    payments.set_balance(sqlite_db, "c1", Decimal("1.00"))
    assert charge(sqlite_db, "o1", "1.01").status == "DECLINED"
    assert charge(sqlite_db, "o2", "1.00", customer="ghost").reason.startswith("no account")
    assert balance(sqlite_db) == 100


def test_refund_once_and_refund_before_charge_voids_it(sqlite_db):
    payments.set_balance(sqlite_db, "c1", Decimal("10.00"))
    charge(sqlite_db, "o1", "3.00")
    assert payments.refund(sqlite_db, "o1", "c1").status == "REFUNDED"
    assert payments.refund(sqlite_db, "o1", "c1").status == "REFUNDED"
    assert balance(sqlite_db) == 1000
    payments.refund(sqlite_db, "o2", "c1")
    assert charge(sqlite_db, "o2", "3.00").status == "DECLINED"
    assert balance(sqlite_db) == 1000


def test_concurrent_charges_never_overdraw(sqlite_db):
    payments.set_balance(sqlite_db, "c1", Decimal("5.00"))
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: charge(sqlite_db, f"o{i}", "1.00"), range(20)))
    assert sum(r.status == "CHARGED" for r in results) == 5
    assert balance(sqlite_db) == 0


def test_amounts_beyond_32_bits_are_charged_and_refunded_exactly(sqlite_db):
    payments.set_balance(sqlite_db, "c1", Decimal("50000000.00"))
    assert charge(sqlite_db, "o1", "30000000.00").amount_cents == 3_000_000_000
    assert balance(sqlite_db) == 2_000_000_000
    payments.refund(sqlite_db, "o1", "c1")
    assert balance(sqlite_db) == 5_000_000_000


def payment_service(db) -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(api_router(db))
    return TestClient(app)


@pytest.mark.parametrize(
    "amount", ["-1000.00", "0", "0.00", "1.001", "NaN", "1e3", "100000000000.01", None, True]
)
def test_a_bad_charge_is_a_problem_and_never_applied(sqlite_db, amount):
    payments.set_balance(sqlite_db, "c1", Decimal("10.00"))
    body = {"orderId": "o1", "customerId": "c1", "amount": amount}
    resp = payment_service(sqlite_db).post("/payments/charge", json=body)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert balance(sqlite_db) == 1000
    assert payments.payments_for_order(sqlite_db, "o1") == []


@pytest.mark.parametrize(
    "body",
    [
        {"orderId": "o 1", "customerId": "c1"},
        {"orderId": "o1", "customerId": "c" * 65},
        {"orderId": "o1", "customerId": None},
        {"orderId": "o1", "customerId": "c1", "amount": "5.00"},
    ],
)
def test_a_bad_refund_is_a_problem_and_records_nothing(sqlite_db, body):
    resp = payment_service(sqlite_db).post("/payments/refund", json=body)
    assert resp.status_code == 422, resp.text
    assert payments.payments_for_order(sqlite_db, "o1") == []


def test_every_payment_record_can_be_listed(sqlite_db):
    """A refund before its charge leaves a DECLINED record of 0.00 with a reason; a charge
    without an account one without a balance: all of them list (no 500)."""
    payments.set_balance(sqlite_db, "c1", Decimal("10.00"))
    client = payment_service(sqlite_db)
    client.post("/payments/refund", json={"orderId": "o1", "customerId": "c1"})
    client.post("/payments/charge", json={"orderId": "o2", "customerId": "c9", "amount": "1"})
    client.post("/payments/charge", json={"orderId": "o3", "customerId": "c1", "amount": "2.5"})
    views = {o: client.get("/payments", params={"orderId": o}) for o in ("o1", "o2", "o3")}
    assert {o: r.status_code for o, r in views.items()} == {"o1": 200, "o2": 200, "o3": 200}
    assert [(p["status"], p["amount"]) for p in views["o1"].json()["items"]] == [
        ("DECLINED", "0.00")
    ]
    assert views["o2"].json()["items"][0]["reason"] == "no account for customer c9"
    assert views["o3"].json()["items"][0]["amount"] == "2.50"
    assert client.get("/payments", params={"orderId": "o\x03"}).status_code == 422
