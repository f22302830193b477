"""Order persistence: the order, its lines, and the saga's progress (`order_saga`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import BigInteger, UniqueConstraint
from sqlmodel import Field, SQLModel

from apps.common.db import table_of


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso_utc(moment: datetime) -> str:
    """As the API shows a time. SQLite hands back naive datetimes; everything stored is UTC."""
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    # An Idempotency-Key is the customer's own: another customer's same key is another order.
    __table_args__ = (
        UniqueConstraint("customer_id", "idempotency_key", name="uq_orders_customer_key"),
    )
    order_id: str = Field(primary_key=True, max_length=64)
    customer_id: str = Field(index=True, max_length=64)
    status: str = "PENDING"
    total_cents: int = Field(sa_type=BigInteger)  # INTEGER would end at 21,474,836.47
    idempotency_key: str | None = Field(default=None, max_length=200)
    request_hash: str  # of the parsed request (request_hash in commands.py)
    trace_id: str | None = None
    traceparent: str | None = None
    workflow_started: bool = False  # False until the saga's workflow instance exists
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_line"
    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(index=True, foreign_key="orders.order_id", max_length=64)
    product_id: str = Field(max_length=64)
    quantity: int
    unit_price_cents: int = Field(sa_type=BigInteger)


class OrderSaga(SQLModel, table=True):
    __tablename__ = "order_saga"
    order_id: str = Field(primary_key=True, foreign_key="orders.order_id", max_length=64)
    status: str = Field(default="STARTED", index=True)  # counted by admission control
    completed_steps_json: str = "[]"
    compensated_steps_json: str = "[]"
    failure_reason: str | None = None
    cancel_requested: bool = False  # set by a cancel request while the saga is in flight
    started_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def completed_steps(self) -> list[str]:
        steps: list[str] = json.loads(self.completed_steps_json)
        return steps

    @property
    def compensated_steps(self) -> list[str]:
        steps: list[str] = json.loads(self.compensated_steps_json)
        return steps


class SagaEvent(SQLModel, table=True):
    """One entry of a saga's timeline, written with the change it records: a step done, a
    compensation done, or the saga's status changing (COMPENSATING, COMPENSATED, FAILED). A
    table of its own, not a column of `order_saga`: create_all adds it to an existing database."""

    __tablename__ = "order_saga_event"
    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(index=True, foreign_key="orders.order_id", max_length=64)
    kind: str = Field(max_length=16)  # step, compensation or saga
    name: str = Field(max_length=64)  # a step (workflows/steps.py) or a saga status
    detail: str | None = Field(default=None, max_length=500)
    at: datetime = Field(default_factory=utcnow)


# The saga's hot paths (placing, each step, the order as polled) use Core statements on these
# tables: the ORM's unit of work cost more CPU than the queries themselves.
ORDERS, LINES, SAGAS, EVENTS = (table_of(m) for m in (Order, OrderLine, OrderSaga, SagaEvent))
