"""Many orders at once: stock is never oversold, a balance never overdrawn, and every terminal
order gets exactly one notification of its kind."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from tests.integration.helpers import (
    balance,
    fund,
    notifications,
    payments,
    place,
    stock,
    wait_for,
    wait_stock,
)


def _place_all(api, orders: list[tuple[str, list]]) -> list[str]:
    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda o: place(api, *o), orders))
    assert all(r.status_code == 202 for r in responses), [r.text for r in responses]
    return [r.json()["orderId"] for r in responses]


def test_parallel_orders_against_little_stock(api, unique):
    product, stocked = f"p-{unique}", 5
    stock(api, product, stocked)
    customers = [f"c-{unique}-{i}" for i in range(20)]
    for c in customers:
        fund(api, c, "10.00")
    ids = _place_all(api, [(c, [(product, 1, "2.00")]) for c in customers])
    final = [wait_for(api, i, timeout=120) for i in ids]
    confirmed = [o for o in final if o["status"] == "CONFIRMED"]
    assert len(confirmed) == stocked
    wait_stock(api, product, available=0, reserved=0)  # available + sold == stocked
    for order in final:
        kind = "ORDER_CONFIRMED" if order["status"] == "CONFIRMED" else "ORDER_CANCELLED"
        assert [n["type"] for n in notifications(api, order["orderId"])] == [kind]
    funded = Decimal("10.00") * len(customers)
    assert sum(balance(api, c) for c in customers) == funded - Decimal("2.00") * stocked


def test_parallel_orders_against_one_small_balance(api, unique):
    product, customer = f"p-{unique}", f"c-{unique}"
    stock(api, product, 100)
    fund(api, customer, "50.00")
    ids = _place_all(api, [(customer, [(product, 1, "10.00")]) for _ in range(12)])
    final = [
        wait_for(api, i, saga={"COMPLETED", "COMPENSATED", "FAILED"}, timeout=120) for i in ids
    ]
    confirmed = [o for o in final if o["status"] == "CONFIRMED"]
    assert len(confirmed) == 5
    charged = sum(
        Decimal(p["amount"]) for i in ids for p in payments(api, i) if p["status"] == "CHARGED"
    )
    assert balance(api, customer) + charged == Decimal("50.00")  # nothing refunded here
    assert balance(api, customer) == Decimal("0.00")
    wait_stock(api, product, available=95, reserved=0)
