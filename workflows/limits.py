"""The customer's daily limit (saga v2): an order is declined before any
money moves if it would take what the customer's orders of the last 24 hours add up to (those
not cancelled, in flight included) past the limit. Pure: the saga's `check_limit` activity
gives it the sum; `ORDER_DAILY_LIMIT` sets the limit (unset: no check, no activity)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from apps.common.money import format_amount, to_cents

LIMIT_WINDOW = timedelta(hours=24)
LIMIT_ENV = "ORDER_DAILY_LIMIT"


def daily_limit(env: Mapping[str, str]) -> Decimal | None:
    """The limit ORDER_DAILY_LIMIT sets (a positive amount in whole cents), None if unset."""
    raw = env.get(LIMIT_ENV, "").strip()
    if not raw:
        return None
    try:
        limit = Decimal(raw)
        to_cents(limit)
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"{LIMIT_ENV}={raw!r} is not an amount in whole cents") from exc
    if limit <= 0:
        raise ValueError(f"{LIMIT_ENV}={raw!r} must be above zero (unset it for no limit)")
    return limit


def limit_verdict(spent: Decimal, amount: Decimal, limit: Decimal) -> dict[str, Any]:
    """The activity's answer (plain JSON): allowed, or not with the reason the order records."""
    allowed = spent + amount <= limit
    reason = None
    if not allowed:
        reason = (
            f"over the daily limit: {format_amount(spent)} spent in 24 h, "
            f"{format_amount(amount)} more would pass {format_amount(limit)}"
        )
    return {"allowed": allowed, "reason": reason}
