from decimal import Decimal

import pytest

from apps.common.contracts import MAX_AMOUNT
from apps.common.money import format_amount, from_cents, to_cents


def test_cents_round_trip():
    for text in ("0.00", "0.01", "25.50", "999999999.99", "30000000.00", str(MAX_AMOUNT)):
        assert format_amount(from_cents(to_cents(Decimal(text)))) == text


def test_sum_of_tenths_is_exact():
    assert from_cents(sum(to_cents(Decimal("0.1")) for _ in range(3))) == Decimal("0.30")


@pytest.mark.parametrize("text,cents", [("12.5", 1250), ("12.50", 1250), ("1.100", 110)])
def test_one_amount_written_two_ways_is_the_same_cents(text, cents):
    assert to_cents(Decimal(text)) == cents


def test_the_largest_amount_needs_more_than_32_bits():
    assert to_cents(MAX_AMOUNT) > 2**31 - 1  # hence BIGINT money columns
    assert to_cents(MAX_AMOUNT) < 2**63 - 1


@pytest.mark.parametrize("text", ["0.001", "12.345", "NaN", "Infinity", "-Infinity"])
def test_a_fraction_of_a_cent_is_an_error_never_rounded(text):
    with pytest.raises(ValueError):
        to_cents(Decimal(text))
