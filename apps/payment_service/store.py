"""Payment persistence: customer balances and one payment record per order."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import BigInteger, Table
from sqlmodel import Field, SQLModel

from apps.common.db import table_of


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


ACCOUNT: Table = table_of(Account)
PAYMENT: Table = table_of(Payment)


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    """A payment as the API shows it (the columns RECORD_COLUMNS selects, in that order)."""

    payment_id: str
    order_id: str
    customer_id: str
    amount_cents: int
    status: str
    reason: str | None = None

    def row(self, now: datetime) -> dict[str, object]:
        """The values of a new payment row."""
        return {
            "payment_id": self.payment_id,
            "order_id": self.order_id,
            "customer_id": self.customer_id,
            "amount_cents": self.amount_cents,
            "status": self.status,
            "reason": self.reason,
            "created_at": now,
            "updated_at": now,
        }


RECORD_COLUMNS = [
    PAYMENT.c.payment_id,
    PAYMENT.c.order_id,
    PAYMENT.c.customer_id,
    PAYMENT.c.amount_cents,
    PAYMENT.c.status,
    PAYMENT.c.reason,
]


def new_payment_id() -> str:
    return str(uuid.uuid4())
