"""Payment rules on a real SQLite database."""

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from apps.common.contracts import ChargePayment
from apps.payment_service import payments


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
