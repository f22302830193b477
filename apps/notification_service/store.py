"""Notification persistence: at most one notification per order and kind."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


class Notification(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("order_id", "type"),)
    notification_id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True)
    order_id: str = Field(index=True, max_length=64)
    customer_id: str = Field(max_length=64)
    type: str  # ORDER_CONFIRMED | ORDER_CANCELLED
    sent_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class DeadLetter(SQLModel, table=True):
    """A message some consumer could not process, kept for an operator to inspect."""

    __tablename__ = "dead_letter"
    id: int | None = Field(default=None, primary_key=True)
    topic: str | None = None
    payload: str
    received_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
