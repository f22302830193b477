"""Saga v2's daily limit: the rule, the sum it is given, and the saga's path as v2 and as an
older version, driven by a fake workflow context."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from apps.common.contracts import PlaceOrder
from apps.order_service import commands, spending
from apps.order_service.store import Order, utcnow
from tests.unit.fake_workflow import FakeWorkflowContext, drive
from tests.unit.test_order_saga import CHARGED, ORDER, REFUNDED, STEPS
from workflows.limits import daily_limit, limit_verdict
from workflows.order_saga import order_saga
from workflows.steps import INVENTORY_RESERVED
from workflows.steps import Activity as A

LIMITED = {**ORDER, "dailyLimit": "100.00", "stockRequested": True, "stockResendSeconds": 5}
DENIED = {"allowed": False, "reason": "over the daily limit: ..."}


def run(order: dict, answers: dict, version: int = 2):
    ctx = FakeWorkflowContext()
    return drive(order_saga(ctx, order, version), ctx, answers)


def test_up_to_the_limit_is_allowed_and_one_cent_more_is_not():
    assert limit_verdict(Decimal("60.00"), Decimal("40.00"), Decimal("100.00"))["allowed"]
    refused = limit_verdict(Decimal("60.00"), Decimal("40.01"), Decimal("100.00"))
    assert refused == {
        "allowed": False,
        "reason": "over the daily limit: 60.00 spent in 24 h, 40.01 more would pass 100.00",
    }


def test_the_limit_is_read_as_an_amount_and_bad_values_are_refused():
    assert daily_limit({}) is None and daily_limit({"ORDER_DAILY_LIMIT": " "}) is None
    assert daily_limit({"ORDER_DAILY_LIMIT": "2500.50"}) == Decimal("2500.50")
    for bad in ("lots", "0", "-5", "1.005"):
        with pytest.raises(ValueError, match="ORDER_DAILY_LIMIT"):
            daily_limit({"ORDER_DAILY_LIMIT": bad})


def test_a_new_saga_checks_the_limit_before_payment():
    result = run(
        LIMITED, {A.CHECK_LIMIT: {"allowed": True, "reason": None}, A.TAKE_PAYMENT: CHARGED}
    )
    assert result.activities == [A.CHECK_LIMIT, A.TAKE_PAYMENT]
    assert result.inputs(A.CHECK_LIMIT) == [LIMITED]


def test_over_the_limit_releases_stock_and_takes_no_money():
    result = run(LIMITED, {A.CHECK_LIMIT: DENIED, **STEPS})
    assert result.activities == [
        A.CHECK_LIMIT,
        A.RECORD_PROGRESS,
        A.RELEASE_STOCK,
        A.FINISH_CANCELLED,
    ]
    (finish,) = result.inputs(A.FINISH_CANCELLED)
    assert finish["saga_status"] == "COMPENSATED" and finish["reason"] == DENIED["reason"]
    assert finish["compensated"] == [INVENTORY_RESERVED]


def test_a_resumed_saga_over_the_limit_voids_a_charge_that_may_have_landed():
    resumed = {**LIMITED, "resume": True}
    saga = {
        "status": "STARTED",
        "completedSteps": [],
        "cancelRequested": False,
        "failureReason": None,
    }
    answers = {
        A.LOAD_SAGA: saga,
        A.RESERVE_STOCK: True,
        A.CHECK_LIMIT: DENIED,
        A.REFUND_PAYMENT: REFUNDED,
        **STEPS,
    }
    result = run(resumed, answers)
    assert A.REFUND_PAYMENT in result.activities and A.TAKE_PAYMENT not in result.activities


def test_a_version_1_saga_never_checks_the_limit():
    result = run(LIMITED, {A.TAKE_PAYMENT: CHARGED}, version=1)
    assert result.activities == [A.TAKE_PAYMENT]


def test_no_limit_configured_means_no_check():
    order = {k: v for k, v in LIMITED.items() if k != "dailyLimit"}
    assert run(order, {A.TAKE_PAYMENT: CHARGED}).activities == [A.TAKE_PAYMENT]


def place(db, customer: str, price: str) -> str:
    body = {
        "customerId": customer,
        "items": [{"productId": "book", "quantity": 1, "unitPrice": price}],
    }
    row, _new = commands.place_order(db, PlaceOrder.model_validate(body), None, None)
    return row.order_id


def test_spent_counts_the_customers_orders_of_the_window_but_cancelled_ones_and_this_one(sqlite_db):
    this = place(sqlite_db, "alice", "10.00")
    place(sqlite_db, "alice", "20.50")
    cancelled = place(sqlite_db, "alice", "1000.00")
    place(sqlite_db, "bob", "7.00")
    with sqlite_db.session() as s:
        row = s.get(Order, cancelled)
        row.status = "CANCELLED"
        s.add(row)
        s.commit()
    since = utcnow() - timedelta(hours=24)
    assert spending.spent_since(sqlite_db, "alice", since, this) == Decimal("20.50")
    assert spending.spent_since(
        sqlite_db, "alice", utcnow() + timedelta(seconds=1), this
    ) == Decimal("0.00")
    assert spending.spent_since(sqlite_db, "carol", since, "none") == Decimal("0.00")
