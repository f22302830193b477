from decimal import Decimal

from apps.common.money import format_amount, from_cents, to_cents


def test_cents_round_trip():
    for text in ("0.00", "0.01", "25.50", "999999999.99"):
        assert format_amount(from_cents(to_cents(Decimal(text)))) == text


def test_sum_of_tenths_is_exact():
    assert from_cents(sum(to_cents(Decimal("0.1")) for _ in range(3))) == Decimal("0.30")
