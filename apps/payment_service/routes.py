"""Payment HTTP API: public accounts and payments views, and the charge/refund methods the
order saga calls through Dapr service invocation."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Query

from apps.common.contracts import ChargePayment, Identifier, RefundPayment, SetFunds
from apps.common.db import Database
from apps.common.money import format_amount, from_cents
from apps.common.problems import Problem
from apps.payment_service import payments
from apps.payment_service.store import PaymentRecord

log = logging.getLogger(__name__)


def payment_view(p: PaymentRecord) -> dict[str, Any]:
    return {
        "paymentId": p.payment_id,
        "orderId": p.order_id,
        "customerId": p.customer_id,
        "amount": format_amount(from_cents(p.amount_cents)),
        "status": p.status,
        "reason": p.reason,
    }


def api_router(db: Database) -> APIRouter:
    router = APIRouter()

    @router.put("/accounts/{customer_id}")
    def put_account(customer_id: Identifier, body: SetFunds) -> dict[str, Any]:
        account = payments.set_balance(db, customer_id, body.balance)
        return {
            "customerId": account.customer_id,
            "balance": format_amount(from_cents(account.balance_cents)),
        }

    @router.get("/accounts/{customer_id}")
    def get_account(customer_id: Identifier) -> dict[str, Any]:
        account = payments.get_account(db, customer_id)
        if account is None:
            raise Problem(404, "Account not found", f"no account for {customer_id}")
        return {
            "customerId": account.customer_id,
            "balance": format_amount(from_cents(account.balance_cents)),
        }

    @router.get("/payments")
    def list_payments(order_id: Identifier = Query(alias="orderId")) -> dict[str, Any]:
        return {"items": [payment_view(p) for p in payments.payments_for_order(db, order_id)]}

    @router.post("/payments/charge")
    def charge(body: ChargePayment) -> dict[str, Any]:
        payment = payments.charge(db, body)
        log.info("charge: %s", payment.status, extra={"order_id": body.order_id})
        return payment_view(payment)

    @router.post("/payments/refund")
    def refund(body: RefundPayment) -> dict[str, Any]:
        payment = payments.refund(db, body.order_id, body.customer_id)
        log.info("refund: %s", payment.status, extra={"order_id": body.order_id})
        return payment_view(payment)

    return router
