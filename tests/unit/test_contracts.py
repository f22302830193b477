from decimal import Decimal

import pytest
from pydantic import ValidationError

from apps.common.contracts import (
    MAX_AMOUNT,
    ChargePayment,
    OrderCancelled,
    OrderConfirmed,
    PlaceOrder,
    RefundPayment,
    ReleaseStock,
    ReserveStock,
    SetFunds,
    StockReply,
)


def order(**line: object) -> dict:
    return {
        "customerId": "c1",
        "items": [{"productId": "p1", "quantity": 1, "unitPrice": "1.00", **line}],
    }


@pytest.mark.parametrize("price,expected", [(0.1, "0.1"), ("25.50", "25.50"), (3, "3")])
def test_unit_price_is_an_exact_decimal(price, expected):
    assert PlaceOrder.model_validate(order(unitPrice=price)).items[0].unit_price == Decimal(
        expected
    )


def test_a_free_line_is_fine_in_an_order_that_costs_something():
    free = {"productId": "gift", "quantity": 1, "unitPrice": "0"}
    placed = PlaceOrder.model_validate({**order(), "items": [*order()["items"], free]})
    assert placed.total == Decimal("1.00")


@pytest.mark.parametrize(
    "price",
    [
        "-0.01",
        "1.001",
        "NaN",
        "inf",
        True,
        None,
        [],
        "abc",
        1e20,
        "1e3",
        " 1",
        "1_000",
        "1000000.01",
    ],
)
def test_bad_prices_are_rejected(price):
    with pytest.raises(ValidationError):
        PlaceOrder.model_validate(order(unitPrice=price))


@pytest.mark.parametrize("quantity", [0, -1, 1001, "1", 1.0, True])
def test_quantity_is_a_strict_integer_in_range(quantity):
    with pytest.raises(ValidationError):
        PlaceOrder.model_validate(order(quantity=quantity))


def test_an_order_that_costs_nothing_is_rejected():
    # The saga would have to charge 0, which payment-service refuses.
    with pytest.raises(ValidationError, match="order total"):
        PlaceOrder.model_validate(order(unitPrice="0.00"))


def test_the_largest_order_total_is_the_largest_charge():
    line = {"productId": "p1", "quantity": 1000, "unitPrice": "1000000.00"}
    biggest = PlaceOrder.model_validate({"customerId": "c1", "items": [line] * 100})
    assert biggest.total == MAX_AMOUNT
    ChargePayment(order_id="o1", customer_id="c1", amount=biggest.total)


def test_wire_form_is_camel_case():
    wire = PlaceOrder.model_validate(order()).wire()
    assert wire == {
        "customerId": "c1",
        "items": [{"productId": "p1", "quantity": 1, "unitPrice": "1.00"}],
    }


@pytest.mark.parametrize(
    "value", ["a", "A9", "9", "3f2a8c1e-0b7d-4c55-9e1a-2d4b6f8a0c3e", "x.y_z:w@v-u", "a" * 64]
)
def test_identifiers_in_the_safe_set_are_accepted(value):
    assert ReleaseStock(order_id=value).order_id == value


@pytest.mark.parametrize(
    "value",
    ["", "a" * 65, "\x03", "a\n", "a b", "a/b", "a?b", "a#b", "a%2F", "-a", ".a", "_a", "é", 7],
)
def test_identifiers_outside_the_safe_set_are_rejected(value):
    with pytest.raises(ValidationError):
        ReleaseStock.model_validate({"orderId": value})


def charge(amount: object) -> dict:
    return {"orderId": "o1", "customerId": "c1", "amount": amount}


@pytest.mark.parametrize("amount,expected", [("12.50", "12.50"), (12.5, "12.5"), ("0.01", "0.01")])
def test_charge_amount_is_an_exact_positive_decimal(amount, expected):
    assert ChargePayment.model_validate(charge(amount)).amount == Decimal(expected)


@pytest.mark.parametrize(
    "amount",
    ["-1000.00", "-0.01", "0", "0.00", 0, "0.001", "NaN", "Infinity", None, True, "1e3",
     str(MAX_AMOUNT + Decimal("0.01")), "99999999999999999999999"],
)  # fmt: skip
def test_negative_zero_or_absurd_charges_are_rejected(amount):
    with pytest.raises(ValidationError):
        ChargePayment.model_validate(charge(amount))


def test_charge_and_refund_ids_are_identifiers():
    with pytest.raises(ValidationError):
        ChargePayment.model_validate({**charge("1.00"), "customerId": "a b"})
    with pytest.raises(ValidationError):
        RefundPayment.model_validate({"orderId": "o1", "customerId": ""})
    with pytest.raises(ValidationError):
        RefundPayment.model_validate({"orderId": "o1", "customerId": "c1", "amount": "5"})
    assert RefundPayment.model_validate({"orderId": "o1", "customerId": "c1"}).order_id == "o1"


def reserve(*items: dict, order_id: object = "o1") -> dict:
    return {"orderId": order_id, "items": list(items)}


def test_a_well_formed_reservation_is_accepted():
    cmd = ReserveStock.model_validate(reserve({"productId": "p1", "quantity": 1000}))
    assert cmd.items[0].quantity == 1000


@pytest.mark.parametrize(
    "message",
    [
        reserve({"productId": "p1", "quantity": -2}),
        reserve({"productId": "p1", "quantity": 0}),
        reserve({"productId": "p1", "quantity": 1001}),
        reserve({"productId": "p1", "quantity": "2"}),
        reserve({"productId": "p1", "quantity": 2.0}),
        reserve({"productId": "", "quantity": 1}),
        reserve({"productId": "p 1", "quantity": 1}),
        reserve(),
        reserve(*[{"productId": "p1", "quantity": 1}] * 101),
        reserve({"productId": "p1", "quantity": 1}, order_id=12345),
        reserve({"productId": "p1", "quantity": 1}, order_id="../x"),
    ],
)
def test_forged_or_garbled_reservations_are_rejected(message):
    with pytest.raises(ValidationError):
        ReserveStock.model_validate(message)


@pytest.mark.parametrize("total", ["0", "6.00", 6])
def test_order_confirmed_total_may_be_zero_or_more(total):
    event = OrderConfirmed.model_validate(
        {"orderId": "o1", "customerId": "c1", "totalAmount": total}
    )
    assert event.total_amount == Decimal(str(total))


@pytest.mark.parametrize("total", ["-1.00", "1.001", "NaN", str(MAX_AMOUNT + 1)])
def test_order_confirmed_total_is_bounded(total):
    with pytest.raises(ValidationError):
        OrderConfirmed.model_validate({"orderId": "o1", "customerId": "c1", "totalAmount": total})


def test_events_carry_identifiers_and_bounded_reasons():
    with pytest.raises(ValidationError):
        OrderCancelled.model_validate({"orderId": "o1", "customerId": "c\x00"})
    with pytest.raises(ValidationError):
        StockReply.model_validate({"orderId": "o1", "reserved": False, "reason": "x" * 501})


@pytest.mark.parametrize("balance", ["-0.01", "1.001", "1e2", "1000000000000.00"])
def test_bad_balances_are_rejected(balance):
    with pytest.raises(ValidationError):
        SetFunds.model_validate({"balance": balance})
