"""The saga's decisions, every branch, driven by a fake workflow context (no sidecar)."""

from __future__ import annotations

import pytest

from tests.unit.fake_workflow import FakeWorkflowContext, drive
from workflows.order_saga import CANCELLED_BY_REQUEST, TRANSIENT, order_saga
from workflows.steps import INVENTORY_RESERVED, NOTIFICATION_SENT, PAYMENT_PROCESSED
from workflows.steps import Activity as A

ORDER = {
    "orderId": "order-1",
    "customerId": "alice",
    "totalAmount": "25.00",
    "items": [{"productId": "book", "quantity": 2}],
    "traceparent": None,
    "stockTimeoutSeconds": 30,
    "paymentDeadlineSeconds": 20,
}
CHARGED = {"status": "CHARGED", "cancelRequested": False, "confirmed": True}
# What take_payment answered before it confirmed the order itself (histories of that time).
CHARGED_BEFORE = {"status": "CHARGED", "cancelRequested": False}
UNAVAILABLE = {"status": "UNAVAILABLE", "reason": "payment service unreachable"}
REFUNDED = {"status": "REFUNDED"}
STEPS = {A.RECORD_PROGRESS: False, A.RELEASE_STOCK: None, A.FINISH_CANCELLED: None}


def run_saga(answers: dict, stock: dict | str = "reserved", **order: object):
    ctx = FakeWorkflowContext()
    return drive(order_saga(ctx, {**ORDER, **order}), ctx, answers, stock)


def ending(result) -> dict:
    (finish,) = result.inputs(A.FINISH_CANCELLED)
    return {k: finish[k] for k in ("saga_status", "reason", "compensated")}


def test_happy_path_reserves_then_charges_and_confirms_in_one_step():
    result = run_saga({A.RESERVE_STOCK: True, A.TAKE_PAYMENT: CHARGED})
    assert result.activities == [A.RESERVE_STOCK, A.TAKE_PAYMENT]


SENT = {"stockRequested": True, "stockResendSeconds": 5}  # order-service sent the command


def test_a_reservation_sent_when_the_order_was_placed_needs_no_activity_to_send_it():
    result = run_saga({A.TAKE_PAYMENT: CHARGED}, **SENT)
    assert result.activities == [A.TAKE_PAYMENT]
    assert result.stock_waits == 1


def test_no_reply_soon_to_the_command_sent_at_placing_sends_it_again():
    # The command may never have gone out (broker down while the order was placed).
    result = run_saga(
        {A.RESERVE_STOCK: True, A.TAKE_PAYMENT: CHARGED}, ["timeout", "reserved"], **SENT
    )
    assert result.activities == [A.RESERVE_STOCK, A.TAKE_PAYMENT]
    assert result.stock_waits == 2


def test_no_reply_to_the_command_sent_again_either_releases_what_may_be_reserved():
    result = run_saga({A.RESERVE_STOCK: True, **STEPS}, ["timeout", "timeout"], **SENT)
    assert result.activities == [
        A.RESERVE_STOCK,
        A.RECORD_PROGRESS,
        A.RELEASE_STOCK,
        A.FINISH_CANCELLED,
    ]
    assert ending(result)["reason"] == "stock reservation timed out"


def test_cancel_while_waiting_for_the_reply_to_the_command_sent_at_placing():
    result = run_saga(STEPS, "cancel", **SENT)
    assert result.activities == [A.RECORD_PROGRESS, A.RELEASE_STOCK, A.FINISH_CANCELLED]
    assert ending(result)["reason"] == CANCELLED_BY_REQUEST


def test_a_history_from_before_the_merged_step_still_confirms_on_its_own():
    result = run_saga(
        {A.RESERVE_STOCK: True, A.TAKE_PAYMENT: CHARGED_BEFORE, A.CONFIRM_ORDER: True}
    )
    assert result.activities == [A.RESERVE_STOCK, A.TAKE_PAYMENT, A.CONFIRM_ORDER]


def test_every_activity_is_retried_by_the_engine_on_transient_faults():
    result = run_saga({A.RESERVE_STOCK: True, A.TAKE_PAYMENT: CHARGED})
    assert all(c.retry_policy is TRANSIENT for c in result.calls if c.kind == "activity")
    policy = TRANSIENT.obj
    assert policy.max_number_of_attempts > 1 and policy.max_retry_interval is not None


def test_out_of_stock_fails_without_compensating():
    reply = {"orderId": "order-1", "reserved": False, "reason": "insufficient stock for book"}
    result = run_saga({A.RESERVE_STOCK: True, **STEPS}, stock=reply)
    assert result.activities == [A.RESERVE_STOCK, A.FINISH_CANCELLED]
    assert ending(result) == {
        "saga_status": "FAILED",
        "reason": "insufficient stock for book",
        "compensated": [],
    }


def test_stock_timeout_releases_what_may_still_be_reserved():
    result = run_saga({A.RESERVE_STOCK: True, **STEPS}, stock="timeout")
    assert result.activities == [
        A.RESERVE_STOCK,
        A.RECORD_PROGRESS,
        A.RELEASE_STOCK,
        A.FINISH_CANCELLED,
    ]
    assert ending(result) == {
        "saga_status": "COMPENSATED",
        "reason": "stock reservation timed out",
        "compensated": [INVENTORY_RESERVED],
    }


def test_cancel_while_waiting_for_stock():
    result = run_saga({A.RESERVE_STOCK: True, **STEPS}, stock="cancel")
    assert A.TAKE_PAYMENT not in result.activities
    assert ending(result)["reason"] == CANCELLED_BY_REQUEST
    assert result.activities[-2:] == [A.RELEASE_STOCK, A.FINISH_CANCELLED]


def test_payment_declined_releases_stock_and_refunds_nothing():
    declined = {"status": "DECLINED", "reason": "insufficient funds"}
    result = run_saga({A.RESERVE_STOCK: True, A.TAKE_PAYMENT: declined, **STEPS})
    assert A.REFUND_PAYMENT not in result.activities
    assert ending(result) == {
        "saga_status": "COMPENSATED",
        "reason": "payment declined: insufficient funds",
        "compensated": [INVENTORY_RESERVED],
    }


def test_cancel_seen_at_the_payment_step_voids_a_charge_whose_answer_was_lost():
    # A first attempt may have charged and crashed before answering; the repeated attempt then
    # sees the cancel. The void (an idempotent refund) gives back whatever was taken.
    cancelled = {"status": "CANCELLED", "reason": CANCELLED_BY_REQUEST}
    answers = {A.RESERVE_STOCK: True, A.TAKE_PAYMENT: cancelled, A.REFUND_PAYMENT: REFUNDED}
    result = run_saga({**answers, **STEPS})
    assert result.activities[-3:] == [A.RELEASE_STOCK, A.REFUND_PAYMENT, A.FINISH_CANCELLED]
    assert ending(result)["reason"] == CANCELLED_BY_REQUEST


def test_cancel_seen_after_charging_refunds_then_releases():
    charged = {"status": "CHARGED", "cancelRequested": True}
    answers = {A.RESERVE_STOCK: True, A.TAKE_PAYMENT: charged, A.REFUND_PAYMENT: REFUNDED}
    result = run_saga({**answers, **STEPS})
    assert result.activities[-3:] == [A.RELEASE_STOCK, A.REFUND_PAYMENT, A.FINISH_CANCELLED]
    assert ending(result)["compensated"] == [PAYMENT_PROCESSED, INVENTORY_RESERVED]


@pytest.mark.parametrize(
    "answers",
    [
        {A.TAKE_PAYMENT: {**CHARGED, "confirmed": False}},
        {A.TAKE_PAYMENT: CHARGED_BEFORE, A.CONFIRM_ORDER: False},
    ],
)
def test_cancel_that_wins_against_confirmation_compensates_everything(answers):
    answers = {A.RESERVE_STOCK: True, **answers}
    result = run_saga({**answers, A.REFUND_PAYMENT: REFUNDED, **STEPS})
    assert A.REFUND_PAYMENT in result.activities and A.RELEASE_STOCK in result.activities
    assert ending(result)["reason"] == CANCELLED_BY_REQUEST


def test_short_payment_outage_is_waited_out_with_timers_then_charged():
    answers = {A.RESERVE_STOCK: True, A.TAKE_PAYMENT: [UNAVAILABLE, UNAVAILABLE, CHARGED]}
    result = run_saga(answers)
    assert result.activities == [A.RESERVE_STOCK] + [A.TAKE_PAYMENT] * 3
    assert result.timers == [1.0, 2.0]  # durable timers between attempts, no sleeping activity


def test_payment_outage_past_the_deadline_releases_stock_first_then_voids_durably():
    answers = {
        A.RESERVE_STOCK: True,
        A.TAKE_PAYMENT: UNAVAILABLE,  # every attempt, until the deadline
        A.REFUND_PAYMENT: [UNAVAILABLE, UNAVAILABLE, UNAVAILABLE, {"status": "DECLINED"}],
    }
    result = run_saga({**answers, **STEPS}, paymentDeadlineSeconds=20)
    charges = result.activities.count(A.TAKE_PAYMENT)
    assert 2 <= charges <= 8  # 1+2+4+8+15 s of timers: past 20 s after the fifth attempt
    after = result.activities[result.activities.index(A.RECORD_PROGRESS) :]
    assert after == [A.RECORD_PROGRESS, A.RELEASE_STOCK] + [A.REFUND_PAYMENT] * 4 + [
        A.FINISH_CANCELLED
    ]
    assert ending(result)["reason"].startswith("payment unavailable")
    assert ending(result)["compensated"] == [INVENTORY_RESERVED]


def test_a_saga_that_is_not_in_progress_any_more_changes_nothing():
    assert run_saga({A.RESERVE_STOCK: False}).activities == [A.RESERVE_STOCK]


def saga_state(status: str, completed: list[str], cancel: bool = False, reason: str | None = None):
    return {
        "status": status,
        "completedSteps": completed,
        "cancelRequested": cancel,
        "failureReason": reason,
    }


def test_resumed_saga_in_progress_goes_on_from_the_start():
    answers = {
        A.LOAD_SAGA: saga_state("STARTED", [INVENTORY_RESERVED]),
        A.RESERVE_STOCK: True,  # idempotent: inventory answers again for the same order
        A.TAKE_PAYMENT: CHARGED,  # idempotent per order
    }
    result = run_saga(answers, resume=True)
    assert result.activities == [A.LOAD_SAGA, A.RESERVE_STOCK, A.TAKE_PAYMENT]


@pytest.mark.parametrize(
    ("state", "compensated"),
    [
        (saga_state("STARTED", [], cancel=True), [INVENTORY_RESERVED]),
        (
            saga_state("COMPENSATING", [INVENTORY_RESERVED], reason="stock reservation timed out"),
            [INVENTORY_RESERVED],
        ),
        (
            saga_state("COMPENSATING", [INVENTORY_RESERVED, PAYMENT_PROCESSED, "ORDER_CONFIRMED"]),
            [PAYMENT_PROCESSED, INVENTORY_RESERVED],
        ),
    ],
)
def test_resumed_saga_that_must_undo_releases_and_refunds(state, compensated):
    answers = {A.LOAD_SAGA: state, A.REFUND_PAYMENT: REFUNDED, **STEPS}
    result = run_saga(answers, resume=True)
    assert result.activities == [
        A.LOAD_SAGA,
        A.RECORD_PROGRESS,
        A.RELEASE_STOCK,
        A.REFUND_PAYMENT,
        A.FINISH_CANCELLED,
    ]
    assert ending(result)["compensated"] == compensated
    assert ending(result)["reason"] == (state["failureReason"] or CANCELLED_BY_REQUEST)


def test_resumed_confirmed_saga_announces_the_confirmation_it_may_have_missed():
    answers = {A.LOAD_SAGA: saga_state("COMPLETED", [INVENTORY_RESERVED, PAYMENT_PROCESSED])}
    result = run_saga({**answers, A.CONFIRM_ORDER: True}, resume=True)
    assert result.activities == [A.LOAD_SAGA, A.CONFIRM_ORDER]


@pytest.mark.parametrize(
    "state",
    [
        saga_state("COMPLETED", [INVENTORY_RESERVED, PAYMENT_PROCESSED, NOTIFICATION_SENT]),
        saga_state("COMPENSATED", [INVENTORY_RESERVED]),
        saga_state("FAILED", []),
    ],
)
def test_resumed_saga_that_has_ended_does_nothing(state):
    assert run_saga({A.LOAD_SAGA: state}, resume=True).activities == [A.LOAD_SAGA]
