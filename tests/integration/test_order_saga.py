"""Every saga path on the real stack, through the public API."""

from __future__ import annotations

from decimal import Decimal

from tests.integration.helpers import (
    balance,
    fund,
    inventory,
    notifications,
    payments,
    place,
    stock,
    wait_for,
    wait_stock,
)

STEPS = ["INVENTORY_RESERVED", "PAYMENT_PROCESSED", "ORDER_CONFIRMED", "NOTIFICATION_SENT"]


def test_order_is_confirmed_stock_sold_money_taken_customer_told(api, unique):
    product, customer = f"p-{unique}", f"c-{unique}"
    stock(api, product, 10)
    fund(api, customer, "100.00")

    resp = place(api, customer, [(product, 3, "12.50")])
    assert resp.status_code == 202
    accepted = resp.json()
    assert accepted["status"] == "PENDING"
    assert resp.headers["location"] == f"/api/v1/orders/{accepted['orderId']}"
    assert accepted["totalAmount"] == "37.50"

    order = wait_for(
        api, accepted["orderId"], {"CONFIRMED"}, saga={"COMPLETED"}, last_step=STEPS[-1]
    )
    assert order["saga"]["completedSteps"] == STEPS
    assert order["saga"]["compensatedSteps"] == []
    assert order["items"] == [{"productId": product, "quantity": 3, "unitPrice": "12.50"}]
    assert balance(api, customer) == Decimal("62.50")
    assert [p["status"] for p in payments(api, order["orderId"])] == ["CHARGED"]
    sent = notifications(api, order["orderId"])
    assert [n["type"] for n in sent] == ["ORDER_CONFIRMED"]
    wait_stock(api, product, available=7, reserved=0)


def test_an_order_placed_with_a_wait_is_answered_once_it_has_settled(api, unique):
    product, customer = f"p-{unique}", f"c-{unique}"
    stock(api, product, 1)
    fund(api, customer, "100.00")
    resp = place(api, customer, [(product, 1, "4.00")], wait_seconds=10)
    assert resp.status_code == 202 and resp.json()["status"] == "CONFIRMED"
    # A settled end other than confirmation ends the wait as well: no stock left.
    resp = place(api, customer, [(product, 1, "4.00")], wait_seconds=10)
    assert resp.status_code == 202 and resp.json()["status"] == "CANCELLED"
    assert balance(api, customer) == Decimal("96.00")


def test_out_of_stock_cancels_without_charging(api, unique):
    product, customer = f"p-{unique}", f"c-{unique}"
    stock(api, product, 2)
    fund(api, customer, "100.00")
    order_id = place(api, customer, [(product, 3, "1.00")]).json()["orderId"]
    order = wait_for(api, order_id, {"CANCELLED"})
    assert order["saga"]["status"] == "FAILED"
    assert "insufficient stock" in order["saga"]["failureReason"]
    assert payments(api, order_id) == []
    assert balance(api, customer) == Decimal("100.00")
    assert inventory(api, product) == {"productId": product, "available": 2, "reserved": 0}
    assert [n["type"] for n in notifications(api, order_id)] == ["ORDER_CANCELLED"]


def test_unknown_product_cancels_and_moves_no_stock(api, unique):
    known, customer = f"p-{unique}", f"c-{unique}"
    stock(api, known, 5)
    fund(api, customer, "100.00")
    order_id = place(api, customer, [(known, 1, "1.00"), (f"ghost-{unique}", 1, "1.00")]).json()[
        "orderId"
    ]
    order = wait_for(api, order_id, {"CANCELLED"})
    assert order["saga"]["status"] == "FAILED"
    assert "unknown product" in order["saga"]["failureReason"]
    assert inventory(api, known) == {"productId": known, "available": 5, "reserved": 0}
    assert payments(api, order_id) == []


def test_declined_payment_releases_stock_and_compensates(api, unique):
    product, customer = f"p-{unique}", f"c-{unique}"
    stock(api, product, 4)
    fund(api, customer, "5.00")
    order_id = place(api, customer, [(product, 2, "3.00")]).json()["orderId"]
    order = wait_for(api, order_id, {"CANCELLED"}, saga={"COMPENSATED"})
    assert order["saga"]["compensatedSteps"] == ["INVENTORY_RESERVED"]
    assert "insufficient funds" in order["saga"]["failureReason"]
    assert [p["status"] for p in payments(api, order_id)] == ["DECLINED"]
    assert balance(api, customer) == Decimal("5.00")
    wait_stock(api, product, available=4, reserved=0)
    assert [n["type"] for n in notifications(api, order_id)] == ["ORDER_CANCELLED"]


def test_customer_without_account_is_declined(api, unique):
    product = f"p-{unique}"
    stock(api, product, 1)
    order_id = place(api, f"nobody-{unique}", [(product, 1, "0.50")]).json()["orderId"]
    order = wait_for(api, order_id, {"CANCELLED"}, saga={"COMPENSATED"})
    assert "no account" in order["saga"]["failureReason"]
    wait_stock(api, product, available=1, reserved=0)


def test_idempotency_key_replays_the_same_order_once(api, unique):
    product, customer = f"p-{unique}", f"c-{unique}"
    stock(api, product, 10)
    fund(api, customer, "100.00")
    items = [(product, 1, "10.00")]
    first = place(api, customer, items, key=f"k-{unique}")
    again = place(api, customer, items, key=f"k-{unique}")
    assert first.status_code == again.status_code == 202
    assert first.json()["orderId"] == again.json()["orderId"]
    wait_for(api, first.json()["orderId"], {"CONFIRMED"})
    other = place(api, customer, [(product, 2, "10.00")], key=f"k-{unique}")
    assert other.status_code == 409
    assert other.headers["content-type"].startswith("application/problem+json")
    assert balance(api, customer) == Decimal("90.00")
    orders = api.get("/orders", params={"customerId": customer}).json()["items"]
    assert len(orders) == 1


def test_cancel_confirmed_order_refunds_and_returns_stock_once(api, unique):
    product, customer = f"p-{unique}", f"c-{unique}"
    stock(api, product, 5)
    fund(api, customer, "50.00")
    order_id = place(api, customer, [(product, 2, "7.25")]).json()["orderId"]
    wait_for(api, order_id, {"CONFIRMED"}, saga={"COMPLETED"})
    assert api.post(f"/orders/{order_id}/cancel").status_code == 202
    order = wait_for(api, order_id, {"CANCELLED"}, saga={"COMPENSATED"})
    assert order["saga"]["compensatedSteps"] == ["PAYMENT_PROCESSED", "INVENTORY_RESERVED"]
    assert api.post(f"/orders/{order_id}/cancel").status_code == 202  # harmless
    assert [p["status"] for p in payments(api, order_id)] == ["REFUNDED"]
    assert balance(api, customer) == Decimal("50.00")
    wait_stock(api, product, available=5, reserved=0)
    kinds = sorted(n["type"] for n in notifications(api, order_id, wait_for_count=2))
    assert kinds == ["ORDER_CANCELLED", "ORDER_CONFIRMED"]


def test_cancel_before_confirmation_undoes_everything(api, unique):
    product, customer = f"p-{unique}", f"c-{unique}"
    stock(api, product, 5)
    fund(api, customer, "50.00")
    order_id = place(api, customer, [(product, 1, "4.00")]).json()["orderId"]
    assert api.post(f"/orders/{order_id}/cancel").status_code == 202
    order = wait_for(api, order_id, {"CANCELLED"}, saga={"COMPENSATED"})
    assert order["saga"]["failureReason"] == "cancelled by request"
    assert balance(api, customer) == Decimal("50.00")
    wait_stock(api, product, available=5, reserved=0)
    assert [n["type"] for n in notifications(api, order_id)] == ["ORDER_CANCELLED"]


def test_shipping_rules(api, unique):
    product, customer = f"p-{unique}", f"c-{unique}"
    stock(api, product, 5)
    fund(api, customer, "50.00")
    order_id = place(api, customer, [(product, 1, "1.00")]).json()["orderId"]
    assert api.post(f"/orders/{order_id}/deliver").status_code == 409
    wait_for(api, order_id, {"CONFIRMED"}, saga={"COMPLETED"})
    assert api.post(f"/orders/{order_id}/deliver").status_code == 409
    assert api.post(f"/orders/{order_id}/ship").json()["status"] == "SHIPPED"
    assert api.post(f"/orders/{order_id}/ship").status_code == 409
    assert api.post(f"/orders/{order_id}/cancel").status_code == 409
    assert api.post(f"/orders/{order_id}/deliver").json()["status"] == "DELIVERED"
    assert api.post(f"/orders/{order_id}/cancel").status_code == 409
    assert balance(api, customer) == Decimal("49.00")


def test_cancelled_order_cannot_ship(api, unique):
    product = f"p-{unique}"
    stock(api, product, 1)
    order_id = place(api, f"c-{unique}", [(product, 5, "1.00")]).json()["orderId"]
    wait_for(api, order_id, {"CANCELLED"})
    assert api.post(f"/orders/{order_id}/ship").status_code == 409


def test_unknown_things_are_404_problems(api, unique):
    for resp in (
        api.get(f"/orders/none-{unique}"),
        api.post(f"/orders/none-{unique}/cancel"),
        api.post(f"/orders/none-{unique}/ship"),
        api.get(f"/inventory/none-{unique}"),
        api.get(f"/accounts/none-{unique}"),
    ):
        assert resp.status_code == 404, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")


def test_listing_orders_pages_with_a_cursor(api, unique):
    product, customer = f"p-{unique}", f"c-{unique}"
    stock(api, product, 10)
    fund(api, customer, "10.00")
    ids = {place(api, customer, [(product, 1, "1.00")]).json()["orderId"] for _ in range(3)}
    first = api.get("/orders", params={"customerId": customer, "limit": 2}).json()
    assert len(first["items"]) == 2 and first["next"]
    second = api.get(
        "/orders", params={"customerId": customer, "limit": 2, "cursor": first["next"]}
    ).json()
    assert len(second["items"]) == 1 and second["next"] is None
    assert {o["orderId"] for o in first["items"] + second["items"]} == ids
