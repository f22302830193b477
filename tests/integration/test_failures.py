"""Participants that never answer, outages and restarts: every order still ends right.

Processes of the running stack are paused (SIGSTOP) or killed; each test puts them back."""

from __future__ import annotations

from decimal import Decimal

from deploy.stack.control import start_one, stop_one
from tests.integration.helpers import (
    balance,
    fund,
    paused,
    payments,
    place,
    stock,
    wait_for,
    wait_stock,
)


def test_inventory_that_never_answers_times_out_and_holds_no_stock(api, unique):
    product, customer = f"p-{unique}", f"c-{unique}"
    stock(api, product, 5)
    fund(api, customer, "20.00")
    with paused("inventory-service"):
        order_id = place(api, customer, [(product, 2, "1.00")]).json()["orderId"]
        order = wait_for(api, order_id, {"CANCELLED"}, timeout=90)
    assert order["saga"]["failureReason"] == "stock reservation timed out"
    assert order["saga"]["status"] == "COMPENSATED"
    # The reservation command and its release are both delivered after the pause, in any
    # order: stock must end up not held.
    wait_stock(api, product, available=5, reserved=0)
    assert balance(api, customer) == Decimal("20.00")
    assert payments(api, order_id) == []


def test_payment_outage_past_the_deadline_compensates(api, unique):
    product, customer = f"p-{unique}", f"c-{unique}"
    stock(api, product, 5)
    fund(api, customer, "20.00")
    with paused("payment-service"):
        order_id = place(api, customer, [(product, 1, "4.00")]).json()["orderId"]
        order = wait_for(api, order_id, {"PAYMENT_PENDING"}, saga={"COMPENSATING"}, timeout=120)
        assert "payment unavailable" in order["saga"]["failureReason"]
    order = wait_for(api, order_id, {"CANCELLED"}, saga={"COMPENSATED"}, timeout=120)
    assert balance(api, customer) == Decimal("20.00")
    assert all(p["status"] in ("DECLINED", "REFUNDED") for p in payments(api, order_id))
    wait_stock(api, product, available=5, reserved=0)


def test_saga_survives_an_order_service_restart(api, unique):
    product, customer = f"p-{unique}", f"c-{unique}"
    stock(api, product, 5)
    fund(api, customer, "20.00")
    with paused("payment-service"):
        order_id = place(api, customer, [(product, 1, "4.00")]).json()["orderId"]
        wait_for(api, order_id, {"PAYMENT_PENDING"})  # the saga is inside the payment step
        stop_one("order-service")
        start_one("order-service")
    order = wait_for(api, order_id, {"CONFIRMED"}, saga={"COMPLETED"}, timeout=120)
    assert order["saga"]["completedSteps"][:2] == ["INVENTORY_RESERVED", "PAYMENT_PROCESSED"]
    assert balance(api, customer) == Decimal("16.00")
    assert [p["status"] for p in payments(api, order_id)] == ["CHARGED"]
    wait_stock(api, product, available=4, reserved=0)
