"""Money is Decimal at the edges and integer cents in the databases (exact in SQLite too)."""

from __future__ import annotations

from decimal import Decimal

CENT = Decimal("0.01")


def to_cents(amount: Decimal) -> int:
    return int((amount / CENT).to_integral_exact())


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) * CENT).quantize(CENT)


def format_amount(amount: Decimal) -> str:
    return str(amount.quantize(CENT))
