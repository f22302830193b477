"""How each saga path is provoked on the running stack, through the public API and the stack's
own processes (a participant paused with SIGSTOP, a workflow terminated through Dapr's workflow
API), reusing the integration tests' helpers. Each scenario answers the order id whose saga
went that path; what its history must show (tests/replay/shapes.py: activities in that order,
among others, and how it ended) keeps a scenario that went another way from being recorded
under a wrong name."""

from __future__ import annotations

import httpx

from tests.integration.helpers import fund, paused, place, stock, wait_for
from tests.integration.test_reconciler import terminate
from tests.replay.corpus import activities_of
from tests.replay.shapes import Scenario, history_shows, results_of, until
from workflows.steps import Activity as A


def _order(
    api: httpx.Client, unique: str, quantity: int = 1, price: str = "4.00", funds: str = "100.00"
) -> str:
    _prepare(api, unique, funds)
    return _place(api, unique, quantity, price)


def _prepare(api: httpx.Client, unique: str, funds: str = "100.00") -> None:
    """Stock and money: before any participant is paused."""
    stock(api, f"p-{unique}", 5)
    fund(api, f"c-{unique}", funds)


def _place(api: httpx.Client, unique: str, quantity: int = 1, price: str = "4.00") -> str:
    resp = place(api, f"c-{unique}", [(f"p-{unique}", quantity, price)])
    assert resp.status_code == 202, resp.text
    return resp.json()["orderId"]


def confirmed(api: httpx.Client, unique: str, _profile: str) -> str:
    order_id = _order(api, unique)
    wait_for(api, order_id, {"CONFIRMED"}, last_step="NOTIFICATION_SENT")
    return order_id


def no_stock(api: httpx.Client, unique: str, _profile: str) -> str:
    order_id = _order(api, unique, quantity=9)
    wait_for(api, order_id, {"CANCELLED"})
    return order_id


def declined(api: httpx.Client, unique: str, _profile: str) -> str:
    order_id = _order(api, unique, price="6.00", funds="1.00")
    wait_for(api, order_id, {"CANCELLED"})
    return order_id


def over_limit(api: httpx.Client, unique: str, _profile: str) -> str:
    """Above the recorder's daily limit (record.py DAILY_LIMIT)."""
    order_id = _order(api, unique, quantity=3, price="500.00", funds="5000.00")
    wait_for(api, order_id, {"CANCELLED"})
    return order_id


def payment_outage(api: httpx.Client, unique: str, profile: str) -> str:
    """Past the payment deadline: compensates, and refunds until payment-service is back."""
    _prepare(api, unique)
    with paused("payment-service"):
        order_id = _place(api, unique)
        refund_failed = history_shows(
            order_id,
            profile,
            lambda ev: any("UNAVAILABLE" in r for r in results_of(ev, A.REFUND_PAYMENT)),
        )
        until(refund_failed, "a refund answered UNAVAILABLE", timeout=120)
    wait_for(api, order_id, {"CANCELLED"}, timeout=120)
    return order_id


def payment_outage_recovered(api: httpx.Client, unique: str, profile: str) -> str:
    _prepare(api, unique)
    with paused("payment-service"):
        order_id = _place(api, unique)
        unavailable = history_shows(
            order_id,
            profile,
            lambda ev: any("UNAVAILABLE" in r for r in results_of(ev, A.TAKE_PAYMENT)),
        )
        until(unavailable, "a charge answered UNAVAILABLE")
    wait_for(api, order_id, {"CONFIRMED"}, last_step="NOTIFICATION_SENT", timeout=120)
    return order_id


def stock_timeout(api: httpx.Client, unique: str, _profile: str) -> str:
    _prepare(api, unique)
    with paused("inventory-service"):
        order_id = _place(api, unique)
        wait_for(api, order_id, {"CANCELLED"}, timeout=120)
    return order_id


def stock_resent(api: httpx.Client, unique: str, profile: str) -> str:
    """No reply to the command sent at placing before STOCK_RESEND_SECONDS: the saga sends it
    again, and the reply comes before the stock timeout."""
    _prepare(api, unique)
    with paused("inventory-service"):
        order_id = _place(api, unique)
        resent = history_shows(order_id, profile, lambda ev: A.RESERVE_STOCK in activities_of(ev))
        until(resent, "the reservation sent again")
    wait_for(api, order_id, {"CONFIRMED"}, last_step="NOTIFICATION_SENT", timeout=120)
    return order_id


def cancelled_waiting_for_stock(api: httpx.Client, unique: str, profile: str) -> str:
    _prepare(api, unique)
    with paused("inventory-service"):
        order_id = _place(api, unique)
        until(history_shows(order_id, profile, bool), "the saga started")
        assert api.post(f"/orders/{order_id}/cancel").status_code == 202
        wait_for(api, order_id, {"CANCELLED"}, timeout=120)
    return order_id


def cancelled_during_payment_outage(api: httpx.Client, unique: str, _profile: str) -> str:
    _prepare(api, unique)
    with paused("payment-service"):
        order_id = _place(api, unique)
        wait_for(api, order_id, {"PAYMENT_PENDING"})
        assert api.post(f"/orders/{order_id}/cancel").status_code == 202
        wait_for(
            api, order_id, {"PAYMENT_PENDING", "CANCELLED"}, saga={"COMPENSATING", "COMPENSATED"}
        )
    wait_for(api, order_id, {"CANCELLED"}, timeout=120)
    return order_id


def cancelled_while_charging(api: httpx.Client, unique: str, _profile: str) -> str:
    """The cancel lands while the charge is in flight (payment-service paused, resumed within
    the resiliency timeout): charged, then refunded."""
    _prepare(api, unique)
    with paused("payment-service"):
        order_id = _place(api, unique)
        wait_for(api, order_id, {"PAYMENT_PENDING"})
        assert api.post(f"/orders/{order_id}/cancel").status_code == 202
    wait_for(api, order_id, {"CANCELLED"}, timeout=120)
    return order_id


def confirmed_then_cancelled(api: httpx.Client, unique: str, _profile: str) -> str:
    order_id = confirmed(api, unique, _profile)
    assert api.post(f"/orders/{order_id}/cancel").status_code == 202
    wait_for(api, order_id, {"CANCELLED"}, saga={"COMPENSATED"})
    return order_id


def resumed_by_reconciler(api: httpx.Client, unique: str, profile: str) -> str:
    """The workflow terminated while the saga waits for payment-service; the reconciler runs the
    saga again (payment-service stays paused until it has)."""
    _prepare(api, unique)
    with paused("payment-service"):
        order_id = _place(api, unique)
        wait_for(api, order_id, {"PAYMENT_PENDING"})
        terminate(order_id)
        rerun = history_shows(
            order_id,
            profile,
            lambda ev: len(ev) > 1 and '"resume": true' in ev[1].executionStarted.input.value,
        )
        until(rerun, "the reconciler to resume the saga")
    wait_for(api, order_id, {"CONFIRMED"}, last_step="NOTIFICATION_SENT", timeout=120)
    return order_id


PAY, FINISH, REFUND = A.TAKE_PAYMENT, A.FINISH_CANCELLED, A.REFUND_PAYMENT
UNDO = (A.RECORD_PROGRESS, A.RELEASE_STOCK)
CANCELLED = "cancelled by request"
SCENARIOS = [
    Scenario("confirmed", confirmed, (PAY,), "CONFIRMED"),
    Scenario("no-stock", no_stock, (FINISH,), "FAILED"),
    Scenario("declined", declined, (PAY, *UNDO, FINISH), "COMPENSATED"),
    Scenario(
        "over-limit", over_limit, (A.CHECK_LIMIT, *UNDO, FINISH), "COMPENSATED", since_version=2
    ),
    Scenario(
        "payment-outage",
        payment_outage,
        (PAY, PAY, *UNDO, REFUND, REFUND, FINISH),
        "COMPENSATED",
        reason="payment unavailable",
    ),
    Scenario("payment-outage-recovered", payment_outage_recovered, (PAY, PAY), "CONFIRMED"),
    Scenario(
        "stock-timeout",
        stock_timeout,
        (A.RESERVE_STOCK, *UNDO, FINISH),
        "COMPENSATED",
        reason="timed out",
    ),
    Scenario("stock-resent", stock_resent, (A.RESERVE_STOCK, PAY), "CONFIRMED"),
    Scenario(
        "cancelled-waiting-for-stock",
        cancelled_waiting_for_stock,
        (*UNDO, FINISH),
        "COMPENSATED",
        reason=CANCELLED,
    ),
    Scenario(
        "cancelled-during-payment-outage",
        cancelled_during_payment_outage,
        (PAY, PAY, *UNDO, REFUND, FINISH),
        "COMPENSATED",
        reason=CANCELLED,
    ),
    Scenario(
        "cancelled-while-charging",
        cancelled_while_charging,
        (PAY, *UNDO, REFUND, FINISH),
        "COMPENSATED",
        reason=CANCELLED,
        charged_then_cancelled=True,
    ),
    Scenario(
        "confirmed-then-cancelled",
        confirmed_then_cancelled,
        (A.LOAD_SAGA, *UNDO, REFUND, FINISH),
        "COMPENSATED",
        resumed=True,
    ),
    Scenario(
        "resumed-by-reconciler",
        resumed_by_reconciler,
        (A.LOAD_SAGA, A.RESERVE_STOCK, PAY),
        "CONFIRMED",
        resumed=True,
    ),
]
