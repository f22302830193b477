from decimal import Decimal

import pytest
from pydantic import ValidationError

from apps.common.contracts import PlaceOrder


def order(**line: object) -> dict:
    return {
        "customerId": "c1",
        "items": [{"productId": "p1", "quantity": 1, "unitPrice": "1.00", **line}],
    }


@pytest.mark.parametrize("price,expected", [(0.1, "0.1"), ("25.50", "25.50"), (3, "3"), ("0", "0")])
def test_unit_price_is_an_exact_decimal(price, expected):
    assert PlaceOrder.model_validate(order(unitPrice=price)).items[0].unit_price == Decimal(
        expected
    )


@pytest.mark.parametrize("price", ["-0.01", "1.001", "NaN", "inf", True, None, [], "abc", 1e20])
def test_bad_prices_are_rejected(price):
    with pytest.raises(ValidationError):
        PlaceOrder.model_validate(order(unitPrice=price))


@pytest.mark.parametrize("quantity", [0, 1001, "1", 1.0, True])
def test_quantity_is_a_strict_integer_in_range(quantity):
    with pytest.raises(ValidationError):
        PlaceOrder.model_validate(order(quantity=quantity))


def test_wire_form_is_camel_case():
    wire = PlaceOrder.model_validate(order()).wire()
    assert wire == {
        "customerId": "c1",
        "items": [{"productId": "p1", "quantity": 1, "unitPrice": "1.00"}],
    }
