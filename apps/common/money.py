"""Money is Decimal at the edges and integer cents in the databases (exact in SQLite too)."""

from __future__ import annotations

from decimal import Decimal

CENT = Decimal("0.01")


def to_cents(amount: Decimal) -> int:
    """Exact or an error: a fraction of a cent is never rounded away silently."""
    cents = amount.scaleb(2)
    if not cents.is_finite() or cents != cents.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of cents")
    return int(cents)


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) * CENT).quantize(CENT)


def format_amount(amount: Decimal) -> str:
    return str(amount.quantize(CENT))
