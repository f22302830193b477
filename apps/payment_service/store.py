"""Payment persistence: customer balances and one payment record per order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


# Money columns are BIGINT: a 32-bit INTEGER (PostgreSQL) ends at 21,474,836.47.
class Account(SQLModel, table=True):
    customer_id: str = Field(primary_key=True, max_length=64)
    balance_cents: int = Field(default=0, sa_type=BigInteger)


class Payment(SQLModel, table=True):
    """One per order (unique order_id): the idempotency record for charge and refund."""

    payment_id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True)
    order_id: str = Field(unique=True, index=True, max_length=64)
    customer_id: str = Field(max_length=64)
    amount_cents: int = Field(sa_type=BigInteger)
    status: str  # CHARGED | DECLINED | REFUNDED
    reason: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
