"""What a customer's orders add up to over a window: the daily limit's input
(workflows/limits.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import col, select

from apps.common.db import Database
from apps.common.money import from_cents
from apps.order_service.store import Order


def spent_since(db: Database, customer_id: str, since: datetime, excluding: str) -> Decimal:
    """The customer's orders placed since `since` that are not cancelled (in flight included:
    two orders placed together both count), but `excluding`."""
    query = (
        select(func.coalesce(func.sum(Order.total_cents), 0))
        .where(col(Order.customer_id) == customer_id)
        .where(col(Order.created_at) >= since)
        .where(col(Order.status) != "CANCELLED")
        .where(col(Order.order_id) != excluding)
    )
    with db.session() as s:
        return from_cents(int(s.exec(query).one()))
