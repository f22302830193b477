"""Charging and refunding: balances never go below zero, each order is charged at most once.

Charge and refund run prebuilt Core statements on one connection in one transaction
(Database.write): no ORM unit of work. Both take the order's payment row first, then the
account's, so they never deadlock; balances change only by conditional UPDATEs.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import BindParameter, Connection, bindparam, select, update

from apps.common.contracts import ChargePayment
from apps.common.db import AnyRow, Database, insert_absent
from apps.common.money import to_cents
from apps.payment_service.store import (
    ACCOUNT,
    PAYMENT,
    RECORD_COLUMNS,
    Account,
    PaymentRecord,
    new_payment_id,
    utcnow,
)

_by_customer = ACCOUNT.c.customer_id == bindparam("customer_id_")
_by_order = PAYMENT.c.order_id == bindparam("order_id_")
_cents: BindParameter[int] = bindparam("cents")

DEBIT = (
    update(ACCOUNT)
    .where(_by_customer, ACCOUNT.c.balance_cents >= _cents)
    .values(balance_cents=ACCOUNT.c.balance_cents - _cents)
)
CREDIT = update(ACCOUNT).where(_by_customer).values(balance_cents=ACCOUNT.c.balance_cents + _cents)
ACCOUNT_VIEW = select(ACCOUNT.c.customer_id, ACCOUNT.c.balance_cents).where(_by_customer)
BY_ORDER = select(*RECORD_COLUMNS).where(_by_order)
DECLINE = (
    update(PAYMENT)
    .where(PAYMENT.c.payment_id == bindparam("payment_id_"))
    .values(status="DECLINED", reason=bindparam("reason_"), updated_at=bindparam("now"))
)
# A conditional UPDATE waits for the row lock and re-checks the status: one refund per charge.
REFUND = (
    update(PAYMENT)
    .where(_by_order, PAYMENT.c.status == "CHARGED")
    .values(status="REFUNDED", updated_at=bindparam("now"))
    .returning(*RECORD_COLUMNS)
)


def charge(db: Database, cmd: ChargePayment) -> PaymentRecord:
    amount = to_cents(cmd.amount)
    payment = PaymentRecord(new_payment_id(), cmd.order_id, cmd.customer_id, amount, "CHARGED")
    now = utcnow()
    with db.write() as conn:
        # The payment row first: it is the order's idempotency record. If it exists (charged
        # before, or refunded before the charge came) this charge changes nothing.
        if not insert_absent(conn, PAYMENT, payment.row(now)):
            return _by_order_id(conn, cmd.order_id)
        debit = {"customer_id_": cmd.customer_id, "cents": amount}
        if conn.execute(DEBIT, debit).rowcount == 1:
            return payment
        has_account = conn.execute(ACCOUNT_VIEW, debit).first() is not None
        reason = (
            "insufficient funds" if has_account else f"no account for customer {cmd.customer_id}"
        )
        conn.execute(DECLINE, {"payment_id_": payment.payment_id, "reason_": reason, "now": now})
        return PaymentRecord(
            payment.payment_id, cmd.order_id, cmd.customer_id, amount, "DECLINED", reason
        )


def refund(db: Database, order_id: str, customer_id: str) -> PaymentRecord:
    """Refunds a charge once. A refund that arrives before its charge (the charge timed out on the
    caller's side) records a DECLINED payment, so the late charge cannot take money any more."""
    with db.write() as conn:
        refunded = _refund_charge(conn, order_id)
        if refunded is not None:
            return refunded
        void = PaymentRecord(
            new_payment_id(), order_id, customer_id, 0, "DECLINED", "cancelled before payment"
        )
        if insert_absent(conn, PAYMENT, void.row(utcnow())):
            return void
        # The order has a payment: not a charge, or one committed just now (PostgreSQL).
        return _refund_charge(conn, order_id) or _by_order_id(conn, order_id)


def set_balance(db: Database, customer_id: str, balance: Decimal) -> Account:
    with db.session() as s:
        account = s.get(Account, customer_id) or Account(customer_id=customer_id)
        account.balance_cents = to_cents(balance)
        s.add(account)
        s.commit()
        return account


def get_account(db: Database, customer_id: str) -> AnyRow | None:
    """The account (customer_id, balance_cents), or None."""
    with db.read() as conn:
        return conn.execute(ACCOUNT_VIEW, {"customer_id_": customer_id}).first()


def payments_for_order(db: Database, order_id: str) -> list[PaymentRecord]:
    with db.read() as conn:
        rows = conn.execute(BY_ORDER, {"order_id_": order_id})
        return [PaymentRecord(*row) for row in rows]


def _refund_charge(conn: Connection, order_id: str) -> PaymentRecord | None:
    row = conn.execute(REFUND, {"order_id_": order_id, "now": utcnow()}).first()
    if row is None:
        return None
    conn.execute(CREDIT, {"customer_id_": row.customer_id, "cents": row.amount_cents})
    return PaymentRecord(*row)


def _by_order_id(conn: Connection, order_id: str) -> PaymentRecord:
    return PaymentRecord(*conn.execute(BY_ORDER, {"order_id_": order_id}).one())
