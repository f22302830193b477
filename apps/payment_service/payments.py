"""Charging and refunding: balances never go below zero, each order is charged at most once."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from apps.common.contracts import ChargePayment
from apps.common.db import Database
from apps.common.money import to_cents
from apps.payment_service.store import Account, Payment, utcnow


def charge(db: Database, cmd: ChargePayment) -> Payment:
    amount = to_cents(cmd.amount)
    with db.session() as s:
        existing = s.exec(select(Payment).where(Payment.order_id == cmd.order_id)).first()
        if existing is not None:
            return existing
        debited = s.execute(
            update(Account)
            .where(col(Account.customer_id) == cmd.customer_id)
            .where(col(Account.balance_cents) >= amount)
            .values(balance_cents=Account.balance_cents - amount)
        ).rowcount
        if debited == 1:
            payment = Payment(
                order_id=cmd.order_id,
                customer_id=cmd.customer_id,
                amount_cents=amount,
                status="CHARGED",
            )
        else:
            reason = (
                "insufficient funds"
                if s.get(Account, cmd.customer_id) is not None
                else f"no account for customer {cmd.customer_id}"
            )
            payment = Payment(
                order_id=cmd.order_id,
                customer_id=cmd.customer_id,
                amount_cents=amount,
                status="DECLINED",
                reason=reason,
            )
        s.add(payment)
        try:
            s.commit()
        except IntegrityError:  # the same charge raced us and won: the debit is rolled back
            s.rollback()
            return _by_order(db, cmd.order_id)
        return payment


def refund(db: Database, order_id: str, customer_id: str) -> Payment:
    """Refunds a charge once. A refund that arrives before its charge (the charge timed out on the
    caller's side) records a DECLINED payment, so the late charge cannot take money any more."""
    with db.session() as s:
        # FOR UPDATE: two refunds of one order (saga and cancellation) must credit once.
        by_order = select(Payment).where(Payment.order_id == order_id).with_for_update()
        payment = s.exec(by_order).first()
        if payment is None:
            payment = Payment(
                order_id=order_id,
                customer_id=customer_id,
                amount_cents=0,
                status="DECLINED",
                reason="cancelled before payment",
            )
            s.add(payment)
            try:
                s.commit()
                return payment
            except IntegrityError:
                s.rollback()
                payment = s.exec(by_order).one()
        if payment.status != "CHARGED":
            return payment
        s.execute(
            update(Account)
            .where(col(Account.customer_id) == payment.customer_id)
            .values(balance_cents=Account.balance_cents + payment.amount_cents)
        )
        payment.status, payment.updated_at = "REFUNDED", utcnow()
        s.add(payment)
        s.commit()
        return payment


def set_balance(db: Database, customer_id: str, balance: Decimal) -> Account:
    with db.session() as s:
        account = s.get(Account, customer_id) or Account(customer_id=customer_id)
        account.balance_cents = to_cents(balance)
        s.add(account)
        s.commit()
        return account


def get_account(db: Database, customer_id: str) -> Account | None:
    with db.session() as s:
        return s.get(Account, customer_id)


def payments_for_order(db: Database, order_id: str) -> list[Payment]:
    with db.session() as s:
        return list(s.exec(select(Payment).where(Payment.order_id == order_id)).all())


def _by_order(db: Database, order_id: str) -> Payment:
    with db.session() as s:
        return s.exec(select(Payment).where(Payment.order_id == order_id)).one()
