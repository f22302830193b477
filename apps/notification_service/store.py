"""Notification persistence: at most one notification per order and kind, and dead letters."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import Connection, Table, UniqueConstraint, inspect, text
from sqlmodel import Field, SQLModel

from apps.common.db import Database, table_of


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_notification_id() -> str:
    return str(uuid.uuid4())


def iso_utc(moment: datetime) -> str:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


class Notification(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("order_id", "type"),)
    notification_id: str = Field(default_factory=new_notification_id, primary_key=True)
    order_id: str = Field(index=True, max_length=64)
    customer_id: str = Field(max_length=64)
    type: str  # ORDER_CONFIRMED | ORDER_CANCELLED
    sent_at: datetime = Field(default_factory=utcnow)


class DeadLetter(SQLModel, table=True):
    """A message some consumer could not process, kept for an operator to inspect and redrive."""

    __tablename__ = "dead_letter"
    id: int | None = Field(default=None, primary_key=True)
    topic: str | None = None  # the topic it was meant for
    reason: str | None = None
    source_app: str | None = None  # the consumer that gave up, when it said so
    payload: str  # the message's data as JSON text, whatever its JSON type
    # The id of the CloudEvent received on dead-letters: a redelivery of it is kept once.
    event_id: str | None = Field(default=None, unique=True, index=True)
    received_at: datetime = Field(default_factory=utcnow)
    redriven_at: datetime | None = None


NOTIFICATION: Table = table_of(Notification)


def create_tables(db: Database) -> None:
    """Creates the tables, and adds the columns (and indexes) a dead_letter table made by an
    earlier version lacks: the databases outlive upgrades. One transaction, under the schema
    lock (Database.schema_transaction)."""
    db.create_tables(then=_upgrade_dead_letters)


def _upgrade_dead_letters(conn: Connection) -> None:
    table = table_of(DeadLetter)
    present = {c["name"] for c in inspect(conn).get_columns(table.name)}
    for column in table.columns:
        if column.name not in present:
            kind = column.type.compile(conn.dialect)
            conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"))
    for index in table.indexes:
        index.create(conn, checkfirst=True)
