"""Saga v2's daily limit (ORDER_DAILY_LIMIT, 50,000,000.00 on the test stack: conftest.py),
through the public API: within it an order is confirmed, past it declined before any money
moves."""

from __future__ import annotations

from decimal import Decimal

from tests.integration.helpers import balance, fund, payments, place, stock, wait_for, wait_stock


def test_an_order_past_the_customers_daily_limit_is_declined_before_payment(api, unique):
    product, customer = f"p-{unique}", f"c-{unique}"
    stock(api, product, 60)
    fund(api, customer, "70000000.00")
    first = place(api, customer, [(product, 30, "1000000.00")]).json()["orderId"]
    assert wait_for(api, first, {"CONFIRMED", "CANCELLED"})["status"] == "CONFIRMED"
    second = place(api, customer, [(product, 30, "1000000.00")]).json()["orderId"]
    order = wait_for(api, second, {"CONFIRMED", "CANCELLED"})
    assert order["status"] == "CANCELLED", order["saga"]
    assert order["saga"]["status"] == "COMPENSATED"
    assert order["saga"]["failureReason"] == (
        "over the daily limit: 30000000.00 spent in 24 h, 30000000.00 more would pass 50000000.00"
    )
    assert payments(api, second) == []
    assert balance(api, customer) == Decimal("40000000.00")
    wait_stock(api, product, available=30, reserved=0)
