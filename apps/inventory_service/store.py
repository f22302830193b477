"""Inventory persistence: sellable stock per product and one reservation record per order."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import Table
from sqlmodel import Field, SQLModel

from apps.common.db import table_of


def utcnow() -> datetime:
    return datetime.now(UTC)


class StockItem(SQLModel, table=True):
    __tablename__ = "stock_item"
    product_id: str = Field(primary_key=True, max_length=64)
    available: int = 0  # sellable now
    reserved: int = 0  # held by orders still in flight


class Reservation(SQLModel, table=True):
    """Also the idempotency record: one row per order, whatever arrives first or twice."""

    __tablename__ = "reservation"
    order_id: str = Field(primary_key=True, max_length=64)
    status: str  # HELD | SOLD | RELEASED | REJECTED
    items_json: str = "[]"  # [[product_id, quantity], ...]
    reason: str | None = None
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def lines(self) -> list[tuple[str, int]]:
        return parse_lines(self.items_json)


STOCK: Table = table_of(StockItem)
RESERVATION: Table = table_of(Reservation)


def parse_lines(items_json: str) -> list[tuple[str, int]]:
    return [(p, q) for p, q in json.loads(items_json)]
